import { DAY_MS } from '../store/daily-aggregates';
import { COUNT_ENTRY_COST, ROW_COST, SCAN_ENTRY_COST } from '../store/query-planner';
import { ANY_CODE, FilterParams } from '../store/row-filter';
import { AGGREGATE_DAY_COST, AGGREGATE_FIXED_COST, aggregateCountCost, cellsCountCost, walkBeatsScan, walkCost } from './search-cost';

const T0 = Date.UTC(2026, 2, 1);

/** Every payment of any organization: no condition but the ones a case sets. */
function params(overrides: Partial<FilterParams> = {}): FilterParams {
  return {
    org: ANY_CODE,
    user: ANY_CODE,
    statusMask: 0b1111,
    currencies: undefined,
    minAmount: -Infinity,
    maxAmount: Infinity,
    from: -Infinity,
    to: Infinity,
    ...overrides,
  };
}

describe('the search cost model', () => {
  describe('cellsCountCost', () => {
    it('costs one counted entry per entry of the selected cells', () => {
      expect(cellsCountCost(0)).toBe(0);
      expect(cellsCountCost(40_000)).toBe(40_000 * COUNT_ENTRY_COST);
    });
  });

  describe('aggregateCountCost', () => {
    const window = { from: T0, to: T0 + 10 * DAY_MS };

    it('costs the fixed part, each day of the window, and the ragged ends: about a day of the window at ROW_COST a payment', () => {
      expect(aggregateCountCost(params(window), 10_000, true)).toBe(AGGREGATE_FIXED_COST + AGGREGATE_DAY_COST * 10 + ROW_COST * 1_000);
    });

    it('reads at most the whole window at random when it is shorter than a day', () => {
      const sixHours = { from: T0, to: T0 + DAY_MS / 4 };
      expect(aggregateCountCost(params(sixHours), 300, true)).toBe(AGGREGATE_FIXED_COST + AGGREGATE_DAY_COST / 4 + ROW_COST * 300);
    });

    it('grows with the window: a longer one costs more days, never fewer', () => {
      const costs = [1, 2, 10, 100, 1_000].map((days) => aggregateCountCost(params({ from: T0, to: T0 + days * DAY_MS }), 0, true));
      expect(costs).toEqual([...costs].sort((a, b) => a - b));
      expect(new Set(costs).size).toBe(costs.length);
    });

    it.each([
      ['a minimum amount', { minAmount: 100 }],
      ['a maximum amount', { maxAmount: 100 }],
      ['no start', { from: -Infinity }],
      ['no end', { to: Infinity }],
      ['an empty window', { to: T0 }],
    ])('is Infinity where the aggregates cannot count: %s', (_name, overrides) => {
      expect(aggregateCountCost(params({ ...window, ...overrides }), 10_000, true)).toBe(Infinity);
    });

    it('is Infinity once the aggregates are no longer exact (a sum past 2^53)', () => {
      expect(aggregateCountCost(params(window), 10_000, false)).toBe(Infinity);
    });
  });

  describe('walkCost', () => {
    it('costs the count, then (size + 1) x span / matches walked rows at ROW_COST each', () => {
      expect(walkCost(0, 25, 1_000, 100)).toBe(ROW_COST * 26 * 10);
      expect(walkCost(5_000, 25, 1_000, 100)).toBe(5_000 + ROW_COST * 26 * 10);
    });

    it('falls as the matches grow denser over the span, and grows with the page', () => {
      expect(walkCost(0, 25, 10_000, 5_000)).toBeLessThan(walkCost(0, 25, 10_000, 50));
      expect(walkCost(0, 100, 10_000, 50)).toBeGreaterThan(walkCost(0, 25, 10_000, 50));
    });
  });

  describe('walkBeatsScan', () => {
    it('takes the walk only when it is strictly cheaper than the scan: a tie scans', () => {
      expect(walkBeatsScan(99, 100)).toBe(true);
      expect(walkBeatsScan(100, 100)).toBe(false);
      expect(walkBeatsScan(Infinity, 100)).toBe(false);
    });

    it('walks a first page of a dense filter over a large store, and scans a sparse one', () => {
      // 1M entries scanned (the planner's cost) beside a page of 25 walked
      const scan = SCAN_ENTRY_COST * 1_000_000;
      expect(walkBeatsScan(walkCost(0, 25, 1_000_000, 500_000), scan)).toBe(true);
      expect(walkBeatsScan(walkCost(0, 25, 1_000_000, 100), scan)).toBe(false);
    });
  });
});
