/**
 * The crash check's write load: 32 clients' requests (test/crash-check/generators.ts), each answer
 * checked against the model as it comes, and the kill when the round's Nth write is answered.
 */
import http from 'node:http';
import { isDeepStrictEqual } from 'node:util';
import type { Payment } from '../e2e-helpers';
import { afterEvent, Body, differences, expectedCreated, Expected, isPayment, norm, ANY_TIME, show } from './expectations';
import { genCreate, genInvalidCreate, genPaymentId, genText, genTime, int, MAX_AMOUNT, ORGS, pick, RESERVED_IDS, Rng } from './generators';
import { call, Outcome } from './http-call';
import { eventKey, keyOf, nameOf, paymentPath, RoundStats, track, Tracked } from './model';

export class Load {
  /** By keyOf(organizationId, paymentId). */
  readonly payments = new Map<string, Tracked>();
  /** Keys of idle payments with a known state, free for the next request. */
  idle: string[] = [];
  /** Payments (by key) that must never be stored: events on unknown payments, unresolved creates found absent. */
  readonly mustBeAbsent = new Map<string, { org: string; id: string }>();
  /** paymentIds no organization may hold: refused creates (reserved ids too), events on ids no one has. */
  readonly absentIds = new Set<string>();
  /** (organizationId, paymentId, eventId) acknowledged as applied: must be in payment_events. */
  readonly appliedEvents = new Set<string>();
  /** (organizationId, paymentId, eventId) of requests acknowledged or in flight: payment_events may only hold these. */
  readonly possibleEvents = new Set<string>();
  readonly unexpected: string[] = [];
  stats!: RoundStats;
  stop = false;
  agent!: http.Agent;
  port = 0;
  round = 0;
  inFlightRequests = 0;
  /** The round's kill: run synchronously as the `writes`-th answer of the round is counted. */
  killAt: { writes: number; kill: () => void } | undefined;

  constructor(private readonly unsafe: boolean) {}

  pickIdle(rng: Rng): Tracked | undefined {
    if (this.idle.length === 0) return undefined;
    const i = Math.floor(rng() * this.idle.length);
    const key = this.idle[i];
    this.idle[i] = this.idle[this.idle.length - 1];
    this.idle.pop();
    const p = this.payments.get(key) as Tracked;
    p.busy = true;
    return p;
  }

  release(p: Tracked): void {
    p.busy = false;
    if (p.inFlight === undefined && p.known !== undefined) this.idle.push(p.key);
  }

  async send(method: string, path: string, body: unknown): Promise<Outcome> {
    this.inFlightRequests++;
    const outcome = await call(this.agent, this.port, method, path, body);
    this.inFlightRequests--;
    if (outcome.status >= 200 && outcome.status < 300) this.stats.acknowledged++;
    else if (outcome.status >= 400 && outcome.status < 500) {
      this.stats.refused++;
      this.stats.refusedByStatus[outcome.status] = (this.stats.refusedByStatus[outcome.status] ?? 0) + 1;
    } else {
      this.stats.unknown++;
      // no answer is what the kill does; a 5xx under this load is a fault of its own
      if (outcome.status >= 500) this.note(`${method} ${path}: ${outcome.status} ${show(outcome.body)}`);
      else if (!this.stop) this.note(`${method} ${path}: no answer before the kill (${outcome.error})`);
    }
    if (!this.stop && this.killAt !== undefined && this.stats.acknowledged + this.stats.refused >= this.killAt.writes) this.killAt.kill();
    return outcome;
  }

  note(message: string): void {
    if (this.unexpected.length < 200) this.unexpected.push(`round ${this.round}: ${message}`);
  }

  /** The answer had a status; was it the expected one? */
  expectStatus(outcome: Outcome, expected: number, what: string): boolean {
    if (outcome.status === 0 || outcome.status >= 500) return false;
    if (outcome.status !== expected) {
      this.note(`${what}: expected ${expected}, got ${outcome.status} ${show(outcome.body)}`);
      return false;
    }
    return true;
  }

  /** A 2xx answer: the payment as the service says it is now. */
  adopt(p: Tracked, outcome: Outcome, what: string): void {
    if (outcome.status < 200 || outcome.status >= 300) return;
    if (!isPayment(outcome.body)) {
      this.note(`${what}: a ${outcome.status} without a payment: ${show(outcome.body)}`);
      return;
    }
    if (outcome.body.paymentId !== p.id || outcome.body.organizationId !== p.org) {
      this.note(`${what}: answered for ${nameOf(outcome.body.organizationId, outcome.body.paymentId)}`);
    }
    if (p.known === undefined || outcome.body.version >= p.known.version) p.known = outcome.body;
  }

  checkBody(outcome: Outcome, expected: Expected, what: string): void {
    if (outcome.status < 200 || outcome.status >= 300) return;
    const diff = differences(outcome.body, expected);
    if (diff.length > 0) this.note(`${what}: wrong answer: ${diff.join('; ')}`);
  }

  // -- operations -------------------------------------------------------------------------

  async step(rng: Rng, tag: string): Promise<void> {
    const r = rng();
    if (r < 0.3 || this.idle.length === 0) return this.create(rng, tag);
    if (r < 0.33) return this.invalidCreate(rng, tag);
    if (r < 0.34) return this.ghostEvent(rng, tag);
    if (r < 0.35) return this.racingCreates(rng, tag);
    const p = this.pickIdle(rng) as Tracked;
    try {
      const k = p.known as Payment;
      const remaining = k.amount - k.refundedAmount;
      const refundable = k.status === 'completed' || k.status === 'refunded';
      if (r < 0.37 && refundable && remaining >= 4) return await this.racingRefunds(p, rng, tag);
      if (r < 0.4) return await this.replay(p);
      if (r < 0.43) return await this.conflict(p, rng);
      if (r < 0.46 && p.applied.length > 0) return await this.redeliver(p, rng);
      if (r < 0.49 && refundable && remaining + 1 <= MAX_AMOUNT) return await this.overRefund(p, rng, tag);
      if (r < 0.51) return await this.invalidTransition(p, rng, tag);
      if (r < 0.525) return await this.invalidEvent(p, rng);
      if (r < 0.55) return await this.otherOrganization(p, rng);
      if (k.status === 'pending' || (refundable && remaining > 0)) return await this.lifecycle(p, rng, tag);
      return await this.invalidTransition(p, rng, tag);
    } finally {
      this.release(p);
    }
  }

  /** Organizations where paymentId `id` is free: neither tracked nor bound to stay absent (never reused). */
  freeOrganizations(id: string, except?: string): string[] {
    return ORGS.filter((o) => o !== except && !this.payments.has(keyOf(o, id)) && !this.mustBeAbsent.has(keyOf(o, id)));
  }

  /** A new payment, tracked before it is sent (its key is taken: no other request reuses it). */
  newPayment(body: Body): Tracked {
    const p = track(body.organizationId as string, body.paymentId as string, body);
    this.payments.set(p.key, p);
    return p;
  }

  /** The create of a new payment: 201 with it, as sent. */
  async sendCreate(p: Tracked, what: string): Promise<void> {
    const outcome = await this.send('POST', '/payments', p.body);
    if (outcome.status === 0 || outcome.status >= 500) p.inFlight = { kind: 'create' };
    else if (this.expectStatus(outcome, 201, `${what} ${p.name}`)) {
      this.checkBody(outcome, expectedCreated(p.body), `${what} ${p.name}`);
      const answer = outcome.body as Payment;
      if (p.body.createdAt === undefined && answer.createdAt !== answer.updatedAt) this.note(`${what} ${p.name}: createdAt differs from updatedAt`);
      this.adopt(p, outcome, `${what} ${p.name}`);
    }
    this.release(p);
  }

  async create(rng: Rng, tag: string): Promise<void> {
    const id = genPaymentId(rng, tag);
    await this.sendCreate(this.newPayment(genCreate(rng, id, this.unsafe)), 'create');
  }

  /**
   * The paymentId of an existing payment, created in another organization (the same fields but
   * the organization, or others): a new payment, 201; the first one must not change (it is
   * held busy meanwhile, so any change to it shows).
   */
  async otherOrganization(p: Tracked, rng: Rng): Promise<void> {
    const free = this.freeOrganizations(p.id, p.org);
    if (free.length === 0) return this.replay(p);
    const org = pick(rng, free);
    const body = rng() < 0.5 ? { ...p.body, organizationId: org } : { ...genCreate(rng, p.id, this.unsafe), organizationId: org };
    await this.sendCreate(this.newPayment(body), `create (its paymentId held in ${p.org} too)`);
  }

  async racingCreates(rng: Rng, tag: string): Promise<void> {
    const id = `race-${tag}`;
    const body = genCreate(rng, id, this.unsafe);
    if (rng() < 0.5) {
      // one new paymentId in two organizations at once: two payments, two 201s
      const other = { ...(rng() < 0.5 ? body : genCreate(rng, id, this.unsafe)), organizationId: pick(rng, this.freeOrganizations(id, body.organizationId as string)) };
      await Promise.all([this.sendCreate(this.newPayment(body), 'racing create'), this.sendCreate(this.newPayment(other), 'racing create')]);
      return;
    }
    const p = this.newPayment(body);
    const outcomes = await Promise.all([this.send('POST', '/payments', body), this.send('POST', '/payments', body)]);
    const answered = outcomes.filter((o) => o.status >= 200 && o.status < 300);
    for (const o of outcomes) this.checkBody(o, expectedCreated(body), `racing create ${p.name}`);
    if (answered.length === 2) {
      const statuses = outcomes.map((o) => o.status).sort();
      if (statuses[0] !== 200 || statuses[1] !== 201) this.note(`racing creates ${p.name}: expected 200 and 201, got ${statuses.join(', ')}`);
      if (!isDeepStrictEqual(outcomes[0].body, outcomes[1].body)) this.note(`racing creates ${p.name}: the two answers differ`);
    }
    for (const o of outcomes) if (o.status >= 300 && o.status < 500) this.note(`racing create ${p.name}: ${o.status} ${show(o.body)}`);
    for (const o of answered) this.adopt(p, o, `racing create ${p.name}`);
    if (answered.length < 2 && outcomes.some((o) => o.status === 0 || o.status >= 500)) {
      p.inFlight = answered.length > 0 ? { kind: 'inert', what: 'replay of an acknowledged create' } : { kind: 'create' };
    }
    this.release(p);
  }

  /** A create with one defect, or a reserved paymentId: 400, stored in no organization. */
  async invalidCreate(rng: Rng, tag: string): Promise<void> {
    let body: Body;
    if (rng() < 0.15) body = { ...genCreate(rng, pick(rng, RESERVED_IDS), this.unsafe) };
    else body = genInvalidCreate(rng, `bad-${tag}`);
    this.absentIds.add(body.paymentId as string);
    const outcome = await this.send('POST', '/payments', body);
    this.expectStatus(outcome, 400, `invalid create ${show(body.paymentId)} (${show(body)})`);
  }

  /**
   * An event on a payment that does not exist: a paymentId no one has, or (half the time) one
   * that other organizations have, addressed to an organization that has not: 404, nothing
   * created, and the other organizations' payments unchanged.
   */
  async ghostEvent(rng: Rng, tag: string): Promise<void> {
    let org = pick(rng, ORGS);
    let id = `ghost-${tag}`;
    const held = this.idle.length > 0 && rng() < 0.5 ? this.payments.get(this.idle[Math.floor(rng() * this.idle.length)]) : undefined;
    const free = held ? this.freeOrganizations(held.id) : [];
    if (held !== undefined && free.length > 0) {
      id = held.id;
      org = pick(rng, free);
    } else this.absentIds.add(id);
    this.mustBeAbsent.set(keyOf(org, id), { org, id });
    const outcome = await this.send('POST', paymentPath(org, id, '/events'), { eventId: `ev-${tag}`, type: 'PaymentProcessed' });
    this.expectStatus(outcome, 404, `event on unknown ${nameOf(org, id)}`);
  }

  /** The same body again: 200 with the stored payment, unchanged. */
  async replay(p: Tracked): Promise<void> {
    const outcome = await this.send('POST', '/payments', p.body);
    if (outcome.status === 0 || outcome.status >= 500) p.inFlight = { kind: 'inert', what: 'replay' };
    else if (this.expectStatus(outcome, 200, `replay ${p.name}`)) this.checkBody(outcome, { ...(p.known as Payment) }, `replay ${p.name}`);
  }

  /** The same paymentId in the same organization with other fields: 409 PAYMENT_ID_CONFLICT, nothing changes. */
  async conflict(p: Tracked, rng: Rng): Promise<void> {
    const k = p.known as Payment;
    const changes: Body[] = [
      { amount: k.amount === MAX_AMOUNT ? 1 : k.amount + 1 },
      { currency: k.currency === 'EUR' ? 'USD' : 'EUR' },
      { userId: `${k.userId.slice(0, 50)}-other` },
      { description: k.description === 'Test payment' ? 'Other payment' : 'Test payment' },
      { metadata: Object.keys(k.metadata).length < 50 ? { ...k.metadata, extra: 'key' } : { ...k.metadata, k49: 'changed value' } },
      { createdAt: new Date(Date.parse(k.createdAt) + 1).toISOString() },
    ];
    const outcome = await this.send('POST', '/payments', { ...p.body, ...pick(rng, changes) });
    if (outcome.status === 0 || outcome.status >= 500) p.inFlight = { kind: 'inert', what: 'conflicting re-create' };
    else if (!this.expectStatus(outcome, 409, `conflicting re-create ${p.name}`)) this.adopt(p, outcome, `conflicting re-create ${p.name}`);
    else if ((outcome.body as { type?: unknown } | undefined)?.type !== '/problems/payment-id-conflict') this.note(`conflicting re-create ${p.name}: ${show(outcome.body)}`);
  }

  /** An event id already applied, delivered again: 200 with the payment as it is, no change. */
  async redeliver(p: Tracked, rng: Rng): Promise<void> {
    const { eventId, body } = pick(rng, p.applied);
    const outcome = await this.send('POST', paymentPath(p.org, p.id, '/events'), body);
    if (outcome.status === 0 || outcome.status >= 500) p.inFlight = { kind: 'inert', what: `redelivery of ${eventId}` };
    else if (this.expectStatus(outcome, 200, `redelivery of ${eventId} to ${p.name}`)) {
      this.checkBody(outcome, { ...(p.known as Payment) }, `redelivery of ${eventId} to ${p.name}`);
      this.adopt(p, outcome, `redelivery to ${p.name}`);
    }
  }

  newEventId(p: Tracked, rng: Rng, tag: string): string | undefined {
    const r = rng();
    if (r < 0.15) return undefined;
    let id = r < 0.25 ? `shared-${int(rng, 0, 15)}` : r < 0.3 ? `évènement-${tag}` : r < 0.33 ? `e-${tag}-`.padEnd(64, '0') : `ev-${tag}`;
    if (this.unsafe && rng() < 0.05) id = `lone-\ud800-${tag}`;
    // an event id the payment with this paymentId in another organization has applied: a new
    // event here (event ids are deduplicated per payment of an organization)
    if (rng() < 0.2) id = this.siblingEventId(p, rng) ?? id;
    if (p.sentEventIds.has(id)) id = `ev-${tag}-b`;
    p.sentEventIds.add(id);
    return id;
  }

  /** An event id applied to a payment with p's paymentId in another organization, never sent to p. */
  siblingEventId(p: Tracked, rng: Rng): string | undefined {
    const ids: string[] = [];
    for (const o of ORGS) {
      const sibling = o === p.org ? undefined : this.payments.get(keyOf(o, p.id));
      for (const a of sibling?.applied ?? []) if (!p.sentEventIds.has(a.eventId)) ids.push(a.eventId);
    }
    return ids.length > 0 ? pick(rng, ids) : undefined;
  }

  /** An event the state machine accepts: 200 with the payment after it. */
  async lifecycle(p: Tracked, rng: Rng, tag: string): Promise<void> {
    const k = p.known as Payment;
    const event: Body = {};
    const eventId = this.newEventId(p, rng, tag);
    if (eventId !== undefined) event.eventId = eventId;
    if (k.status === 'pending') {
      if (rng() < 0.7) event.type = 'PaymentProcessed';
      else {
        event.type = 'PaymentFailed';
        event.data = { error: rng() < 0.5 ? 'card_declined' : genText(rng, this.unsafe) || 'e' };
      }
    } else {
      const remaining = k.amount - k.refundedAmount;
      event.type = 'PaymentRefunded';
      const r = rng();
      if (r < 0.1) {
        // no amount: all that remains
      } else if (r < 0.2) event.data = { refundAmount: remaining };
      else if (r < 0.6) event.data = { refundAmount: int(rng, 1, Math.min(remaining, 1000)) };
      else event.data = { refundAmount: int(rng, 1, remaining) };
    }
    if (rng() < 0.8) event.occurredAt = genTime(rng);
    const expected = afterEvent(k, event);
    const what = `${event.type} ${eventId ?? '(no id)'} on ${p.name}`;
    const outcome = await this.send('POST', paymentPath(p.org, p.id, '/events'), event);
    if (outcome.status === 0 || outcome.status >= 500) {
      p.inFlight = { kind: 'event', eventId, body: event, expected };
      if (eventId !== undefined) this.possibleEvents.add(eventKey(p.org, p.id, eventId));
    } else if (this.expectStatus(outcome, 200, what)) {
      this.checkBody(outcome, expected, what);
      this.adopt(p, outcome, what);
      if (eventId !== undefined) {
        p.applied.push({ eventId, body: event });
        this.appliedEvents.add(eventKey(p.org, p.id, eventId));
        this.possibleEvents.add(eventKey(p.org, p.id, eventId));
      }
    }
  }

  /** A refund of one more than remains: 422, no money moves, the event id is not recorded. */
  async overRefund(p: Tracked, rng: Rng, tag: string): Promise<void> {
    const k = p.known as Payment;
    const remaining = k.amount - k.refundedAmount;
    const eventId = this.newEventId(p, rng, tag);
    const event: Body = { type: 'PaymentRefunded', ...(eventId ? { eventId } : {}) };
    // with nothing left, "all that remains" (no amount) is a refund of 0: refused as well
    if (remaining > 0 || rng() < 0.5) event.data = { refundAmount: remaining + 1 };
    const outcome = await this.send('POST', paymentPath(p.org, p.id, '/events'), event);
    if (outcome.status === 0 || outcome.status >= 500) p.inFlight = { kind: 'inert', what: `refund over the amount (${show(event)})` };
    else if (!this.expectStatus(outcome, 422, `refund over the amount on ${p.name} (${show(event)})`)) this.adopt(p, outcome, 'over-refund');
  }

  /** An event its status does not allow: 409, nothing changes. */
  async invalidTransition(p: Tracked, rng: Rng, tag: string): Promise<void> {
    const k = p.known as Payment;
    const eventId = this.newEventId(p, rng, tag);
    const options: Body[] =
      k.status === 'pending'
        ? [{ type: 'PaymentRefunded' }, { type: 'PaymentRefunded', data: { refundAmount: 1 } }]
        : k.status === 'failed'
          ? [{ type: 'PaymentProcessed' }, { type: 'PaymentFailed', data: { error: 'again' } }, { type: 'PaymentRefunded' }]
          : [{ type: 'PaymentProcessed' }, { type: 'PaymentFailed', data: { error: 'late' } }];
    const event = { ...pick(rng, options), ...(eventId ? { eventId } : {}) };
    const outcome = await this.send('POST', paymentPath(p.org, p.id, '/events'), event);
    if (outcome.status === 0 || outcome.status >= 500) p.inFlight = { kind: 'inert', what: `invalid transition ${show(event)}` };
    else if (!this.expectStatus(outcome, 409, `${show(event)} on ${k.status} ${p.name}`)) this.adopt(p, outcome, 'invalid transition');
  }

  /** A malformed event: 400, nothing changes. */
  async invalidEvent(p: Tracked, rng: Rng): Promise<void> {
    const bodies: Body[] = [
      { type: 'PaymentVoided' },
      { type: 'PaymentRefunded', data: { refundAmount: 0 } },
      { type: 'PaymentRefunded', data: { refundAmount: -1 } },
      { type: 'PaymentProcessed', data: { error: 'not allowed here' } },
      { type: 'PaymentFailed' },
      { type: 'PaymentProcessed', status: 'completed' },
      { type: 'PaymentProcessed', occurredAt: 'yesterday' },
      { type: 'PaymentProcessed', eventId: '' },
    ];
    const outcome = await this.send('POST', paymentPath(p.org, p.id, '/events'), pick(rng, bodies));
    if (outcome.status === 0 || outcome.status >= 500) p.inFlight = { kind: 'inert', what: 'malformed event' };
    else if (!this.expectStatus(outcome, 400, `malformed event on ${p.name}`)) this.adopt(p, outcome, 'malformed event');
  }

  /**
   * Three refunds at once on one payment, each of floor(remaining / 3) + 1: exactly two fit,
   * so two 200s (versions +1 and +2) and one 422, whatever the order the commits take.
   */
  async racingRefunds(p: Tracked, rng: Rng, tag: string): Promise<void> {
    const base = p.known as Payment;
    const x = Math.floor((base.amount - base.refundedAmount) / 3) + 1;
    const occurredAt = genTime(rng);
    const eventIds = [0, 1, 2].map((i) => `race-${tag}-${i}`);
    for (const id of eventIds) p.sentEventIds.add(id);
    const events = eventIds.map((eventId) => ({ eventId, type: 'PaymentRefunded', occurredAt, data: { refundAmount: x } }));
    const outcomes = await Promise.all(events.map((e) => this.send('POST', paymentPath(p.org, p.id, '/events'), e)));
    const what = `racing refunds of ${x} on ${p.name} (${base.refundedAmount} of ${base.amount} refunded)`;
    let applied = 0;
    let unknown = 0;
    outcomes.forEach((o, i) => {
      const key = eventKey(p.org, p.id, eventIds[i]);
      if (o.status === 0 || o.status >= 500) {
        unknown++;
        this.possibleEvents.add(key);
      } else if (o.status === 200 && isPayment(o.body)) {
        applied++;
        const n = o.body.version - base.version;
        this.checkBody(o, { ...base, status: 'refunded', refundedAmount: base.refundedAmount + n * x, refundedAt: norm(occurredAt), updatedAt: ANY_TIME, version: base.version + n }, what);
        this.adopt(p, o, what);
        p.applied.push({ eventId: eventIds[i], body: events[i] });
        this.appliedEvents.add(key);
        this.possibleEvents.add(key);
      } else if (o.status !== 422) this.note(`${what}: got ${o.status} ${show(o.body)}`);
    });
    if (unknown > 0) p.inFlight = { kind: 'race', base, x, eventIds, occurredAt: norm(occurredAt), applied, unknown };
    else if (applied !== 2) this.note(`${what}: ${applied} applied, expected exactly 2`);
  }
}
