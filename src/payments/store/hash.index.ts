/** Read-only view of a value -> row ids index, as the query side sees it. */
export interface HashIndexView<K> {
  /** Row ids holding `key`, or undefined when none does. Never mutate the returned set. */
  get(key: K): ReadonlySet<number> | undefined;
  count(key: K): number;
  /** Visits every row id holding `key` (the scan path: no iterator per row). */
  forEachRow(key: K, visit: (row: number) => void): void;
  readonly distinctValues: number;
}

/**
 * Equality index: value -> set of row ids. Invariant (kept by PaymentStore): every stored row
 * is in exactly one set, the one of its current value; no set is ever empty.
 * add/remove O(1).
 */
export class HashIndex<K> implements HashIndexView<K> {
  readonly #sets = new Map<K, Set<number>>();

  add(key: K, rowId: number): void {
    let set = this.#sets.get(key);
    if (set === undefined) {
      set = new Set();
      this.#sets.set(key, set);
    }
    set.add(rowId);
  }

  remove(key: K, rowId: number): void {
    const set = this.#sets.get(key);
    if (set === undefined) return;
    set.delete(rowId);
    if (set.size === 0) this.#sets.delete(key);
  }

  get(key: K): ReadonlySet<number> | undefined {
    return this.#sets.get(key);
  }

  count(key: K): number {
    return this.#sets.get(key)?.size ?? 0;
  }

  forEachRow(key: K, visit: (row: number) => void): void {
    this.#sets.get(key)?.forEach((row) => visit(row));
  }

  get distinctValues(): number {
    return this.#sets.size;
  }

  clear(): void {
    this.#sets.clear();
  }
}
