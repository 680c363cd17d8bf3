import { Payment, PAYMENT_STATUS_COUNT, PAYMENT_STATUSES, PaymentStatus } from '../payment';
import { timeMs } from '../../iso-time';
import { bucketCount, bucketStarts, Interval, INTERVAL_MS, PaymentStats } from '../payment-query';

/** An integer sum that never rounds: a number while safe, a bigint past 2^53 - 1. */
export class ExactSum {
  #small = 0;
  #big: bigint | null = null;

  add(x: number): void {
    if (this.#big !== null) {
      this.#big += BigInt(x);
      return;
    }
    const s = this.#small + x;
    if (s > Number.MAX_SAFE_INTEGER) this.#big = BigInt(this.#small) + BigInt(x);
    else this.#small = s;
  }

  /** A JSON-safe value: a number, or a string of digits past Number.MAX_SAFE_INTEGER. */
  toJSON(): number | string {
    if (this.#big === null) return this.#small;
    // back within range after a subtraction: a number again, as if it had never left
    return this.#big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(this.#big) : this.#big.toString();
  }
}

/** One currency's running totals in a StatsAccumulator (see StatsAccumulator.totalsOf). */
export class CurrencyTotals {
  count = 0;
  readonly amount = new ExactSum();
  readonly refunded = new ExactSum();

  constructor(readonly currency: string) {}
}

const STATUS_INDEX: Record<PaymentStatus, number> = Object.fromEntries(PAYMENT_STATUSES.map((s, i) => [s, i])) as Record<
  PaymentStatus,
  number
>;

/**
 * Folds payments into the stats document. Money is summed per currency only, exactly.
 * O(1) per payment; the series adds one bucket lookup per payment. A group may be taken out
 * again (negative count and sums: a pre-aggregated day minus the payments outside the window);
 * a currency whose count ends at zero is not listed.
 */
export class StatsAccumulator {
  #total = 0;
  /** Counts by index in PAYMENT_STATUSES. */
  readonly #byStatus = [0, 0, 0, 0];
  readonly #byCurrency = new Map<string, CurrencyTotals>();
  readonly #series?: { starts: number[]; step: number; first: number; buckets: { total: number; amounts: Map<string, ExactSum> }[] };

  constructor(series?: { fromMs: number; toMs: number; interval: Interval }) {
    if (series) {
      const starts = bucketStarts(series.fromMs, series.toMs, series.interval);
      this.#series = {
        starts,
        step: INTERVAL_MS[series.interval],
        first: starts[0] ?? 0,
        buckets: starts.map(() => ({ total: 0, amounts: new Map() })),
      };
    }
  }

  add(p: Payment): void {
    this.addValues(p.status, p.currency, p.amount, p.refundedAmount, timeMs(p.createdAt));
  }

  /** The same as add(), from column values (the reader's scan never builds objects). */
  addValues(status: PaymentStatus, currency: string, amount: number, refundedAmount: number, createdAtMs: number): void {
    this.addGroup(status, currency, 1, amount, refundedAmount, createdAtMs);
  }

  /**
   * `count` payments at once, with their summed amounts (a pre-aggregated cell); `atMs` must
   * fall in the series bucket they belong to (a day cell only feeds day buckets).
   */
  addGroup(status: PaymentStatus, currency: string, count: number, amount: number, refundedAmount: number, atMs: number): void {
    this.addTo(STATUS_INDEX[status], this.totalsOf(currency), count, amount, refundedAmount, atMs);
  }

  /** The running totals of one currency: a caller adding many groups resolves each currency once. */
  totalsOf(currency: string): CurrencyTotals {
    let c = this.#byCurrency.get(currency);
    if (c === undefined) {
      c = new CurrencyTotals(currency);
      this.#byCurrency.set(currency, c);
    }
    return c;
  }

  /**
   * Groups summed elsewhere (a StatsFold): `count` payments of one status and currency into the
   * totals only, their buckets apart with addToBucket().
   */
  addTotals(status: number, totals: CurrencyTotals, count: number, amount: number, refundedAmount: number): void {
    this.#total += count;
    this.#byStatus[status] += count;
    totals.count += count;
    totals.amount.add(amount);
    totals.refunded.add(refundedAmount);
  }

  /** `count` payments of one currency, with their summed amount, into series bucket `index`. */
  addToBucket(index: number, currency: string, count: number, amount: number): void {
    const b = this.#series?.buckets[index];
    if (b === undefined) return;
    b.total += count;
    let sum = b.amounts.get(currency);
    if (sum === undefined) {
      sum = new ExactSum();
      b.amounts.set(currency, sum);
    }
    sum.add(amount);
  }

  /** addGroup() with the status as its index in PAYMENT_STATUSES and the currency's totals. */
  addTo(status: number, totals: CurrencyTotals, count: number, amount: number, refundedAmount: number, atMs: number): void {
    this.#total += count;
    this.#byStatus[status] += count;
    totals.count += count;
    totals.amount.add(amount);
    totals.refunded.add(refundedAmount);
    if (this.#series) {
      const s = this.#series;
      const b = s.buckets[Math.floor((atMs - s.first) / s.step)];
      if (b === undefined) return; // outside [from, to): the caller's filter excludes it anyway
      b.total += count;
      let sum = b.amounts.get(totals.currency);
      if (sum === undefined) {
        sum = new ExactSum();
        b.amounts.set(totals.currency, sum);
      }
      sum.add(amount);
    }
  }

  result(): PaymentStats {
    const currencies: CurrencyTotals[] = [];
    for (const c of this.#byCurrency.values()) if (c.count !== 0) currencies.push(c);
    currencies.sort((a, b) => (a.currency < b.currency ? -1 : a.currency > b.currency ? 1 : 0));
    const byStatus = {} as Record<PaymentStatus, number>;
    for (let i = 0; i < PAYMENT_STATUS_COUNT; i++) byStatus[PAYMENT_STATUSES[i]] = this.#byStatus[i];
    const byCurrency: Record<string, number> = {};
    const amountByCurrency: Record<string, number | string> = {};
    const refundedAmountByCurrency: Record<string, number | string> = {};
    for (const c of currencies) {
      byCurrency[c.currency] = c.count;
      amountByCurrency[c.currency] = c.amount.toJSON();
      refundedAmountByCurrency[c.currency] = c.refunded.toJSON();
    }
    const stats: PaymentStats = { total: this.#total, byStatus, byCurrency, amountByCurrency, refundedAmountByCurrency };
    if (this.#series) {
      const s = this.#series;
      stats.series = s.starts.map((start, i) => ({
        start: new Date(start).toISOString(),
        total: s.buckets[i].total,
        amountByCurrency: Object.fromEntries(
          [...s.buckets[i].amounts.keys()].sort().map((k) => [k, s.buckets[i].amounts.get(k)!.toJSON()]),
        ),
      }));
    }
    return stats;
  }
}

/**
 * Counts and sums of many payments by currency code x status, and per series bucket by bucket x
 * currency code, in Float64Arrays: a scan (PaymentCells.fold) adds to them without a call or
 * an allocation per payment, and addTo() hands them to a StatsAccumulator once at the end.
 *
 * A float sum of integers is exact while it stays at or below Number.MAX_SAFE_INTEGER, and
 * amounts and refunds are never negative, so no partial sum is larger than its total: the
 * sums are exact when every total is (`exact`). Past that (a sum over 90,000 payments of the
 * largest amount) the caller folds into exact sums instead.
 */
export class StatsFold {
  /** By currency code x PAYMENT_STATUS_COUNT + status index. */
  readonly count: Float64Array;
  readonly amount: Float64Array;
  readonly refunded: Float64Array;
  /** By bucket x currencies + currency code; undefined without a series. */
  readonly bucketCount: Float64Array | undefined;
  readonly bucketAmount: Float64Array | undefined;
  readonly firstBucketMs: number;
  readonly bucketMs: number;

  /** `currencies`: one more than the largest currency code that can be added. */
  constructor(
    readonly currencies: number,
    series?: { fromMs: number; toMs: number; interval: Interval },
  ) {
    this.count = new Float64Array(currencies * PAYMENT_STATUS_COUNT);
    this.amount = new Float64Array(currencies * PAYMENT_STATUS_COUNT);
    this.refunded = new Float64Array(currencies * PAYMENT_STATUS_COUNT);
    this.bucketMs = series === undefined ? 1 : INTERVAL_MS[series.interval];
    this.firstBucketMs = series === undefined ? 0 : Math.floor(series.fromMs / this.bucketMs) * this.bucketMs;
    const buckets = series === undefined ? 0 : bucketCount(series.fromMs, series.toMs, series.interval);
    this.bucketCount = series === undefined ? undefined : new Float64Array(buckets * currencies);
    this.bucketAmount = series === undefined ? undefined : new Float64Array(buckets * currencies);
  }

  /** `count` payments of one status and currency (their buckets are added by the caller). */
  add(status: number, currency: number, count: number, amount: number, refunded: number): void {
    const k = currency * PAYMENT_STATUS_COUNT + status;
    this.count[k] += count;
    this.amount[k] += amount;
    this.refunded[k] += refunded;
  }

  /** One payment, bucket included: for payments read one by one (through another index). */
  addOne(status: number, currency: number, amount: number, refunded: number, createdAtMs: number): void {
    this.add(status, currency, 1, amount, refunded);
    if (this.bucketCount === undefined) return;
    const b = Math.floor((createdAtMs - this.firstBucketMs) / this.bucketMs);
    if (b >= 0 && b < this.bucketCount.length / this.currencies) {
      this.bucketCount[b * this.currencies + currency]++;
      this.bucketAmount![b * this.currencies + currency] += amount;
    }
  }

  /** True while every sum is at or below Number.MAX_SAFE_INTEGER (each is then exact). */
  get exact(): boolean {
    const safe = (xs: Float64Array | undefined) => xs === undefined || xs.every((x) => x <= Number.MAX_SAFE_INTEGER);
    return safe(this.amount) && safe(this.refunded) && safe(this.bucketAmount);
  }

  /** Adds everything folded to `acc`; `currencyOf` names a currency code. */
  addTo(acc: StatsAccumulator, currencyOf: (code: number) => string): void {
    const statuses = PAYMENT_STATUS_COUNT;
    for (let currency = 0; currency < this.currencies; currency++) {
      let totals: CurrencyTotals | undefined;
      for (let s = 0; s < statuses; s++) {
        const k = currency * statuses + s;
        if (this.count[k] === 0) continue;
        totals ??= acc.totalsOf(currencyOf(currency));
        acc.addTotals(s, totals, this.count[k], this.amount[k], this.refunded[k]);
      }
    }
    const counts = this.bucketCount;
    if (counts === undefined) return;
    for (let k = 0; k < counts.length; k++) {
      if (counts[k] !== 0) acc.addToBucket(Math.floor(k / this.currencies), currencyOf(k % this.currencies), counts[k], this.bucketAmount![k]);
    }
  }
}
