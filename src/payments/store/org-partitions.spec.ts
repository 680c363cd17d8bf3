import { AppConfig } from '../../config';
import { createPayment, PAYMENT_STATUSES, transition } from '../payment';
import { PaymentStore } from './payment.store';
import { matchesFilter } from './payment-filter';
import { filterParams } from './row-filter';

function lcg(seed: number) {
  return () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

describe('OrgPartitions (through the store that keeps them)', () => {
  it('holds every row of an organization once, with its current status, after random writes', () => {
    const rnd = lcg(99);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
    const store = new PaymentStore(new AppConfig());
    for (let i = 0; i < 3000; i++) {
      store.insertIfAbsent(
        createPayment(
          {
            organizationId: pick(['a', 'b', 'c', 'd']),
            userId: pick(['u1', 'u2', 'u3']),
            amount: 1 + Math.floor(rnd() * 1000),
            currency: pick(['EUR', 'USD']),
            createdAt: new Date(Date.parse('2026-01-01T00:00:00Z') + Math.floor(rnd() * 1e9)).toISOString(),
          },
          `p${i}`,
          '2026-02-01T00:00:00.000Z',
        ),
      );
      if (rnd() < 0.5) {
        const id = `p${Math.floor(rnd() * (i + 1))}`;
        const type = pick(['PaymentProcessed', 'PaymentFailed', 'PaymentRefunded'] as const);
        try {
          store.update(id, undefined, (c) => transition(c, { type, occurredAt: c.createdAt, error: 'e' }, '2026-02-01T00:00:00.000Z'));
        } catch {
          // refused transitions change nothing
        }
      }
    }
    for (const org of ['a', 'b', 'c', 'd']) {
      for (const statuses of [undefined, ['pending'], ['completed', 'refunded'], ['failed']] as const) {
        const f = { organizationId: org, statuses: statuses as (typeof PAYMENT_STATUSES)[number][] | undefined, userId: rnd() < 0.5 ? 'u2' : undefined };
        const seen: number[] = [];
        store.partitions.scan(filterParams(f, store.dictionaries)!.org, filterParams(f, store.dictionaries)!, 'amount', (row, key) => {
          expect(key).toBe(store.row(row).amount);
          seen.push(row);
        });
        const expected = Array.from({ length: store.size }, (_, row) => row).filter((row) => matchesFilter(store.row(row), f));
        expect(seen).toEqual(expected);
      }
    }
  });
});
