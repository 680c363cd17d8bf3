export const DAY_MS = 86_400_000;
/** Per currency slot: count, amount, refunded for each of the 4 statuses. */
const PER_CURRENCY = 12;

/** One organization's (or everyone's) day -> totals per status and currency. */
type Days = Map<number, Float64Array>;

/**
 * Pre-aggregated stats per organization x UTC day x status x currency (count, amount sum,
 * refunded sum), plus the same over all organizations, kept by every write (O(1) each). A stats
 * query over whole days then costs O(days x currencies) instead of O(payments).
 *
 * Sums are doubles, exact while every cell stays at or below 2^53 - 1; a cell past it marks the
 * aggregates inexact and readers fall back to scanning payments (a day's total in one org,
 * status and currency would need over 90,000 payments of the maximum amount).
 */
export class DailyAggregates {
  readonly #byOrg = new Map<number, Days>();
  readonly #all: Days = new Map();
  #exact = true;

  static dayOf(ms: number): number {
    return Math.floor(ms / DAY_MS);
  }

  get exact(): boolean {
    return this.#exact;
  }

  /** Adds (sign 1) or removes (sign -1) one payment's contribution. */
  apply(sign: 1 | -1, org: number, createdAtMs: number, status: number, currency: number, amount: number, refunded: number): void {
    const day = DailyAggregates.dayOf(createdAtMs);
    let days = this.#byOrg.get(org);
    if (days === undefined) {
      days = new Map();
      this.#byOrg.set(org, days);
    }
    this.#applyTo(days, day, sign, status, currency, amount, refunded);
    this.#applyTo(this.#all, day, sign, status, currency, amount, refunded);
  }

  /**
   * Visits every non-empty cell of days in [fromDay, toDay) for one organization (or all, with
   * org undefined): visit(dayStartMs, status, currency, count, amount, refunded).
   */
  forEachCell(
    org: number | undefined,
    fromDay: number,
    toDay: number,
    visit: (dayStartMs: number, status: number, currency: number, count: number, amount: number, refunded: number) => void,
  ): void {
    const days = org === undefined ? this.#all : this.#byOrg.get(org);
    if (days === undefined) return;
    const visitDay = (day: number, cells: Float64Array) => {
      for (let c = 0; c < cells.length / PER_CURRENCY; c++) {
        for (let s = 0; s < 4; s++) {
          const i = c * PER_CURRENCY + s * 3;
          if (cells[i] !== 0) visit(day * DAY_MS, s, c, cells[i], cells[i + 1], cells[i + 2]);
        }
      }
    };
    if (toDay - fromDay <= days.size) {
      for (let day = fromDay; day < toDay; day++) {
        const cells = days.get(day);
        if (cells !== undefined) visitDay(day, cells);
      }
    } else {
      for (const [day, cells] of days) if (day >= fromDay && day < toDay) visitDay(day, cells);
    }
  }

  #applyTo(days: Days, day: number, sign: 1 | -1, status: number, currency: number, amount: number, refunded: number): void {
    let cells = days.get(day);
    const needed = (currency + 1) * PER_CURRENCY;
    if (cells === undefined || cells.length < needed) {
      const grown = new Float64Array(Math.max(needed, (cells?.length ?? 0) * 2));
      if (cells) grown.set(cells);
      cells = grown;
      days.set(day, cells);
    }
    const i = currency * PER_CURRENCY + status * 3;
    cells[i] += sign;
    cells[i + 1] += sign * amount;
    cells[i + 2] += sign * refunded;
    if (cells[i + 1] > Number.MAX_SAFE_INTEGER || cells[i + 2] > Number.MAX_SAFE_INTEGER) this.#exact = false;
  }
}
