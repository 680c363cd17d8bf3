import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { FC_SEED } from '../../../test/fc-seed';
import { AppConfig } from '../../config';
import { AppError, OrganizationQuotaExceededError, StoreFullError } from '../../errors';
import { createPayment, NewPayment, Payment, transition } from '../payment';
import { CapacityLimits, capacityLimits, MIN_HEAP_HEADROOM_BYTES, ORGANIZATION_SHARE, STORE_SHARE, StoreCapacity, youngGenerationBytes } from './capacity';
import { HeapGauge, HeapSample } from './heap-gauge';
import { eventIdBytes, NEW_ORGANIZATION_BYTES, NEW_USER_BYTES, paymentBytes } from './payment-bytes';
import { PaymentStore } from './payment.store';

const MiB = 1024 * 1024;
const NOW = '2026-03-01T12:00:00.000Z';

function payment(id: string, overrides: Partial<NewPayment> = {}): Payment {
  return createPayment({ organizationId: 'org-a', userId: 'u1', amount: 1_000, currency: 'EUR', ...overrides }, id, NOW);
}

/** A heap the spec sets: `gc(live)` is a full GC that found `live` bytes live. */
class FakeHeap implements HeapGauge {
  limitBytes = 4096 * MiB;
  sample: HeapSample = { liveBytes: 0 };
  used = 0;
  usedBytes(): number {
    return this.used;
  }
  gc(liveBytes: number): void {
    this.sample = { liveBytes };
    this.used = liveBytes;
  }
}

const ROOMY: CapacityLimits = {
  maxPayments: 1_000_000,
  maxBytes: 1e12,
  orgMaxPayments: 1_000_000,
  orgMaxBytes: 1e12,
  heapCeilingBytes: 1e12,
};

function capacity(limits: Partial<CapacityLimits> = {}, heap = new FakeHeap()): StoreCapacity {
  return new StoreCapacity({ ...ROOMY, ...limits }, heap);
}

/** admit, then add as the store does: the estimated bytes it recorded. */
function store(c: StoreCapacity, p: Payment, userKnown = true): number {
  const bytes = c.admit(p, userKnown);
  c.add(p.organizationId, 1, bytes);
  return bytes;
}

function refusal(action: () => unknown): AppError {
  try {
    action();
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error('not refused');
}

describe('youngGenerationBytes', () => {
  it('is three semi-spaces: of --max-semi-space-size when node was given one, else of 16 MiB before Node 22 and 64 MiB from it', () => {
    // measured: heap_size_limit less --max-old-space-size is 48 MiB on Node 20 and 192 MiB on Node 24
    expect(youngGenerationBytes('--max-old-space-size=192', 20)).toBe(48 * MiB);
    expect(youngGenerationBytes('--max-old-space-size=192', 24)).toBe(192 * MiB);
    expect(youngGenerationBytes('--max-semi-space-size=32 --max-old-space-size=192', 24)).toBe(96 * MiB);
    expect(youngGenerationBytes('--max_semi_space_size 8', 20)).toBe(24 * MiB);
    expect(youngGenerationBytes('', 22)).toBe(192 * MiB);
  });

  it.each(['--max-old-space-size=192', '--max-old-space-size=64 --max-semi-space-size=32'])(
    'matches what this node reports with %s: heap_size_limit less the old space',
    (flags) => {
      const args = [...flags.split(' '), '-p', "require('v8').getHeapStatistics().heap_size_limit"];
      const heapLimit = Number(execFileSync(process.execPath, args, { encoding: 'utf8' }).trim());
      const oldSpace = Number(/--max-old-space-size=(\d+)/.exec(flags)![1]) * MiB;
      expect(youngGenerationBytes(flags, Number(process.versions.node.split('.')[0]))).toBe(heapLimit - oldSpace);
    },
  );
});

describe('capacityLimits', () => {
  it('derives the heap ceiling, the byte budget and the organizations\' shares from the heap limit when the config says 0', () => {
    // node --max-old-space-size=192 on Node 24: a heap limit of 384 MiB, 192 of them young
    const limits = capacityLimits(new AppConfig({ maxPayments: 50 }), 384 * MiB, 192 * MiB);
    const ceiling = 192 * MiB - MIN_HEAP_HEADROOM_BYTES; // 15% of 192 MiB is less than the minimum headroom

    expect(limits).toEqual({
      maxPayments: 50,
      maxBytes: Math.floor(ceiling * STORE_SHARE),
      orgMaxPayments: 25,
      orgMaxBytes: Math.floor(Math.floor(ceiling * STORE_SHARE) * ORGANIZATION_SHARE),
      heapCeilingBytes: ceiling,
    });
    // a large heap keeps 15%
    expect(capacityLimits(new AppConfig(), 4144 * MiB, 48 * MiB).heapCeilingBytes).toBe(Math.floor(4096 * MiB * 0.85));
  });

  it('keeps the byte budget under the heap ceiling, and the ceiling under the old generation, from a tiny heap to a large one', () => {
    for (const young of [48 * MiB, 96 * MiB, 192 * MiB]) {
      for (const oldSpace of [32 * MiB, 64 * MiB, 192 * MiB, 4096 * MiB, 14_336 * MiB]) {
        const limits = capacityLimits(new AppConfig(), oldSpace + young, young);

        expect(limits.maxBytes).toBeLessThan(limits.heapCeilingBytes);
        expect(limits.heapCeilingBytes).toBeLessThanOrEqual(oldSpace - Math.min(MIN_HEAP_HEADROOM_BYTES, oldSpace / 2));
        expect(limits.heapCeilingBytes).toBeGreaterThan(0);
        expect(limits.orgMaxBytes).toBeLessThan(limits.maxBytes);
      }
    }
  });

  it('takes the configured values as they are', () => {
    const config = new AppConfig({ maxPayments: 10, maxStoreBytes: 5000, orgMaxPayments: 7, orgMaxStoreBytes: 3000 });

    expect(capacityLimits(config, 4096 * MiB)).toMatchObject({ maxPayments: 10, maxBytes: 5000, orgMaxPayments: 7, orgMaxBytes: 3000 });
  });

  it('never derives an organization quota of 0 payments', () => {
    expect(capacityLimits(new AppConfig({ maxPayments: 1 }), 4096 * MiB).orgMaxPayments).toBe(1);
  });
});

describe('StoreCapacity', () => {
  it('estimates a payment with its first-time organization and user, each counted once', () => {
    const c = capacity();
    const first = payment('p1');

    expect(c.bytesOf(first, false)).toBe(paymentBytes(first) + NEW_USER_BYTES + NEW_ORGANIZATION_BYTES);
    store(c, first, false);
    expect(c.bytesOf(payment('p2'), true)).toBe(paymentBytes(payment('p2')));
    expect(c.bytesOf(payment('p3', { organizationId: 'org-b' }), true)).toBe(paymentBytes(payment('p3', { organizationId: 'org-b' })) + NEW_ORGANIZATION_BYTES);
  });

  it('refuses the payment past MAX_PAYMENTS with STORE_FULL and records nothing', () => {
    const c = capacity({ maxPayments: 2 });
    store(c, payment('p1'));
    store(c, payment('p2', { organizationId: 'org-b' }));
    const before = { payments: c.payments, bytes: c.bytes };

    const error = refusal(() => c.admit(payment('p3', { organizationId: 'org-c' }), true));

    expect(error).toBeInstanceOf(StoreFullError);
    expect([error.code, error.status]).toEqual(['STORE_FULL', 507]);
    expect(error.detail).toContain('2 payments (MAX_PAYMENTS)');
    expect({ payments: c.payments, bytes: c.bytes }).toEqual(before);
  });

  it('refuses the payment whose bytes would pass MAX_STORE_BYTES, and admits a smaller one that fits', () => {
    const small = payment('p1');
    const big = payment('p2', { description: 'x'.repeat(1000) });
    const c = capacity({ maxBytes: 2 * NEW_ORGANIZATION_BYTES + paymentBytes(big) });
    store(c, small); // with its organization's first-time cost

    const error = refusal(() => c.admit(payment('p3', { organizationId: 'org-b', description: 'x'.repeat(1000) }), true));
    const admitted = c.admit(payment('p4', { description: 'x'.repeat(900) }), true);

    expect([error.code, error.status]).toEqual(['STORE_FULL', 507]);
    expect(error.detail).toContain('MAX_STORE_BYTES');
    expect(admitted).toBe(paymentBytes(payment('p4', { description: 'x'.repeat(900) })));
  });

  it('refuses an organization past ORG_MAX_PAYMENTS with ORGANIZATION_QUOTA_EXCEEDED, and still admits another organization', () => {
    const c = capacity({ orgMaxPayments: 2 });
    store(c, payment('p1'));
    store(c, payment('p2'));

    const error = refusal(() => c.admit(payment('p3'), true));

    expect(error).toBeInstanceOf(OrganizationQuotaExceededError);
    expect([error.code, error.status]).toEqual(['ORGANIZATION_QUOTA_EXCEEDED', 507]);
    expect(error.detail).toBe("Organization 'org-a' holds its quota of 2 payments (ORG_MAX_PAYMENTS); nothing was stored");
    expect(() => store(c, payment('p3', { organizationId: 'org-b' }))).not.toThrow();
    expect(c.usageOf('org-a').payments).toBe(2);
    expect(c.usageOf('org-b').payments).toBe(1);
  });

  it('refuses an organization past ORG_MAX_STORE_BYTES, and still admits another organization', () => {
    const p = payment('p1', { metadata: { note: 'y'.repeat(500) } });
    const c = capacity({ orgMaxBytes: NEW_ORGANIZATION_BYTES + 2 * paymentBytes(p) });
    store(c, p);
    store(c, payment('p2', { metadata: { note: 'y'.repeat(500) } }));

    const error = refusal(() => c.admit(payment('p3'), true));

    expect([error.code, error.status]).toEqual(['ORGANIZATION_QUOTA_EXCEEDED', 507]);
    expect(error.detail).toContain('ORG_MAX_STORE_BYTES');
    expect(() => store(c, payment('p3', { organizationId: 'org-b' }))).not.toThrow();
  });

  it('answers STORE_FULL rather than the organization\'s quota when both are reached', () => {
    const c = capacity({ maxPayments: 1, orgMaxPayments: 1 });
    store(c, payment('p1'));

    expect(refusal(() => c.admit(payment('p2'), true)).code).toBe('STORE_FULL');
  });

  describe('against the real heap', () => {
    const CEILING = 100 * MiB;

    it('refuses when the live heap of the last full GC plus the estimated growth since would pass the ceiling', () => {
      const heap = new FakeHeap();
      const c = capacity({ heapCeilingBytes: CEILING }, heap);
      const first = payment('p1', { description: 'x'.repeat(1000) });
      const next = payment('p2', { description: 'x'.repeat(1000) });
      heap.gc(CEILING - c.bytesOf(first, true) - 100); // room for the first, and 100 bytes
      store(c, first);
      heap.used = CEILING; // garbage too: no proof that there is room

      const error = refusal(() => c.admit(next, true));

      expect([error.code, error.status]).toEqual(['STORE_FULL', 507]);
      expect(error.detail).toContain('live heap');
      expect(c.payments).toBe(1);
    });

    it('admits when the old generation in use now, garbage and all, is under the ceiling, and measures it again only when the growth estimated since could reach the ceiling', () => {
      const heap = new FakeHeap();
      const measure = jest.spyOn(heap, 'usedBytes');
      const c = capacity({ heapCeilingBytes: CEILING }, heap);
      heap.gc(CEILING - 1000); // the last full GC and the estimate say full ...
      heap.used = CEILING / 2; // ... the heap in use now says there is room

      expect(() => store(c, payment('p1', { description: 'x'.repeat(1000) }))).not.toThrow();
      expect(measure).toHaveBeenCalledTimes(1);
      for (let i = 2; i < 50; i++) store(c, payment(`p${i}`)); // far from the ceiling from the measured base
      expect(measure).toHaveBeenCalledTimes(1);

      heap.used = CEILING;
      expect(() => c.admitGrowth(CEILING / 2)).toThrow(StoreFullError); // could reach it: measured again, full
      expect(measure).toHaveBeenCalledTimes(2);
      expect(() => c.admit(payment('p99'), true)).toThrow(StoreFullError); // at the ceiling: every write measures
      expect(measure).toHaveBeenCalledTimes(3);
    });

    it('counts the growth since the last sample only: a full GC that finds room lets writes in again', () => {
      const heap = new FakeHeap();
      const c = capacity({ heapCeilingBytes: CEILING }, heap);
      for (let i = 0; i < 3; i++) store(c, payment(`p${i}`, { description: 'x'.repeat(1000) }));
      heap.gc(CEILING - 100); // the three payments are in this sample: they are not counted again
      heap.used = CEILING;
      expect(() => c.admitGrowth(99)).not.toThrow();
      expect(() => c.admit(payment('p9'), true)).toThrow(StoreFullError);

      heap.gc(CEILING / 2);

      expect(() => c.admit(payment('p9'), true)).not.toThrow();
    });

    it('limits the growth of a stored payment by the heap only, not by the budgets', () => {
      const heap = new FakeHeap();
      const c = capacity({ maxPayments: 1, maxBytes: 1, orgMaxPayments: 1, orgMaxBytes: 1, heapCeilingBytes: CEILING }, heap);
      heap.gc(CEILING - 100);

      expect(() => c.admitGrowth(99)).not.toThrow();
      heap.used = CEILING;
      expect(() => c.admitGrowth(101)).toThrow(StoreFullError);
    });
  });

  describe('a batch (PostgreSQL: committed first, applied after)', () => {
    it('counts each admitted create for the next, against the store and the organization', () => {
      const c = capacity({ maxPayments: 3, orgMaxPayments: 2 });
      store(c, payment('p1'));
      const batch = c.batch();

      batch.admit(payment('p2'), true);
      const orgFull = refusal(() => batch.admit(payment('p3'), true));
      batch.admit(payment('p4', { organizationId: 'org-b' }), true);
      const storeFull = refusal(() => batch.admit(payment('p5', { organizationId: 'org-c' }), true));

      expect(orgFull.code).toBe('ORGANIZATION_QUOTA_EXCEEDED');
      expect(storeFull.code).toBe('STORE_FULL');
      expect(c.payments).toBe(1); // the store records them when it applies the commit
    });

    it('charges a first-time organization and user once per batch', () => {
      const p2 = payment('p2', { organizationId: 'org-new', userId: 'u-new' });
      const p3 = payment('p3', { organizationId: 'org-new', userId: 'u-new' });
      const exact = paymentBytes(p2) + NEW_ORGANIZATION_BYTES + NEW_USER_BYTES + paymentBytes(p3);
      const c = capacity({ maxBytes: exact });

      c.batch().admit(p2, false);
      const batch = c.batch();
      batch.admit(p2, false);
      batch.admit(p3, false);

      expect(() => batch.admit(payment('p4', { organizationId: 'org-new', userId: 'u-new' }), false)).toThrow(StoreFullError);
    });
  });

  it('admits exactly what a plain count of every limit allows (random payments, organizations and limits)', () => {
    fc.assert(
      fc.property(
        fc.record({ maxPayments: fc.integer({ min: 1, max: 30 }), orgMaxPayments: fc.integer({ min: 1, max: 20 }) }),
        fc.integer({ min: 1, max: 40 }).map((k) => k * 1000),
        fc.integer({ min: 1, max: 20 }).map((k) => k * 1000),
        fc.array(fc.record({ org: fc.constantFrom('a', 'b', 'c'), description: fc.nat({ max: 1000 }) }), { maxLength: 60 }),
        (counts, maxBytes, orgMaxBytes, writes) => {
          const limits = { ...ROOMY, ...counts, maxBytes: maxBytes + 3 * NEW_ORGANIZATION_BYTES, orgMaxBytes: orgMaxBytes + NEW_ORGANIZATION_BYTES };
          const c = capacity(limits);
          const model = { payments: 0, bytes: 0, orgs: new Map<string, { payments: number; bytes: number }>() };
          writes.forEach(({ org, description }, i) => {
            const p = payment(`p${i}`, { organizationId: org, description: 'x'.repeat(description) });
            const usage = model.orgs.get(org) ?? { payments: 0, bytes: 0 };
            const bytes = paymentBytes(p) + (model.orgs.has(org) ? 0 : NEW_ORGANIZATION_BYTES);
            const fits =
              model.payments < limits.maxPayments &&
              model.bytes + bytes <= limits.maxBytes &&
              usage.payments < limits.orgMaxPayments &&
              usage.bytes + bytes <= limits.orgMaxBytes;
            let admitted = true;
            try {
              store(c, p);
            } catch {
              admitted = false;
            }
            expect(admitted).toBe(fits);
            if (!fits) return;
            model.payments += 1;
            model.bytes += bytes;
            model.orgs.set(org, { payments: usage.payments + 1, bytes: usage.bytes + bytes });
          });
          expect([c.payments, c.bytes]).toEqual([model.payments, model.bytes]);
          for (const [org, usage] of model.orgs) expect(c.usageOf(org)).toEqual(usage);
        },
      ),
      { seed: FC_SEED, numRuns: 200 },
    );
  });
});

describe('PaymentStore within its capacity', () => {
  const processed = { type: 'PaymentProcessed', occurredAt: NOW } as const;

  it('refuses a create past its organization\'s quota, changes nothing, and stores another organization\'s', () => {
    const s = new PaymentStore(new AppConfig({ maxPayments: 10, orgMaxPayments: 2 }));
    s.insertIfAbsent(payment('p1'));
    s.insertIfAbsent(payment('p2'));
    const before = { size: s.size, version: s.version, org: s.versionOf('org-a'), bytes: s.capacity.bytes };

    const error = refusal(() => s.insertIfAbsent(payment('p3')));

    expect(error.code).toBe('ORGANIZATION_QUOTA_EXCEEDED');
    expect({ size: s.size, version: s.version, org: s.versionOf('org-a'), bytes: s.capacity.bytes }).toEqual(before);
    expect(s.get('org-a', 'p3')).toBeUndefined();
    expect(s.countOf('org-a')).toBe(2);
    expect(s.insertIfAbsent(payment('p3', { organizationId: 'org-b' })).created).toBe(true);
  });

  it('answers a replay of a stored payment whatever the quotas and budgets', () => {
    const s = new PaymentStore(new AppConfig({ maxPayments: 2, orgMaxPayments: 1 }));
    const stored = payment('p1', { description: 'x'.repeat(1000) });
    s.insertIfAbsent(stored);
    s.insertIfAbsent(payment('p2', { organizationId: 'org-b' }));

    expect(s.insertIfAbsent(payment('p1', { description: 'x'.repeat(1000) }))).toEqual({ payment: stored, created: false });
  });

  it('refuses a create past MAX_STORE_BYTES with STORE_FULL', () => {
    const first = payment('p1', { description: 'x'.repeat(1000) });
    const budget = paymentBytes(first) + NEW_USER_BYTES + NEW_ORGANIZATION_BYTES;
    const s = new PaymentStore(new AppConfig({ maxStoreBytes: budget, orgMaxStoreBytes: budget }));
    s.insertIfAbsent(first);

    expect(refusal(() => s.insertIfAbsent(payment('p2'))).code).toBe('STORE_FULL');
    expect(s.size).toBe(1);
  });

  it('counts what it holds: payments per organization, and the estimates of payments, first-time users and organizations, event ids', () => {
    const rand = lcg(20);
    const s = new PaymentStore(new AppConfig());
    const expected = { bytes: 0, users: new Set<string>(), orgs: new Set<string>() };
    for (let i = 0; i < 300; i++) {
      const p = payment(`p${i}`, {
        organizationId: `org-${Math.floor(rand() * 5)}`,
        userId: `u${Math.floor(rand() * 40)}`,
        description: rand() < 0.5 ? null : 'd'.repeat(Math.floor(rand() * 300)),
      });
      if (rand() < 0.5) s.insertIfAbsent(p);
      else s.applyCommitted(p);
      let stored = p;
      expected.bytes += paymentBytes(p) + (expected.users.has(p.userId) ? 0 : NEW_USER_BYTES) + (expected.orgs.has(p.organizationId) ? 0 : NEW_ORGANIZATION_BYTES);
      expected.users.add(p.userId);
      expected.orgs.add(p.organizationId);
      if (rand() < 0.4) {
        const eventId = `e${i}`;
        stored = s.update(p.organizationId, p.paymentId, eventId, (current) => transition(current, processed, NOW))!.payment;
        expected.bytes += paymentBytes(stored) - paymentBytes(p) + eventIdBytes(eventId);
        s.update(p.organizationId, p.paymentId, eventId, (current) => current); // a redelivery keeps nothing more
      }
    }

    expect(s.capacity.bytes).toBe(expected.bytes);
    expect(s.capacity.payments).toBe(s.size);
    for (const org of expected.orgs) expect(s.capacity.usageOf(org).payments).toBe(s.countOf(org));
  });

  it('applies a committed payment past every limit (the database is the truth) and counts it', () => {
    const s = new PaymentStore(new AppConfig({ maxPayments: 1, orgMaxPayments: 1, maxStoreBytes: 1, orgMaxStoreBytes: 1 }));

    s.applyCommitted(payment('p1'));
    s.applyCommitted(payment('p2'));

    expect(s.size).toBe(2);
    expect(s.capacity.usageOf('org-a').payments).toBe(2);
    expect(() => s.insertIfAbsent(payment('p3'))).toThrow(StoreFullError);
  });

  it('admits a PostgreSQL batch as if its admitted creates were stored, and changes nothing until they are applied', () => {
    const s = new PaymentStore(new AppConfig({ maxPayments: 10, orgMaxPayments: 2 }));
    s.insertIfAbsent(payment('p1'));
    const admit = s.capacityBatch();

    admit(payment('p2'));

    expect(refusal(() => admit(payment('p3'))).code).toBe('ORGANIZATION_QUOTA_EXCEEDED');
    expect(s.size).toBe(1);
    expect(() => s.capacityBatch()(payment('p3'))).not.toThrow();
  });

  it('takes over a rebuilt store\'s accounting with its state (adopt)', () => {
    const s = new PaymentStore(new AppConfig({ orgMaxPayments: 2 }));
    s.insertIfAbsent(payment('p1'));
    s.insertIfAbsent(payment('p2'));
    const rebuilt = new PaymentStore(new AppConfig({ orgMaxPayments: 2 }));
    rebuilt.applyCommitted(payment('p1'));

    s.adopt(rebuilt);

    expect(s.capacity.usageOf('org-a').payments).toBe(1);
    expect(s.insertIfAbsent(payment('p9')).created).toBe(true);
  });
});

/** A small seeded generator, so a failure can be replayed. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
