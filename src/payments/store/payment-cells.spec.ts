import { AppConfig } from '../../config';
import { createPayment, PAYMENT_STATUSES, PaymentEvent, transition } from '../payment';
import { Cell, cellRuns, PaymentCells } from './payment-cells';
import { StatsAccumulator, StatsFold } from './stats';
import { TopK } from './top-k';
import { PaymentStore } from './payment.store';
import { matchesFilter, PaymentFilter } from '../payment-filter';
import { filterParams } from './row-filter';

function lcg(seed: number) {
  return () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

const ORGS = ['o1', 'o2', 'o3', 'o4'];
const USERS = ['u1', 'u2', 'u3'];
const CURRENCIES = ['EUR', 'USD', 'JPY'];
const DAY = Date.parse('2026-03-01T00:00:00Z');
const NOW = '2026-03-20T00:00:00.000Z';

/** A store after random creates and random transitions (processed, failed, partial and full refunds). */
function randomStore(seed: number, n: number): { store: PaymentStore; rnd: () => number } {
  const rnd = lcg(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
  const store = new PaymentStore(new AppConfig());
  for (let i = 0; i < n; i++) {
    store.insertIfAbsent(
      createPayment(
        {
          organizationId: pick(ORGS),
          userId: pick(USERS),
          amount: 1 + Math.floor(rnd() * 1000),
          currency: pick(CURRENCIES),
          createdAt: new Date(DAY + Math.floor(rnd() * 10 * 86_400_000)).toISOString(),
        },
        `p${i}`,
        NOW,
      ),
    );
    // several events per step, on any payment so far: rows move between cells many times
    for (let k = 0; k < 2; k++) {
      if (rnd() < 0.6) {
        const id = `p${Math.floor(rnd() * (i + 1))}`;
        const events: PaymentEvent[] = [
          { type: 'PaymentProcessed', occurredAt: NOW },
          { type: 'PaymentFailed', occurredAt: NOW, error: 'declined' },
          { type: 'PaymentRefunded', occurredAt: NOW, refundAmount: 1 + Math.floor(rnd() * 5) },
          { type: 'PaymentRefunded', occurredAt: NOW },
        ];
        try {
          store.update(ownerOf(store, id), id, undefined, (c) => transition(c, pick(events), NOW));
        } catch {
          // a refused transition changes nothing
        }
      }
    }
  }
  return { store, rnd };
}

function randomFilter(rnd: () => number): PaymentFilter {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
  const f: PaymentFilter = {};
  if (rnd() < 0.5) f.organizationId = pick([...ORGS, 'nobody']);
  if (rnd() < 0.3) f.userId = pick(USERS);
  if (rnd() < 0.4) f.statuses = PAYMENT_STATUSES.filter(() => rnd() < 0.5);
  if (rnd() < 0.4) f.currencies = CURRENCIES.filter(() => rnd() < 0.5).concat(rnd() < 0.2 ? ['GBP'] : []);
  if (rnd() < 0.4) f.minAmount = Math.floor(rnd() * 800);
  if (rnd() < 0.4) f.maxAmount = Math.floor(rnd() * 1000);
  if (rnd() < 0.4) f.from = new Date(DAY + Math.floor(rnd() * 5) * 86_400_000).toISOString();
  if (rnd() < 0.4) f.to = new Date(DAY + Math.floor(5 + rnd() * 6) * 86_400_000).toISOString();
  return f;
}

describe('PaymentCells (through the store that keeps them)', () => {
  const { store, rnd } = randomStore(7, 1500);
  const cells = store.cells;

  it('holds every row once, in the cell of its organization, current status and currency, with its values', () => {
    const seen = new Set<number>();
    for (const cell of cells.cells) {
      for (let i = 0; i < cell.length; i++) {
        const row = cell.rows[i];
        expect(seen.has(row)).toBe(false);
        seen.add(row);
        const p = store.row(row);
        expect([store.dictionaries.organization.value(cell.org), PAYMENT_STATUSES[cell.status], store.dictionaries.currency.value(cell.currency)]).toEqual([
          p.organizationId,
          p.status,
          p.currency,
        ]);
        expect([cell.amount[i], cell.createdAt[i], cell.refundedAmountAt(i)]).toEqual([p.amount, Date.parse(p.createdAt), p.refundedAmount]);
        expect(cells.cellOf(row)).toBe(cell);
        expect(cells.slotOf(row)).toBe(i);
        expect(store.dictionaries.user.value(cells.user(row))).toBe(p.userId);
      }
    }
    expect(seen.size).toBe(store.size);
    // the test moved rows: some payments are refunded (partly or fully), some failed
    const statuses = new Set(Array.from({ length: store.size }, (_, r) => store.row(r).status));
    expect(statuses).toEqual(new Set(PAYMENT_STATUSES));
    for (const org of ORGS) {
      expect(store.countOf(org)).toBe(Array.from({ length: store.size }, (_, r) => store.row(r)).filter((p) => p.organizationId === org).length);
    }
  });

  it('select + scan, count and predicate pick exactly the rows matchesFilter picks on the payment objects', () => {
    for (let round = 0; round < 300; round++) {
      const f = randomFilter(rnd);
      const expected = Array.from({ length: store.size }, (_, row) => row).filter((row) => matchesFilter(store.row(row), f));
      const params = filterParams(f, store.dictionaries);
      if (params === null) {
        expect(expected).toEqual([]);
        continue;
      }
      const scanned: number[] = [];
      const selected = cells.select(params);
      cells.scan(cellRuns(selected), params, (cell: Cell, i: number) => scanned.push(cell.rows[i]));
      expect(scanned.sort((a, b) => a - b)).toEqual(expected);
      expect(cells.count(cellRuns(selected), params)).toBe(expected.length);
      const match = cells.predicate(params);
      expect(Array.from({ length: store.size }, (_, row) => row).filter(match)).toEqual(expected);
      // the selected cells' sizes are the exact number of org x status x currency candidates
      const candidates = Array.from({ length: store.size }, (_, row) => store.row(row)).filter((p) =>
        matchesFilter(p, { organizationId: f.organizationId, statuses: f.statuses, currencies: f.currencies }),
      ).length;
      expect(selected.reduce((n, c) => n + c.length, 0)).toBe(candidates);
    }
  });

  it('cuts cells into runs that cover every slot once, in slot order or each cell backward', () => {
    const selected = cells.select(filterParams({}, store.dictionaries)!);
    for (const max of [1, 7, 64, Infinity]) {
      for (const backward of [false, true]) {
        const runs = cellRuns(selected, max, backward);
        const slots = runs.flatMap((r) => Array.from({ length: r.end - r.start }, (_, i) => `${r.cell.id}:${r.start + i}`));
        const all = selected.flatMap((c) => Array.from({ length: c.length }, (_, i) => `${c.id}:${i}`));
        expect(slots.sort()).toEqual(all.sort());
        for (const r of runs) expect(r.end - r.start).toBeGreaterThanOrEqual(1);
        for (const r of runs) expect(r.end - r.start).toBeLessThanOrEqual(max);
        // a cell's runs are together, in slot order (or the reverse)
        const firstRun = runs.filter((r) => r.cell === runs[0].cell);
        const starts = firstRun.map((r) => r.start);
        expect(starts).toEqual([...starts].sort((a, b) => (backward ? b - a : a - b)));
        expect(runs.indexOf(firstRun[firstRun.length - 1])).toBe(firstRun.length - 1);
      }
    }
  });

  it('folds into the same stats as a scan adding each entry, whatever the runs (series and user filters too)', () => {
    const currencyOf = (code: number) => store.dictionaries.currency.value(code);
    for (let round = 0; round < 150; round++) {
      const f = randomFilter(rnd);
      const params = filterParams(f, store.dictionaries);
      if (params === null) continue;
      const series =
        round % 3 === 0 ? undefined : { fromMs: DAY + Math.floor(rnd() * 3) * 86_400_000 + 3_600_000, toMs: DAY + Math.floor(4 + rnd() * 6) * 86_400_000, interval: round % 3 === 1 ? ('hour' as const) : ('day' as const) };
      const reference = new StatsAccumulator(series);
      const selected = cells.select(params);
      cells.scan(cellRuns(selected), params, (cell, i) =>
        reference.addTo(cell.status, reference.totalsOf(currencyOf(cell.currency)), 1, cell.amount[i], cell.refundedAmountAt(i), cell.createdAt[i]),
      );
      const fold = new StatsFold(store.dictionaries.currency.size, series);
      cells.fold(cellRuns(selected, 1 + Math.floor(rnd() * 40)), params, fold);
      expect(fold.exact).toBe(true);
      const acc = new StatsAccumulator(series);
      fold.addTo(acc, currencyOf);
      expect({ round, stats: acc.result() }).toEqual({ round, stats: reference.result() });
    }
  });

  it('counts, scans and pages the same over runs of any size as over whole cells', () => {
    const params = filterParams({ minAmount: 200, maxAmount: 800 }, store.dictionaries)!;
    const selected = cells.select(params);
    const whole = cells.count(cellRuns(selected), params);
    expect(whole).toBeGreaterThan(100);
    for (const max of [1, 13, 500]) {
      expect(cells.count(cellRuns(selected, max), params)).toBe(whole);
      let scanned = 0;
      cells.scan(cellRuns(selected, max), params, () => scanned++);
      expect(scanned).toBe(whole);
    }
  });

  it('resolves to null the values no row ever held, so a scan stops before it starts', () => {
    expect(filterParams({ organizationId: 'nobody' }, store.dictionaries)).toBeNull();
    expect(filterParams({ currencies: ['GBP'] }, store.dictionaries)).toBeNull();
    expect(filterParams({ currencies: ['GBP', 'EUR'] }, store.dictionaries)).not.toBeNull();
  });
});

describe('PaymentCells.reserve', () => {
  it('keeps every row where add put it, rows within the room reserved and past it', () => {
    const cells = new PaymentCells();
    cells.reserve(5);
    cells.reserve(3); // smaller: nothing to do
    for (let row = 0; row < 12; row++) cells.add(row, row % 2, 100 + row, row % 4, row % 3, 1_000 + row, 2_000 + row, 0);
    for (let row = 0; row < 12; row++) {
      expect([cells.amount(row), cells.createdAt(row), cells.user(row)]).toEqual([1_000 + row, 2_000 + row, 100 + row]);
      expect([cells.cellOf(row).org, cells.cellOf(row).status, cells.cellOf(row).currency]).toEqual([row % 2, row % 4, row % 3]);
    }
    cells.reserve(100);
    expect(cells.amount(11)).toBe(1_011);
    expect(cells.size).toBe(12);
  });
});

describe('PaymentCells.scanPage over payments created in time order (as live traffic is)', () => {
  // one cell (o1, pending, EUR): slots in insertion order, createdAt rising
  const store = new PaymentStore(new AppConfig());
  const N = 5000;
  for (let i = 0; i < N; i++) {
    const createdAt = new Date(DAY + i * 60_000).toISOString();
    store.insertIfAbsent(createPayment({ organizationId: 'o1', userId: 'u1', amount: 1 + (i % 1000), currency: 'EUR', createdAt }, `p${i}`, createdAt));
  }
  const params = filterParams({ organizationId: 'o1', minAmount: 100 }, store.dictionaries)!;
  const selected = store.cells.select(params);
  const idOf = (row: number) => store.row(row).paymentId;
  const matches = Array.from({ length: N }, (_, row) => row).filter((row) => store.row(row).amount >= 100);

  /** The page's rows and how many rows the page's heap took in (each a heap update). */
  function page(sort: 'createdAt' | '-createdAt' | 'amount' | '-amount') {
    const top = new TopK(20, sort.startsWith('-'), (a, b) => (idOf(a) < idOf(b) ? -1 : idOf(a) > idOf(b) ? 1 : 0));
    let kept = 0;
    const offer = top.offer.bind(top);
    const before = (key: number) => (top.descending ? key > top.bound : key < top.bound);
    top.offer = (key, row) => {
      if (before(key)) kept++;
      offer(key, row);
    };
    const total = store.cells.scanPage(cellRuns(selected, Infinity, !sort.endsWith('amount') && sort.startsWith('-')), params, sort.endsWith('amount'), top, undefined, idOf);
    return { total, rows: top.sorted(), kept };
  }

  it('fills a newest-first page from the end of the cell: about one heap update per row of the page', () => {
    const { total, rows, kept } = page('-createdAt');
    expect(total).toBe(matches.length);
    expect(rows).toEqual(matches.slice(-20).reverse());
    // read forward, each of the ~4,500 matches would beat the worst row kept
    expect(kept).toBeLessThanOrEqual(40);
  });

  it('fills an oldest-first page from the start of the cell', () => {
    const { total, rows, kept } = page('createdAt');
    expect(total).toBe(matches.length);
    expect(rows).toEqual(matches.slice(0, 20));
    expect(kept).toBeLessThanOrEqual(40);
  });

  it('answers amount sorts whatever the order of the slots', () => {
    const byAmount = [...matches].sort((a, b) => store.row(a).amount - store.row(b).amount || (idOf(a) < idOf(b) ? -1 : 1));
    expect(page('amount').rows).toEqual(byAmount.slice(0, 20));
    const desc = [...matches].sort((a, b) => store.row(b).amount - store.row(a).amount || (idOf(a) < idOf(b) ? -1 : 1));
    expect(page('-amount').rows).toEqual(desc.slice(0, 20));
  });
});

/** The organization of the only payment `paymentId` in `store` ('' when there is none). */
function ownerOf(store: PaymentStore, paymentId: string): string {
  return store.resolve(paymentId, undefined)?.organizationId ?? '';
}
