/** Read-only view of a value -> row ids index, as the query side sees it. */
export interface HashIndexView<K> {
  /** Row ids holding `key`, or undefined when none does. Never mutate the returned set. */
  get(key: K): ReadonlySet<number> | undefined;
  count(key: K): number;
  /** Visits every row id holding `key` (the scan path: no iterator per row). */
  forEachRow(key: K, visit: (row: number) => void): void;
  readonly distinctValues: number;
}
