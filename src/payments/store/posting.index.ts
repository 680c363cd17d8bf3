import { HashIndexView } from './hash.index';

/**
 * Equality index for a field that never changes after insert: value -> the row ids holding it,
 * appended in increasing order to a growable Int32Array. The store keeps one, for userId (by
 * the user's dictionary code); organizationId and currency are PaymentCells' groups. 4 bytes
 * per row, O(1) amortised add, and scans are tight loops over typed memory in row order.
 * Invariant (kept by PaymentStore): every row is in the list of its value exactly once; rows
 * are never removed.
 */
export class PostingIndex<K> implements HashIndexView<K> {
  readonly #lists = new Map<K, { rows: Int32Array; length: number }>();

  add(key: K, row: number): void {
    let list = this.#lists.get(key);
    if (list === undefined) {
      list = { rows: new Int32Array(8), length: 0 };
      this.#lists.set(key, list);
    }
    if (list.length === list.rows.length) {
      const grown = new Int32Array(Math.ceil(list.rows.length * 1.5));
      grown.set(list.rows);
      list.rows = grown;
    }
    list.rows[list.length++] = row;
  }

  get(key: K): ReadonlySet<number> | undefined {
    const list = this.#lists.get(key);
    return list === undefined ? undefined : new Set(list.rows.subarray(0, list.length));
  }

  count(key: K): number {
    return this.#lists.get(key)?.length ?? 0;
  }

  forEachRow(key: K, visit: (row: number) => void): void {
    const list = this.#lists.get(key);
    if (list === undefined) return;
    const { rows, length } = list;
    for (let i = 0; i < length; i++) visit(rows[i]);
  }

  get distinctValues(): number {
    return this.#lists.size;
  }
}
