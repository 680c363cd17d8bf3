import type { CloudEventInput, Received } from './broker-helpers';
import { mulberry32 } from './seeded-random';

/**
 * The fault tests' side of the messaging contract: a generator of inbound command sequences
 * (creates and lifecycle events for many payments, shuffled across payments, each payment's own
 * messages in order, with exact duplicates, redundant events under an explicit eventId, and
 * messages that must be refused), a model that applies a sequence with the service's rules,
 * and a check of the events exchange against the committed state.
 */

export interface InboundPlan {
  /** In publish order. */
  messages: CloudEventInput[];
  /** How many of them are a copy of an earlier one (same CloudEvent id and body). */
  duplicates: number;
  /** Events that repeat an earlier event's explicit data.eventId under a CloudEvent id of their own. */
  redundant: number;
  payments: number;
}

const ORGANIZATIONS = ['org-north', 'org-south', 'org-east', 'org-west'];
const CURRENCIES = ['EUR', 'USD', 'GBP'];

/**
 * Exactly `total` messages: payments `${ns}-<n>` are generated until there are enough (the last
 * one may be cut short: a prefix of a payment's messages is a valid sequence too), then merged
 * in a random interleaving that keeps every payment's own order.
 */
export function planInbound(ns: string, total: number, seed: number): InboundPlan {
  const random = mulberry32(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const perPayment: CloudEventInput[][] = [];
  let count = 0;
  let duplicates = 0;
  let redundant = 0;
  for (let n = 0; count < total; n++) {
    const paymentId = `${ns}-${n}`;
    const organizationid = pick(ORGANIZATIONS);
    const amount = int(100, 100_000);
    const own: CloudEventInput[] = [];
    const event = (type: string, suffix: string, data: Record<string, unknown> = {}): CloudEventInput => ({ type, subject: paymentId, organizationid, id: `${paymentId}/${suffix}`, data });
    if (random() < 0.01) {
      // an event for a payment nobody created: refused (PAYMENT_NOT_FOUND)
      own.push(event('PaymentProcessed', 'orphan'));
    } else {
      own.push(event('CreatePayment', 'create', { organizationId: organizationid, userId: `user-${int(1, 300)}`, amount, currency: pick(CURRENCIES), description: `inbound ${n}` }));
      const path = random();
      if (path < 0.1) {
        // stays pending
      } else if (path < 0.3) {
        own.push(event('PaymentFailed', 'failed', { data: { error: 'card declined' } }));
        // a processor that reports a failed payment as processed: refused (INVALID_TRANSITION)
        if (random() < 0.15) own.push(event('PaymentProcessed', 'late-processed'));
      } else {
        own.push(event('PaymentProcessed', 'processed'));
        const refunds = int(0, 3);
        for (let r = 0; r < refunds; r++) {
          // partial refunds; one may ask for more than remains (REFUND_EXCEEDS_AMOUNT), and
          // one without an amount refunds all that remains
          // data: the body of POST /payments/:id/events without its type (so the amount is data.data.refundAmount)
          const data: Record<string, unknown> = random() < 0.1 ? {} : { data: { refundAmount: int(1, Math.ceil(amount / 2.5)) } };
          if (random() < 0.4) data.eventId = `refund-${r}`;
          own.push(event('PaymentRefunded', `refund-${r}`, data));
          if (data.eventId !== undefined && random() < 0.35) {
            // the same refund reported again under its eventId (another amount, even): a no-op
            own.push(event('PaymentRefunded', `refund-${r}-again`, { eventId: data.eventId, data: { refundAmount: int(1, 50) } }));
            redundant++;
          }
        }
      }
    }
    // exact duplicates: the same message published again, later than the original
    for (const message of [...own]) {
      if (random() >= 0.12) continue;
      const from = own.indexOf(message) + 1;
      own.splice(int(from, own.length), 0, message);
      duplicates++;
    }
    perPayment.push(own);
    count += own.length;
  }
  // cut the last payment short to make the total exact (the counts stay true: recount)
  const last = perPayment[perPayment.length - 1];
  last.length -= count - total;
  // a random interleaving keeping each payment's order: shuffle the slots, not the messages
  const slots: number[] = [];
  perPayment.forEach((own, p) => own.forEach(() => slots.push(p)));
  for (let i = slots.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [slots[i], slots[j]] = [slots[j], slots[i]];
  }
  const next = perPayment.map(() => 0);
  const messages = slots.map((p) => perPayment[p][next[p]++]);
  const seen = new Set<string>();
  duplicates = 0;
  for (const m of messages) {
    if (seen.has(m.id!)) duplicates++;
    seen.add(m.id!);
  }
  redundant = messages.filter((m) => m.id!.endsWith('-again')).length;
  return { messages, duplicates, redundant, payments: perPayment.length };
}

export interface ModelPayment {
  organizationId: string;
  paymentId: string;
  amount: number;
  status: 'pending' | 'completed' | 'failed' | 'refunded';
  version: number;
  refundedAmount: number;
}

export interface InboundModel {
  /** By `${organizationId}/${paymentId}`. */
  payments: Map<string, ModelPayment>;
  /** Each refused publication: CloudEvent id and problem code (a duplicate of a refused message is refused again). */
  refused: { id: string; code: string }[];
  applied: number;
  /** Deliveries that change nothing: replayed creates, repeated event ids. */
  noops: number;
}

export const paymentKey = (organizationId: string, paymentId: string) => `${organizationId}/${paymentId}`;

/**
 * What the service must end with after consuming `messages` in this order, whatever it crashed
 * or redelivered on the way: a create is applied once (a replay with the same fields changes
 * nothing), an event id (data.eventId, else the CloudEvent id) is applied at most once per
 * payment, and a refused message (unknown payment, invalid transition, refund past what remains)
 * changes nothing and is dead-lettered.
 */
export function modelOf(messages: readonly CloudEventInput[]): InboundModel {
  const payments = new Map<string, ModelPayment>();
  const eventIds = new Map<string, Set<string>>();
  const refused: { id: string; code: string }[] = [];
  let applied = 0;
  let noops = 0;
  for (const m of messages) {
    const data = (m.data ?? {}) as Record<string, unknown>;
    const key = paymentKey(m.organizationid!, m.subject!);
    const current = payments.get(key);
    if (m.type === 'CreatePayment') {
      if (current === undefined) {
        payments.set(key, { organizationId: m.organizationid!, paymentId: m.subject!, amount: data.amount as number, status: 'pending', version: 1, refundedAmount: 0 });
        eventIds.set(key, new Set());
        applied++;
      } else {
        noops++; // the generator never sends a create with other fields (that would be a 409)
      }
      continue;
    }
    if (current === undefined) {
      refused.push({ id: m.id!, code: 'PAYMENT_NOT_FOUND' });
      continue;
    }
    const eventId = (data.eventId as string | undefined) ?? m.id!;
    const seen = eventIds.get(key)!;
    if (seen.has(eventId)) {
      noops++;
      continue;
    }
    const refundAmount = (data.data as { refundAmount?: number } | undefined)?.refundAmount;
    const code = refusal(current, m.type, refundAmount);
    if (code !== undefined) {
      refused.push({ id: m.id!, code });
      continue;
    }
    if (m.type === 'PaymentProcessed') current.status = 'completed';
    else if (m.type === 'PaymentFailed') current.status = 'failed';
    else {
      current.refundedAmount += refundAmount ?? current.amount - current.refundedAmount;
      current.status = 'refunded';
    }
    current.version++;
    seen.add(eventId);
    applied++;
  }
  return { payments, refused, applied, noops };
}

function refusal(p: ModelPayment, type: string, refundAmount: number | undefined): string | undefined {
  if (type === 'PaymentProcessed' || type === 'PaymentFailed') return p.status === 'pending' ? undefined : 'INVALID_TRANSITION';
  if (p.status !== 'completed' && p.status !== 'refunded') return 'INVALID_TRANSITION';
  const remaining = p.amount - p.refundedAmount;
  const refund = refundAmount ?? remaining;
  return refund > remaining || refund <= 0 ? 'REFUND_EXCEEDS_AMOUNT' : undefined;
}

export interface StoredPayment {
  organizationId: string;
  paymentId: string;
  status: string;
  version: number;
  refundedAmount: number;
}

export interface InboundComparison {
  /** Payments the model has and the database has not. */
  lost: string[];
  /** Payments whose version or refundedAmount passes the model's (an event applied twice). */
  appliedTwice: string[];
  /** Any other difference (an event missing, a wrong status, a payment nobody created). */
  different: string[];
}

/** The stored payments of the model's namespace against the model. */
export function compareWithModel(model: InboundModel, stored: readonly StoredPayment[]): InboundComparison {
  const byKey = new Map(stored.map((p) => [paymentKey(p.organizationId, p.paymentId), p]));
  const lost: string[] = [];
  const appliedTwice: string[] = [];
  const different: string[] = [];
  for (const [key, want] of model.payments) {
    const got = byKey.get(key);
    byKey.delete(key);
    if (got === undefined) {
      lost.push(key);
      continue;
    }
    const line = `${key}: version ${got.version} (model ${want.version}), refunded ${got.refundedAmount} (model ${want.refundedAmount}), ${got.status} (model ${want.status})`;
    if (got.version > want.version || got.refundedAmount > want.refundedAmount) appliedTwice.push(line);
    else if (got.version < want.version || got.refundedAmount !== want.refundedAmount) lost.push(line);
    else if (got.status !== want.status) different.push(line);
  }
  for (const key of byKey.keys()) different.push(`${key}: stored, but the model has no such payment`);
  return { lost, appliedTwice, different };
}

/** What a subscriber of the events exchange received, against the committed state. */
export interface OutboundCheck {
  /** Committed changes (a payment's versions 1..version). */
  expected: number;
  received: number;
  /** Deliveries of an event id already received. */
  duplicates: number;
  /** `<organizationId>/<paymentId>/<version>` committed and never received. */
  missing: string[];
  /** Payments whose versions first arrived out of order. */
  outOfOrder: string[];
  /** Events whose id and data disagree (another version, another payment). */
  malformed: string[];
}

/** The CloudEvent id the service gives the event of a payment's version (outboundEventId). */
export const outboundId = (organizationId: string, paymentId: string, version: number) =>
  `${encodeURIComponent(organizationId)}/${encodeURIComponent(paymentId)}/${version}`;

export function checkOutbound(received: readonly Received[], committed: readonly { organizationId: string; paymentId: string; version: number }[]): OutboundCheck {
  const firstSeen = new Map<string, number>();
  const malformed: string[] = [];
  received.forEach((r, index) => {
    const id = String(r.body.id);
    const data = r.body.data as { organizationId?: string; paymentId?: string; version?: number } | undefined;
    if (data === undefined || id !== outboundId(String(data.organizationId), String(data.paymentId), Number(data.version)) || r.routingKey !== r.body.type) {
      malformed.push(id);
    }
    if (!firstSeen.has(id)) firstSeen.set(id, index);
  });
  const missing: string[] = [];
  const outOfOrder: string[] = [];
  let expected = 0;
  for (const p of committed) {
    let previous = -1;
    let ordered = true;
    for (let v = 1; v <= p.version; v++) {
      expected++;
      const id = outboundId(p.organizationId, p.paymentId, v);
      const at = firstSeen.get(id);
      if (at === undefined) {
        missing.push(id);
        continue;
      }
      if (at < previous) ordered = false;
      previous = at;
    }
    if (!ordered) outOfOrder.push(paymentKey(p.organizationId, p.paymentId));
  }
  return { expected, received: received.length, duplicates: received.length - firstSeen.size, missing, outOfOrder, malformed };
}
