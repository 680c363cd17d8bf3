import { AppError, InvalidTransitionError, RefundExceedsAmountError } from '../errors';
import {
  createPayment,
  differingFields,
  NewPayment,
  Payment,
  PAYMENT_EVENT_TYPES,
  PAYMENT_STATUS_COUNT,
  PAYMENT_STATUSES,
  PaymentEvent,
  PaymentEventType,
  PaymentStatus,
  REFUNDED_STATUS_INDEX,
  sameMetadata,
  transition,
} from './payment';

const CREATED = '2026-03-01T12:00:00.000Z';
const T1 = '2026-03-01T12:05:00.000Z';
const T2 = '2026-03-01T12:10:00.000Z';
const T3 = '2026-03-01T12:15:00.000Z';
const OCCURRED = '2026-03-01T12:04:00.000Z';

const input: NewPayment = {
  organizationId: 'org-456',
  userId: 'user-789',
  amount: 10_000,
  currency: 'EUR',
  description: 'Test payment',
  metadata: { source: 'test', channel: 'web' },
};

function pending(amount = 10_000): Payment {
  return createPayment({ ...input, amount }, 'pay_0001', CREATED);
}

function inStatus(status: PaymentStatus, amount = 10_000): Payment {
  const p = pending(amount);
  switch (status) {
    case 'pending':
      return p;
    case 'completed':
      return transition(p, { type: 'PaymentProcessed', occurredAt: OCCURRED }, T1);
    case 'failed':
      return transition(p, { type: 'PaymentFailed', occurredAt: OCCURRED, error: 'card declined' }, T1);
    case 'refunded':
      return transition(inStatus('completed', amount), { type: 'PaymentRefunded', occurredAt: OCCURRED, refundAmount: 1 }, T2);
  }
}

function eventOf(type: PaymentEventType): PaymentEvent {
  switch (type) {
    case 'PaymentProcessed':
      return { type, occurredAt: OCCURRED };
    case 'PaymentFailed':
      return { type, occurredAt: OCCURRED, error: 'insufficient funds' };
    case 'PaymentRefunded':
      return { type, occurredAt: OCCURRED, refundAmount: 100 };
  }
}

/** The names of the fields whose values differ between two payments. */
function changedFields(before: Payment, after: Payment): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((k) => JSON.stringify(before[k as keyof Payment]) !== JSON.stringify(after[k as keyof Payment])).sort();
}

const ALLOWED: Record<PaymentEventType, readonly PaymentStatus[]> = {
  PaymentProcessed: ['pending'],
  PaymentFailed: ['pending'],
  PaymentRefunded: ['completed', 'refunded'],
};

describe('createPayment', () => {
  it('builds a pending payment at version 1 with nothing refunded, failed or completed', () => {
    expect(createPayment({ ...input, createdAt: CREATED }, 'pay_0001', T1)).toEqual({
      paymentId: 'pay_0001',
      organizationId: 'org-456',
      userId: 'user-789',
      amount: 10_000,
      currency: 'EUR',
      status: 'pending',
      description: 'Test payment',
      metadata: { source: 'test', channel: 'web' },
      refundedAmount: 0,
      error: null,
      createdAt: CREATED,
      updatedAt: T1,
      completedAt: null,
      failedAt: null,
      refundedAt: null,
      version: 1,
    });
  });

  it('defaults description to null, metadata to an empty object and createdAt to now', () => {
    const p = createPayment({ organizationId: 'o', userId: 'u', amount: 1, currency: 'USD' }, 'pay_x', T2);
    expect(p.description).toBeNull();
    expect(p.metadata).toEqual({});
    expect(p.createdAt).toBe(T2);
    expect(p.updatedAt).toBe(T2);
  });

  it('treats null description and metadata as absent', () => {
    const p = createPayment({ ...input, description: null, metadata: null }, 'pay_x', T2);
    expect(p.description).toBeNull();
    expect(p.metadata).toEqual({});
  });

  it('returns a frozen payment whose metadata is frozen too', () => {
    const p = pending();
    expect(Object.isFrozen(p)).toBe(true);
    expect(Object.isFrozen(p.metadata)).toBe(true);
    expect(() => {
      (p as { status: string }).status = 'completed';
    }).toThrow(TypeError);
    expect(() => {
      (p.metadata as Record<string, string>).source = 'changed';
    }).toThrow(TypeError);
  });

  it('copies metadata, so a later change to the input does not reach the payment', () => {
    const metadata = { source: 'test' };
    const p = createPayment({ ...input, metadata }, 'pay_x', T1);
    metadata.source = 'changed';
    expect(p.metadata).toEqual({ source: 'test' });
  });
});

describe('differingFields', () => {
  const stored = createPayment({ ...input, createdAt: CREATED }, 'pay_0001', T1);

  it('finds nothing when a retry repeats the same fields', () => {
    expect(differingFields(stored, { ...input, createdAt: CREATED })).toEqual([]);
  });

  it('ignores createdAt when the retry does not state it', () => {
    expect(differingFields(stored, { ...input })).toEqual([]);
  });

  it('ignores the order of metadata keys', () => {
    expect(differingFields(stored, { ...input, metadata: { channel: 'web', source: 'test' } })).toEqual([]);
  });

  it('treats an absent description and metadata like null and empty', () => {
    const bare = createPayment({ organizationId: 'o', userId: 'u', amount: 1, currency: 'USD' }, 'pay_b', T1);
    expect(differingFields(bare, { organizationId: 'o', userId: 'u', amount: 1, currency: 'USD' })).toEqual([]);
    expect(differingFields(bare, { organizationId: 'o', userId: 'u', amount: 1, currency: 'USD', description: null, metadata: {} })).toEqual(
      [],
    );
  });

  it.each<[string, Partial<NewPayment>]>([
    ['organizationId', { organizationId: 'org-other' }],
    ['userId', { userId: 'user-other' }],
    ['amount', { amount: 10_001 }],
    ['currency', { currency: 'USD' }],
    ['description', { description: 'Other' }],
    ['description', { description: undefined }],
    ['metadata', { metadata: { source: 'test' } }],
    ['metadata', { metadata: { source: 'test', channel: 'web', extra: 'x' } }],
    ['metadata', { metadata: { source: 'test', other: 'web' } }],
    ['metadata', { metadata: { source: 'test', channel: 'app' } }],
    ['metadata', { metadata: undefined }],
    ['createdAt', { createdAt: T3 }],
  ])('names %s when only it differs (%j)', (field, change) => {
    expect(differingFields(stored, { ...input, createdAt: CREATED, ...change })).toEqual([field]);
  });

  it('names every differing field at once', () => {
    expect(differingFields(stored, { ...input, amount: 1, currency: 'USD', userId: 'x' }).sort()).toEqual(['amount', 'currency', 'userId']);
  });
});

describe('sameMetadata', () => {
  it('holds for the same keys and values in any order', () => {
    expect(sameMetadata({ a: '1', b: '2' }, { b: '2', a: '1' })).toBe(true);
    expect(sameMetadata({}, {})).toBe(true);
  });

  it.each<[Record<string, string>, Record<string, string>]>([
    [{ a: '1' }, { a: '2' }],
    [{ a: '1' }, { b: '1' }],
    [{ a: '1' }, { a: '1', b: '2' }],
    [{}, { a: '' }],
    [{ toString: 'x' }, { other: 'x' }], // toString is on every object's prototype, not in the map
  ])('fails for %j against %j, either way round', (a, b) => {
    expect(sameMetadata(a, b)).toBe(false);
    expect(sameMetadata(b, a)).toBe(false);
  });
});

describe('status indexes', () => {
  it('count the statuses and place refunded where PAYMENT_STATUSES has it', () => {
    expect(PAYMENT_STATUS_COUNT).toBe(PAYMENT_STATUSES.length);
    expect(PAYMENT_STATUSES[REFUNDED_STATUS_INDEX]).toBe('refunded');
  });
});

describe('transition', () => {
  describe('the table of allowed transitions', () => {
    const cases = PAYMENT_EVENT_TYPES.flatMap((type) => PAYMENT_STATUSES.map((status) => [type, status] as const));

    it.each(cases.filter(([type, status]) => ALLOWED[type].includes(status)))('allows %s from %s', (type, status) => {
      const next = transition(inStatus(status), eventOf(type), T3);
      expect(next.status).toBe(type === 'PaymentProcessed' ? 'completed' : type === 'PaymentFailed' ? 'failed' : 'refunded');
    });

    it.each(cases.filter(([type, status]) => !ALLOWED[type].includes(status)))(
      'refuses %s from %s with an InvalidTransitionError naming the current status',
      (type, status) => {
        const current = inStatus(status);
        let thrown: unknown;
        try {
          transition(current, eventOf(type), T3);
        } catch (e) {
          thrown = e;
        }
        expect(thrown).toBeInstanceOf(InvalidTransitionError);
        const err = thrown as AppError;
        expect(err.code).toBe('INVALID_TRANSITION');
        expect(err.status).toBe(409);
        expect(err.detail).toMatch(new RegExp(`\\b${status}\\b`));
        expect(err.detail).toContain(type);
      },
    );
  });

  it('completes a pending payment at the time the event occurred', () => {
    const before = pending();
    const after = transition(before, { type: 'PaymentProcessed', occurredAt: OCCURRED }, T3);
    expect(after.status).toBe('completed');
    expect(after.completedAt).toBe(OCCURRED);
    expect(after.updatedAt).toBe(T3);
    expect(after.version).toBe(before.version + 1);
    expect(changedFields(before, after)).toEqual(['completedAt', 'status', 'updatedAt', 'version']);
  });

  it('fails a pending payment with the error the event carries', () => {
    const before = pending();
    const after = transition(before, { type: 'PaymentFailed', occurredAt: OCCURRED, error: 'card declined' }, T3);
    expect(after.status).toBe('failed');
    expect(after.error).toBe('card declined');
    expect(after.failedAt).toBe(OCCURRED);
    expect(after.updatedAt).toBe(T3);
    expect(after.version).toBe(2);
    expect(changedFields(before, after)).toEqual(['error', 'failedAt', 'status', 'updatedAt', 'version']);
  });

  it('refunds part of a completed payment and keeps every other field', () => {
    const before = inStatus('completed');
    const after = transition(before, { type: 'PaymentRefunded', occurredAt: OCCURRED, refundAmount: 2_500 }, T3);
    expect(after.status).toBe('refunded');
    expect(after.refundedAmount).toBe(2_500);
    expect(after.refundedAt).toBe(OCCURRED);
    expect(after.completedAt).toBe(before.completedAt);
    expect(after.version).toBe(before.version + 1);
    expect(changedFields(before, after)).toEqual(['refundedAmount', 'refundedAt', 'status', 'updatedAt', 'version']);
  });

  it('adds a further partial refund to what was already refunded', () => {
    const first = transition(inStatus('completed'), { type: 'PaymentRefunded', occurredAt: T1, refundAmount: 2_500 }, T1);
    const second = transition(first, { type: 'PaymentRefunded', occurredAt: T2, refundAmount: 7_000 }, T3);
    expect(second.refundedAmount).toBe(9_500);
    expect(second.refundedAt).toBe(T2);
    expect(second.version).toBe(first.version + 1);
    expect(changedFields(first, second)).toEqual(['refundedAmount', 'refundedAt', 'updatedAt', 'version']);
  });

  it('refunds all of a completed payment when the event names no amount', () => {
    const after = transition(inStatus('completed'), { type: 'PaymentRefunded', occurredAt: OCCURRED }, T3);
    expect(after.refundedAmount).toBe(10_000);
  });

  it('refunds all that remains of a partly refunded payment when the event names no amount', () => {
    const partly = transition(inStatus('completed'), { type: 'PaymentRefunded', occurredAt: T1, refundAmount: 3_000 }, T1);
    const after = transition(partly, { type: 'PaymentRefunded', occurredAt: T2 }, T3);
    expect(after.refundedAmount).toBe(10_000);
  });

  it('allows a refund of exactly what remains', () => {
    const partly = transition(inStatus('completed'), { type: 'PaymentRefunded', occurredAt: T1, refundAmount: 3_000 }, T1);
    expect(transition(partly, { type: 'PaymentRefunded', occurredAt: T2, refundAmount: 7_000 }, T3).refundedAmount).toBe(10_000);
  });

  it('refuses a refund past the amount with a RefundExceedsAmountError naming what remains', () => {
    const partly = transition(inStatus('completed'), { type: 'PaymentRefunded', occurredAt: T1, refundAmount: 3_000 }, T1);
    let thrown: unknown;
    try {
      transition(partly, { type: 'PaymentRefunded', occurredAt: T2, refundAmount: 7_001 }, T3);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(RefundExceedsAmountError);
    expect((thrown as AppError).code).toBe('REFUND_EXCEEDS_AMOUNT');
    expect((thrown as AppError).status).toBe(422);
    expect((thrown as AppError).detail).toContain('7000');
    expect(partly.refundedAmount).toBe(3_000);
  });

  it('refuses a refund larger than the whole amount of a completed payment', () => {
    expect(() => transition(inStatus('completed'), { type: 'PaymentRefunded', occurredAt: T2, refundAmount: 10_001 }, T3)).toThrow(
      RefundExceedsAmountError,
    );
  });

  it('refuses any further refund once nothing remains, with or without an amount', () => {
    const full = transition(inStatus('completed'), { type: 'PaymentRefunded', occurredAt: T1 }, T1);
    expect(full.refundedAmount).toBe(full.amount);
    expect(() => transition(full, { type: 'PaymentRefunded', occurredAt: T2 }, T3)).toThrow(RefundExceedsAmountError);
    expect(() => transition(full, { type: 'PaymentRefunded', occurredAt: T2, refundAmount: 1 }, T3)).toThrow(
      /Nothing remains to refund/,
    );
  });

  it('refuses a refund of nothing or less', () => {
    const completed = inStatus('completed');
    expect(() => transition(completed, { type: 'PaymentRefunded', occurredAt: T2, refundAmount: 0 }, T3)).toThrow(RefundExceedsAmountError);
    expect(() => transition(completed, { type: 'PaymentRefunded', occurredAt: T2, refundAmount: -5 }, T3)).toThrow(RefundExceedsAmountError);
  });

  it('returns a frozen new object and leaves the input as it was', () => {
    const before = pending();
    const snapshot = { ...before };
    const after = transition(before, { type: 'PaymentProcessed', occurredAt: OCCURRED }, T3);
    expect(after).not.toBe(before);
    expect(Object.isFrozen(after)).toBe(true);
    expect(() => {
      (after as { version: number }).version = 99;
    }).toThrow(TypeError);
    expect(before).toEqual(snapshot);
  });

  it('keeps the frozen metadata of the payment it started from', () => {
    const before = pending();
    const after = transition(before, { type: 'PaymentProcessed', occurredAt: OCCURRED }, T3);
    expect(after.metadata).toEqual({ source: 'test', channel: 'web' });
    expect(Object.isFrozen(after.metadata)).toBe(true);
  });

  it('grows version by exactly one along a whole lifecycle', () => {
    let p = pending();
    const versions = [p.version];
    p = transition(p, { type: 'PaymentProcessed', occurredAt: T1 }, T1);
    versions.push(p.version);
    p = transition(p, { type: 'PaymentRefunded', occurredAt: T2, refundAmount: 1 }, T2);
    versions.push(p.version);
    p = transition(p, { type: 'PaymentRefunded', occurredAt: T3 }, T3);
    versions.push(p.version);
    expect(versions).toEqual([1, 2, 3, 4]);
    expect(p.refundedAmount).toBe(p.amount);
  });
});
