/**
 * Keeps the k smallest rows under `compare`, for "first page of a sorted result" without
 * sorting every match: O(1) to reject a row worse than the worst kept, O(log k) to keep one.
 * The heap is a max-heap: its root is the worst row kept.
 */
export class TopK {
  readonly #heap: number[] = [];

  constructor(
    private readonly k: number,
    private readonly compare: (a: number, b: number) => number,
  ) {}

  offer(row: number): void {
    const heap = this.#heap;
    if (this.k <= 0) return;
    if (heap.length < this.k) {
      heap.push(row);
      this.#up(heap.length - 1);
    } else if (this.compare(row, heap[0]) < 0) {
      heap[0] = row;
      this.#down(0);
    }
  }

  /** The rows kept, best first. */
  sorted(): number[] {
    return [...this.#heap].sort(this.compare);
  }

  #up(i: number): void {
    const heap = this.#heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.compare(heap[i], heap[parent]) <= 0) return;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  }

  #down(i: number): void {
    const heap = this.#heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let worst = i;
      if (l < heap.length && this.compare(heap[l], heap[worst]) > 0) worst = l;
      if (r < heap.length && this.compare(heap[r], heap[worst]) > 0) worst = r;
      if (worst === i) return;
      [heap[i], heap[worst]] = [heap[worst], heap[i]];
      i = worst;
    }
  }
}
