/** A stream's place under the caps, held from before it opens until it closes. */
export interface StreamSlot {
  /** Gives the place back; a second call does nothing. */
  release(): void;
}

/** Which cap refused a slot: the owner's own, or the total. */
export type SlotRefusal = 'owner' | 'total';

/**
 * Open streams counted per owner (a verified caller, or a client address) and in all, each
 * under its cap. Invariants: `open` is the sum of the per-owner counts, none of them past
 * `perOwner`, `open` never past `max`; an owner without a slot has no entry, so the map holds
 * at most `max` keys. take and release are O(1).
 */
export class StreamSlots {
  readonly #byOwner = new Map<string, number>();
  #open = 0;

  constructor(
    readonly perOwner: number,
    readonly max: number,
  ) {}

  /** Slots taken and not released. */
  get open(): number {
    return this.#open;
  }

  openBy(owner: string): number {
    return this.#byOwner.get(owner) ?? 0;
  }

  /** A slot for `owner`, or the cap that refuses it (the owner's first: it is the one to act). */
  take(owner: string): StreamSlot | SlotRefusal {
    const held = this.openBy(owner);
    if (held >= this.perOwner) return 'owner';
    if (this.#open >= this.max) return 'total';
    this.#byOwner.set(owner, held + 1);
    this.#open += 1;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.#open -= 1;
        const left = this.openBy(owner) - 1;
        if (left === 0) this.#byOwner.delete(owner);
        else this.#byOwner.set(owner, left);
      },
    };
  }
}
