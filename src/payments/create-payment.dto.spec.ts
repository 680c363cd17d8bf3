import fc from 'fast-check';
import { validateDto, validateDtoWithDecorators } from '../validation.pipe';
import { CREATED_AT_MAX_FUTURE_MS, MAX_AMOUNT, RESERVED_PAYMENT_IDS } from './payment';
import { CreatePaymentDto } from './create-payment.dto';

/**
 * CreatePaymentDto.fast, the fast path of POST /payments and of bulk items, against the
 * class-validator decorators (the source of truth): whatever the fast path accepts, the
 * decorators accept as the same instance; and the valid bodies clients send take the fast path.
 */
// a new seed every run (a failure prints its seed and path: fc.assert's { seed, path } replays it)
const seed = Date.now() % 2 ** 31;
const runs = 3000;

const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

/** Text of every kind: ASCII, other planes, lone surrogates, variation selectors, controls. */
const text = (maxLength: number) =>
  fc.oneof(
    fc.string({ maxLength }),
    fc.string({ unit: 'grapheme', maxLength }),
    fc.string({ unit: 'binary', maxLength }),
    fc.constantFrom('', ' ', '\uFE0F', 'a\uFE0E', '\uD800', '\uDC00x', '😀', 'é', '\u0000', 'a'.repeat(maxLength), 'b'.repeat(maxLength + 1)),
  );
const edgeLengths = (n: number) => fc.constantFrom('x'.repeat(n), 'x'.repeat(n + 1), '😀'.repeat(n / 2), `${'y'.repeat(n - 1)}😀`, `${'z'.repeat(n)}\uFE0F`);
const id = fc.oneof(text(64), edgeLengths(64), fc.stringMatching(/^[A-Za-z0-9_.:-]{1,70}$/));
const amount = fc.oneof(
  fc.integer({ min: -5, max: 100 }),
  fc.integer({ min: 1, max: MAX_AMOUNT + 10 }),
  fc.constantFrom(0, -0, 1, MAX_AMOUNT, MAX_AMOUNT + 1, 1.5, Number.MAX_SAFE_INTEGER, NaN, Infinity, -Infinity),
  fc.double(),
);
const currency = fc.oneof(
  fc.constantFrom('EUR', 'USD', 'JPY', 'GBP', 'CHF', 'XYZ', 'eur', 'EURO', 'EU', '', 'E1R', 'XXX', 'XTS', 'BOV'),
  fc.stringMatching(/^[A-Z]{3}$/),
  text(4),
);
const createdAt = fc.oneof(
  // clearly past or clearly too far ahead, so that the clock moving between the two checks never decides
  fc.integer({ min: Date.UTC(1970, 0, 1), max: Date.now() - HOUR }).map(iso),
  fc.integer({ min: Date.now() + CREATED_AT_MAX_FUTURE_MS + HOUR, max: Date.UTC(2200, 0, 1) }).map(iso),
  fc.constantFrom('2026-03-01', '2026-02-30', '2026-03-01T10:00:00', '2026-03-01T10:00:00+02:00', '2026-03-01T10:00:00.123456Z', '2026-13-01T00:00:00Z', 'yesterday', ''),
  text(30),
);
const metadataValue = fc.oneof(text(500), edgeLengths(500), fc.integer(), fc.constant(null), fc.boolean());
const metadataKey = fc.oneof(text(40), edgeLengths(40), fc.constantFrom('constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'));
const metadata = fc.oneof(
  fc.dictionary(fc.string({ minLength: 1, maxLength: 40 }), fc.string({ maxLength: 500 }), { maxKeys: 5 }),
  fc.dictionary(metadataKey, metadataValue, { maxKeys: 6 }),
  fc.dictionary(fc.string({ minLength: 1, maxLength: 4 }), fc.string({ maxLength: 3 }), { minKeys: 48, maxKeys: 53 }),
  fc.constantFrom(null, 'text', 42, [], ['a'], {}),
);
/** Any JSON value, for a field of the wrong type. */
const anything = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom(null, true, false, 0, '', [], {}));

const fields = {
  organizationId: fc.oneof(id, anything),
  userId: fc.oneof(id, anything),
  amount: fc.oneof(amount, anything),
  currency: fc.oneof(currency, anything),
  paymentId: fc.oneof(id, anything),
  description: fc.oneof(text(1000), edgeLengths(1000), anything),
  metadata: fc.oneof(metadata, anything),
  createdAt: fc.oneof(createdAt, anything),
};

/** Bodies clients send: every field valid. */
const validBody = fc.record(
  {
    organizationId: fc.string({ minLength: 1, maxLength: 64 }),
    userId: fc.string({ minLength: 1, maxLength: 64 }),
    amount: fc.integer({ min: 1, max: MAX_AMOUNT }),
    currency: fc.constantFrom('EUR', 'USD', 'JPY', 'GBP', 'CHF'),
    paymentId: fc.stringMatching(/^[A-Za-z0-9_.:-]{1,64}$/).filter((id) => !RESERVED_PAYMENT_IDS.includes(id)),
    description: fc.string({ maxLength: 1000 }),
    metadata: fc.dictionary(fc.string({ minLength: 1, maxLength: 40 }), fc.string({ maxLength: 500 }), { maxKeys: 50 }),
    createdAt: fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.now() - HOUR }).map(iso),
  },
  { requiredKeys: ['organizationId', 'userId', 'amount', 'currency'] },
).filter((b) => b.metadata === undefined || Object.keys(b.metadata).every((k) => !['constructor', 'prototype', '__proto__'].includes(k)));

/**
 * Near-valid bodies: a valid one with one or two fields replaced by anything (valid or not,
 * of any type), maybe one removed and maybe an unknown key added; or any subset of fields.
 */
/** null 4 times out of 5: most near-valid bodies keep every field and add none. */
const sometimes = <T>(arb: fc.Arbitrary<T>) => fc.oneof({ arbitrary: fc.constant(null), weight: 4 }, { arbitrary: arb, weight: 1 });
const FIELD_NAMES = Object.keys(fields) as (keyof typeof fields)[];
const replacement = fc.oneof(...FIELD_NAMES.map((name) => fields[name].map((value) => [name, value] as const)));
const anyBody = fc.oneof(
  fc
    .tuple(
      validBody,
      fc.array(replacement, { minLength: 1, maxLength: 2 }),
      sometimes(fc.constantFrom(...FIELD_NAMES)),
      sometimes(fc.tuple(fc.constantFrom('status', 'version', 'refundedAmount', 'extra', 'organizationid'), anything)),
    )
    .map(([valid, replaced, removed, extra]) => {
      const body: Record<string, unknown> = { ...valid };
      for (const [name, value] of replaced) body[name] = value;
      if (removed !== null) delete body[removed];
      if (extra !== null) body[extra[0]] = extra[1];
      return body;
    }),
  fc.record(fields, { requiredKeys: [] }),
);

function sameAsDecorators(body: object): void {
  const fast = CreatePaymentDto.fast(body as Record<string, unknown>);
  if (fast === undefined) return;
  const full = validateDtoWithDecorators(CreatePaymentDto, body);
  if (!full.ok) throw new Error(`the fast path accepted a body the decorators refuse: ${JSON.stringify(full.errors)}`);
  expect(fast).toBeInstanceOf(CreatePaymentDto);
  expect(fast).toStrictEqual(full.value);
  expect(Object.keys(fast)).toEqual(Object.keys(full.value));
}

describe('CreatePaymentDto.fast', () => {
  beforeAll(() => console.log(`create-payment.fast.spec: seed ${seed}, ${runs} runs per property`));

  it('accepts only what the decorators accept, as the same instance (any body)', () => {
    fc.assert(fc.property(anyBody, sameAsDecorators), { seed, numRuns: runs });
  });

  it('takes the valid bodies clients send, and agrees with the decorators on them', () => {
    fc.assert(
      fc.property(validBody, (body) => {
        expect(CreatePaymentDto.fast(body)).toBeDefined();
        sameAsDecorators(body);
      }),
      { seed, numRuns: runs },
    );
  });

  it('leaves every refusal to the decorators, which name the bad fields', () => {
    const body = { organizationId: 'org-1', userId: 'u', amount: 1.5, currency: 'eur', status: 'completed' };
    expect(CreatePaymentDto.fast(body)).toBeUndefined();
    const result = validateDto(CreatePaymentDto, body);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors.map((e) => e.field).sort()).toEqual(['amount', 'currency', 'status']);
  });

  it('is the path validateDto takes for a valid body', () => {
    const spy = jest.spyOn(CreatePaymentDto, 'fast');
    const body = { organizationId: 'org-1', userId: 'u', amount: 100, currency: 'EUR', createdAt: '2026-01-01' };
    const result = validateDto(CreatePaymentDto, body);
    expect(spy).toHaveBeenCalledTimes(1);
    expect(result).toEqual({ ok: true, value: spy.mock.results[0].value });
    expect(result.ok && (result.value as CreatePaymentDto).createdAt).toBe('2026-01-01T00:00:00.000Z');
    spy.mockRestore();
  });
});
