import { AppConfig } from '../../config';
import { createPayment, PAYMENT_STATUSES, transition } from '../payment';
import { PaymentStore } from './payment.store';
import { matchesFilter, PaymentFilter } from './payment-filter';
import { compileRowFilter } from './row-filter';

function lcg(seed: number) {
  return () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

describe('compileRowFilter', () => {
  const rnd = lcg(11);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
  const store = new PaymentStore(new AppConfig());
  const orgs = ['o1', 'o2', 'o3'];
  const users = ['u1', 'u2'];
  const currencies = ['EUR', 'USD', 'JPY'];
  const day = Date.parse('2026-03-01T00:00:00Z');
  for (let i = 0; i < 400; i++) {
    const p = createPayment(
      {
        organizationId: pick(orgs),
        userId: pick(users),
        amount: 1 + Math.floor(rnd() * 1000),
        currency: pick(currencies),
        createdAt: new Date(day + Math.floor(rnd() * 10 * 86_400_000)).toISOString(),
      },
      `p${i}`,
      '2026-03-20T00:00:00.000Z',
    );
    store.insertIfAbsent(p);
    if (rnd() < 0.6) {
      store.update(p.paymentId, undefined, (c) =>
        transition(c, { type: 'PaymentProcessed', occurredAt: c.createdAt }, '2026-03-20T00:00:00.000Z'),
      );
    }
  }

  function randomFilter(): PaymentFilter {
    const f: PaymentFilter = {};
    if (rnd() < 0.5) f.organizationId = pick([...orgs, 'nobody']);
    if (rnd() < 0.3) f.userId = pick(users);
    if (rnd() < 0.4) f.statuses = PAYMENT_STATUSES.filter(() => rnd() < 0.5);
    if (rnd() < 0.4) f.currencies = currencies.filter(() => rnd() < 0.5).concat(rnd() < 0.2 ? ['GBP'] : []);
    if (rnd() < 0.4) f.minAmount = Math.floor(rnd() * 800);
    if (rnd() < 0.4) f.maxAmount = Math.floor(rnd() * 1000);
    if (rnd() < 0.4) f.from = new Date(day + Math.floor(rnd() * 5) * 86_400_000).toISOString();
    if (rnd() < 0.4) f.to = new Date(day + Math.floor(5 + rnd() * 6) * 86_400_000).toISOString();
    return f;
  }

  it('selects exactly the rows that matchesFilter selects on the payment objects', () => {
    for (let round = 0; round < 300; round++) {
      const f = randomFilter();
      const match = compileRowFilter(f, store.columns(), store.dictionaries);
      const expected: number[] = [];
      const actual: number[] = [];
      for (let row = 0; row < store.size; row++) {
        if (matchesFilter(store.row(row), f)) expected.push(row);
        if (match?.(row)) actual.push(row);
      }
      expect(actual).toEqual(expected);
    }
  });

  it('returns null for values no row ever held, so a scan can stop before it starts', () => {
    expect(compileRowFilter({ organizationId: 'nobody' }, store.columns(), store.dictionaries)).toBeNull();
    expect(compileRowFilter({ currencies: ['GBP'] }, store.columns(), store.dictionaries)).toBeNull();
    expect(compileRowFilter({ currencies: ['GBP', 'EUR'] }, store.columns(), store.dictionaries)).not.toBeNull();
  });
});
