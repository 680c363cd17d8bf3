/**
 * Keeps the k first rows in (key, tie) order, for "one page of a sorted result" without
 * sorting every match: O(1) to reject a row that sorts after the worst kept (one number
 * compare, no lookup), O(log k) to keep one. `tie` orders rows with equal keys (paymentId).
 * The heap is a max-heap on that order: its root is the worst row kept.
 */
export class TopK {
  // plain arrays: a page's heap is small and short-lived, cheaper to make than typed arrays
  readonly #keys: number[] = [];
  readonly #rows: number[] = [];
  #size = 0;
  readonly #sign: number;

  constructor(
    private readonly k: number,
    readonly descending: boolean,
    private readonly tie: (rowA: number, rowB: number) => number,
  ) {
    this.#sign = descending ? -1 : 1;
  }

  /**
   * The key a row needs to be kept: any while fewer than k are kept, else that of the worst
   * kept (a row with exactly this key is kept only if its tie sorts first). For tight loops
   * that test many keys before offering the few that can enter.
   */
  get bound(): number {
    return this.#size < this.k ? this.#sign * Infinity : this.#keys[0];
  }

  offer(key: number, row: number): void {
    if (this.k <= 0) return;
    if (this.#size < this.k) {
      this.#keys[this.#size] = key;
      this.#rows[this.#size] = row;
      this.#up(this.#size++);
    } else if (this.#cmp(key, row, this.#keys[0], this.#rows[0]) < 0) {
      this.#keys[0] = key;
      this.#rows[0] = row;
      this.#down(0);
    }
  }

  /** The rows kept, first first. Empties the heap: the worst kept is popped first. */
  sorted(): number[] {
    const out = new Array<number>(this.#size);
    while (this.#size > 0) {
      out[this.#size - 1] = this.#rows[0];
      this.#size--;
      if (this.#size > 0) {
        this.#keys[0] = this.#keys[this.#size];
        this.#rows[0] = this.#rows[this.#size];
        this.#down(0);
      }
    }
    return out;
  }

  #cmp(ka: number, ra: number, kb: number, rb: number): number {
    if (ka !== kb) return this.#sign * (ka - kb);
    return ra === rb ? 0 : this.tie(ra, rb);
  }

  #swap(i: number, j: number): void {
    const k = this.#keys[i];
    this.#keys[i] = this.#keys[j];
    this.#keys[j] = k;
    const r = this.#rows[i];
    this.#rows[i] = this.#rows[j];
    this.#rows[j] = r;
  }

  #up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.#cmp(this.#keys[i], this.#rows[i], this.#keys[parent], this.#rows[parent]) <= 0) return;
      this.#swap(i, parent);
      i = parent;
    }
  }

  #down(i: number): void {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let worst = i;
      if (l < this.#size && this.#cmp(this.#keys[l], this.#rows[l], this.#keys[worst], this.#rows[worst]) > 0) worst = l;
      if (r < this.#size && this.#cmp(this.#keys[r], this.#rows[r], this.#keys[worst], this.#rows[worst]) > 0) worst = r;
      if (worst === i) return;
      this.#swap(i, worst);
      i = worst;
    }
  }
}
