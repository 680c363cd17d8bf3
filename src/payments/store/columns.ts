type TypedArray = Float64Array | Int32Array | Uint8Array | Uint16Array;

/**
 * A typed-array column indexed by row id, grown by doubling (amortised O(1) set). Rows are
 * scanned through `array`, a view that stays valid until the next write grows the column.
 */
export class Column<A extends TypedArray> {
  #data: A;

  constructor(
    private readonly make: (length: number) => A,
    initialLength = 1024,
  ) {
    this.#data = make(initialLength);
  }

  get array(): A {
    return this.#data;
  }

  set(row: number, value: number): void {
    if (row >= this.#data.length) {
      const grown = this.make(Math.max(row + 1, this.#data.length * 2));
      grown.set(this.#data);
      this.#data = grown;
    }
    this.#data[row] = value;
  }

  /** Bytes held (capacity, not rows in use). */
  get bytes(): number {
    return this.#data.byteLength;
  }
}

/** Interns strings as small integer codes, so that columns hold numbers, not strings. */
export class Dictionary {
  readonly #codes = new Map<string, number>();
  readonly #values: string[] = [];

  /** The code of `value`, assigning the next one if it is new. */
  intern(value: string): number {
    let code = this.#codes.get(value);
    if (code === undefined) {
      code = this.#values.length;
      this.#codes.set(value, code);
      this.#values.push(value);
    }
    return code;
  }

  /** The code of `value`, or -1 if no row ever held it. */
  find(value: string): number {
    return this.#codes.get(value) ?? -1;
  }

  value(code: number): string {
    return this.#values[code];
  }

  get size(): number {
    return this.#values.length;
  }
}

/** The read side's view of the columns; take a fresh one per query (columns may grow). */
export interface ColumnView {
  readonly organization: Int32Array;
  readonly user: Int32Array;
  readonly status: Uint8Array;
  readonly currency: Uint16Array;
  readonly amount: Float64Array;
  readonly createdAt: Float64Array;
  readonly refundedAmount: Float64Array;
}

export interface ColumnDictionaries {
  readonly organization: Dictionary;
  readonly user: Dictionary;
  readonly currency: Dictionary;
}
