import type { Payment } from '../payment';

/**
 * A payment as a bulk load reads it (see appendLoaded): its fields, and what the reader knows
 * of them already, so that the store does not derive it again. A reader may pass the same object
 * again and again with other values: the store keeps nothing of it but its strings.
 */
export interface LoadedPayment extends Payment {
  /** createdAt in epoch milliseconds. */
  readonly createdAtMs: number;
  /** The other times in epoch milliseconds, NaN where null: what the store keeps of a canonical row (it reads no time text then). */
  readonly updatedAtMs: number;
  readonly completedAtMs: number;
  readonly failedAtMs: number;
  readonly refundedAtMs: number;
  /** status, as its index in PAYMENT_STATUSES. */
  readonly statusCode: number;
  /**
   * True when the paymentId is ASCII and every time is in the canonical form (toISOString's, for
   * the years 0000-9999): each time's text is then isoTime() of its milliseconds, so the store
   * keeps the milliseconds without reading the texts, and what the estimate of its bytes reads of
   * such a payment is the length of its paymentId, which times are null, and its error (see
   * #loadedBytes).
   */
  readonly canonical: boolean;
  /**
   * An ASCII paymentId may also come as its bytes, idBytes[idStart, idEnd): the store copies
   * them into its columns without building the string. Undefined: read paymentId.
   */
  readonly idBytes: Uint8Array | undefined;
  readonly idStart: number;
  readonly idEnd: number;
  /**
   * The reader's numbers for organizationId, userId and currency: the same for the same value
   * throughout one load, dense from 0, or -1 (none): the store then maps them to its dictionary
   * codes by an array rather than a Map lookup per field and row.
   */
  readonly organizationKey: number;
  readonly userKey: number;
  readonly currencyKey: number;
}

/** A reader's key -> dictionary code (-1: not seen yet); key -1 is never stored. */
export class KeyCodes {
  #codes = new Int32Array(64).fill(-1);

  get(key: number): number {
    return key >= 0 && key < this.#codes.length ? this.#codes[key] : -1;
  }

  /** Records `code` for `key` and returns it. */
  set(key: number, code: number): number {
    if (key < 0) return code;
    if (key >= this.#codes.length) {
      const grown = new Int32Array(Math.max(key + 1, this.#codes.length * 2)).fill(-1);
      grown.set(this.#codes);
      this.#codes = grown;
    }
    this.#codes[key] = code;
    return code;
  }
}

/** What a bulk load keeps until endBulkLoad (see beginBulkLoad). */
export class BulkLoad {
  /** tiePrefix() of each row's paymentId, NaN for a row that did not come through appendLoaded. */
  prefixes = new Float64Array(0).fill(NaN);
  /** Writes per organization code, added to the versions at the end (rather than a Map update per row). */
  writes: number[] = [];
  /** paymentBytes() of a canonical payment with no description or metadata, by error, then by id length and null times. */
  readonly plainBytes = new Map<string | null, number[]>();
  /** The dictionary code of each reader's key (see LoadedPayment), -1 until its first row. */
  readonly organizationCodes = new KeyCodes();
  readonly userCodes = new KeyCodes();
  readonly currencyCodes = new KeyCodes();

  prefixRoom(rows: number): void {
    if (rows <= this.prefixes.length) return;
    const grown = new Float64Array(Math.max(rows, this.prefixes.length * 2, 1024)).fill(NaN);
    grown.set(this.prefixes);
    this.prefixes = grown;
  }
}
