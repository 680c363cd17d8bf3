import fc from 'fast-check';
import { validateDto, validateDtoWithDecorators } from '../validation.pipe';
import { PaymentStatsQueryDto, SearchPaymentsQueryDto } from './payment-query.dto';

/**
 * The fast paths of the search and stats query DTOs against the class-validator decorators
 * (the source of truth): whatever a fast path accepts, the decorators accept as the same
 * instance; and the queries clients send take the fast path.
 */
const seed = Date.now() % 2 ** 31; // a failure prints its seed and path: fc.assert's { seed, path } replays it
const runs = 3000;

const text = (maxLength: number) =>
  fc.oneof(
    fc.string({ maxLength }),
    fc.string({ unit: 'binary', maxLength }),
    fc.constantFrom('', ' ', '\uFE0F', '😀', 'x'.repeat(maxLength), 'x'.repeat(maxLength + 1), `${'x'.repeat(maxLength)}\uFE0F`),
  );
const integerText = fc.oneof(
  fc.integer({ min: -5, max: 200 }).map(String),
  fc.bigInt({ min: -(2n ** 60n), max: 2n ** 60n }).map(String),
  fc.constantFrom('0', '-0', '00', '1.5', '1e3', ' 1', '1 ', '', '+1', '9007199254740991', '9007199254740992', '10000', '100', '101', 'abc'),
);
const timeText = fc.oneof(
  fc.integer({ min: 0, max: Date.UTC(2100, 0, 1) }).map((ms) => new Date(ms).toISOString()),
  fc.integer({ min: Date.UTC(2025, 0, 1), max: Date.UTC(2027, 0, 1) }).map((ms) => new Date(ms).toISOString().slice(0, 10)),
  fc.constantFrom('2026-02-30', '2026-03-01T10:00:00', '2026-03-01T10:00:00+02:00', 'now', ''),
);
const listText = (items: string[]) =>
  fc.oneof(
    fc.array(fc.constantFrom(...items), { minLength: 1, maxLength: 3 }).map((l) => l.join(',')),
    fc.array(fc.constantFrom(...items, ' ', ''), { minLength: 1, maxLength: 3 }).map((l) => l.join(', ')),
    text(8),
  );

const filter = {
  organizationId: text(64),
  userId: text(64),
  status: listText(['pending', 'completed', 'failed', 'refunded', 'Pending', 'done']),
  currency: listText(['EUR', 'USD', 'XYZ', 'eur', 'EURO']),
  minAmount: integerText,
  maxAmount: integerText,
  from: timeText,
  to: timeText,
};
/** Values the decorators accept, one parameter at a time. */
const validFilter = {
  organizationId: fc.string({ minLength: 1, maxLength: 64 }),
  userId: fc.string({ minLength: 1, maxLength: 64 }),
  status: fc.array(fc.constantFrom('pending', 'completed', 'failed', 'refunded'), { minLength: 1, maxLength: 4 }).map((l) => l.join(',')),
  currency: fc.array(fc.stringMatching(/^[A-Z]{3}$/), { minLength: 1, maxLength: 3 }).map((l) => l.join(',')),
  minAmount: fc.integer({ min: 0, max: 1_000_000 }).map(String),
  maxAmount: fc.integer({ min: 0, max: 1_000_000_000 }).map(String),
  from: fc.integer({ min: Date.UTC(2025, 0, 1), max: Date.UTC(2026, 0, 1) }).map((ms) => new Date(ms).toISOString()),
  to: fc.integer({ min: Date.UTC(2026, 0, 1), max: Date.UTC(2026, 0, 20) }).map((ms) => new Date(ms).toISOString()),
};
const validSearch = {
  ...validFilter,
  sort: fc.constantFrom('createdAt', '-createdAt', 'amount', '-amount'),
  page: fc.integer({ min: 0, max: 100 }).map(String),
  size: fc.integer({ min: 1, max: 100 }).map(String),
  cursor: fc.string({ minLength: 1, maxLength: 1024 }),
};
const validStats = { ...validFilter, interval: fc.constantFrom('hour', 'day') };

const searchFields = { ...filter, sort: fc.constantFrom('createdAt', '-createdAt', 'amount', '-amount', 'CreatedAt', ''), page: integerText, size: integerText, cursor: text(1024) };
const statsFields = { ...filter, interval: fc.constantFrom('hour', 'day', 'week', '') };

/**
 * A valid query with one or two parameters replaced by anything (valid or not), or any subset
 * of the parameters; sometimes a repeated one (an array) or an unknown one.
 */
function queries(fields: Record<string, fc.Arbitrary<string>>, valid: Record<string, fc.Arbitrary<string>>) {
  const names = Object.keys(fields);
  const replacement = fc.oneof(...names.map((name) => fields[name].map((value) => [name, value] as const)));
  const nearValid = fc.tuple(fc.record(valid, { requiredKeys: [] }), fc.array(replacement, { minLength: 1, maxLength: 2 })).map(([q, replaced]) => {
    const out: Record<string, string | undefined> = { ...q };
    for (const [name, value] of replaced) out[name] = value;
    return out;
  });
  return fc
    .tuple(
      fc.oneof({ arbitrary: nearValid, weight: 3 }, { arbitrary: fc.record(valid, { requiredKeys: [] }), weight: 1 }, { arbitrary: fc.record(fields, { requiredKeys: [] }), weight: 1 }),
      fc.oneof({ arbitrary: fc.constant(null), weight: 5 }, { arbitrary: fc.constantFrom(...Object.keys(fields), 'page_size', 'q'), weight: 1 }),
    )
    .map(([query, odd]) => {
      const q: Record<string, unknown> = { ...query };
      if (odd !== null) q[odd] = q[odd] === undefined ? 'x' : [q[odd], q[odd]];
      return q;
    });
}

function sameAsDecorators<T extends object>(cls: (new () => T) & { fast(q: Record<string, unknown>): T | undefined }, query: Record<string, unknown>): boolean {
  const fast = validateDto(cls, query, 'query');
  const viaFast = cls.fast(query) !== undefined;
  const full = validateDtoWithDecorators(cls, query, 'query');
  if (fast.ok !== full.ok) throw new Error(`fast says ${fast.ok}, the decorators ${full.ok}: ${JSON.stringify(full)}`);
  if (fast.ok && full.ok) {
    expect(fast.value).toBeInstanceOf(cls);
    expect(fast.value).toStrictEqual(full.value);
    expect(Object.keys(fast.value)).toEqual(Object.keys(full.value));
  } else if (!fast.ok && !full.ok) {
    expect(fast.errors).toEqual(full.errors);
  }
  return viaFast;
}

describe.each([
  ['SearchPaymentsQueryDto', SearchPaymentsQueryDto, searchFields, validSearch],
  ['PaymentStatsQueryDto', PaymentStatsQueryDto, statsFields, validStats],
] as const)('%s.fast', (_name, cls, fields, valid) => {
  beforeAll(() => console.log(`query.fast.spec: seed ${seed}, ${runs} runs per property`));

  it('gives the same verdict, instance and errors as the decorators (any query)', () => {
    fc.assert(
      fc.property(queries(fields, valid), (q) => {
        sameAsDecorators(cls as never, q);
      }),
      { seed, numRuns: runs },
    );
  });

  it('takes the queries clients send', () => {
    const typical: Record<string, string>[] = [
      {},
      { organizationId: 'org-456', status: 'completed,refunded', currency: 'EUR', minAmount: '10000', maxAmount: '500000' },
      { organizationId: 'org-456', from: '2026-03-01T00:00:00Z', to: '2026-03-08T00:00:00Z' },
      { userId: 'user-1', currency: 'EUR,USD', from: '2026-03-01', to: '2026-03-02' },
    ];
    if (cls === SearchPaymentsQueryDto) typical.push({ organizationId: 'o', sort: 'amount', size: '50', page: '3' }, { cursor: 'abc', size: '20' });
    else typical.push({ organizationId: 'o', from: '2026-03-01T00:00:00Z', to: '2026-03-08T00:00:00Z', interval: 'day' });
    for (const q of typical) expect(sameAsDecorators(cls as never, q)).toBe(true);
  });
});
