/** What Dictionary.find answers for a value no row ever held (codes are >= 0). */
export const NOT_FOUND = -1;

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

  /** The code of `value`, or NOT_FOUND if no row ever held it. */
  find(value: string): number {
    return this.#codes.get(value) ?? NOT_FOUND;
  }

  value(code: number): string {
    return this.#values[code];
  }

  get size(): number {
    return this.#values.length;
  }
}

export interface ColumnDictionaries {
  readonly organization: Dictionary;
  readonly user: Dictionary;
  readonly currency: Dictionary;
}

/**
 * A Dictionary as a reader sees it: lookups, never intern (a code is assigned as a row is
 * written, by the store alone). An allow-list: a method added to Dictionary stays out of it
 * until it is named here.
 */
export type DictionaryView = Pick<Dictionary, 'find' | 'value' | 'size'>;

/** The store's dictionaries as the query side sees them (see PaymentStore.dictionaries). */
export interface ColumnDictionariesView {
  readonly organization: DictionaryView;
  readonly user: DictionaryView;
  readonly currency: DictionaryView;
}
