import { AppConfig } from '../../config';
import { OrganizationQuotaExceededError, StoreFullError } from '../../errors';
import type { Payment } from '../payment';
import { HeapGauge, HeapSample } from './heap-gauge';
import { NEW_ORGANIZATION_BYTES, NEW_USER_BYTES, paymentBytes } from './payment-bytes';

const MiB = 1024 * 1024;
/** What a write may use beside the store (requests in flight, a commit batch, caches): at least this share of the old generation. */
export const HEAP_HEADROOM_SHARE = 0.15;
/** ... and at least this much, which matters in small heaps (a PostgreSQL batch of large payments is tens of MiB). */
export const MIN_HEAP_HEADROOM_BYTES = 64 * MiB;
/** MAX_STORE_BYTES by default: this share of the heap ceiling (the estimate is conservative, the ceiling is measured). */
export const STORE_SHARE = 0.8;
/** ORG_MAX_PAYMENTS and ORG_MAX_STORE_BYTES by default: this share of the store's. */
export const ORGANIZATION_SHARE = 0.5;

/**
 * V8's young generation at its largest, which heap_size_limit includes: three semi-spaces of
 * --max-semi-space-size MiB (from `flags`: node's own and NODE_OPTIONS), by default 16 MiB before Node 22
 * and 64 MiB from it (measured: heap_size_limit less --max-old-space-size is 48 MiB on Node 20,
 * 192 MiB on Node 24, whatever the old space). What is left is the old generation, where the
 * store lives and whose exhaustion is V8's "Reached heap limit". Erring large is the safe side.
 */
export function youngGenerationBytes(
  flags: string = process.execArgv.join(' '),
  nodeMajor: number = Number(process.versions.node.split('.')[0]),
): number {
  const given = /--max[-_]semi[-_]space[-_]size[= ](\d+)/.exec(flags);
  const semiSpaceMiB = given ? Number(given[1]) : nodeMajor >= 22 ? 64 : 16;
  return 3 * semiSpaceMiB * MiB;
}

export interface CapacityLimits {
  maxPayments: number;
  /** Estimated bytes (see payment-bytes.ts) of every stored payment. */
  maxBytes: number;
  orgMaxPayments: number;
  orgMaxBytes: number;
  /** Live heap bytes past which no write may grow the store, whatever the estimate says. */
  heapCeilingBytes: number;
}

/**
 * The limits of a store: the configured ones, and those derived from the heap where the config
 * says 0. The heap ceiling is the old generation less its headroom (the larger of 15% and
 * 64 MiB, but never more than half); the byte budget a share of the ceiling.
 */
export function capacityLimits(
  config: AppConfig,
  heapLimitBytes: number,
  youngBytes: number = youngGenerationBytes(`${process.execArgv.join(' ')} ${config.nodeOptions}`),
): CapacityLimits {
  // (a young generation reported larger than the whole heap: flags we cannot read; take a quarter)
  const oldGeneration = heapLimitBytes > youngBytes ? heapLimitBytes - youngBytes : heapLimitBytes / 4;
  const headroom = Math.min(Math.max(oldGeneration * HEAP_HEADROOM_SHARE, MIN_HEAP_HEADROOM_BYTES), oldGeneration / 2);
  const heapCeilingBytes = Math.floor(oldGeneration - headroom);
  const maxBytes = config.maxStoreBytes > 0 ? config.maxStoreBytes : Math.floor(heapCeilingBytes * STORE_SHARE);
  return {
    maxPayments: config.maxPayments,
    maxBytes,
    orgMaxPayments: config.orgMaxPayments > 0 ? config.orgMaxPayments : Math.max(1, Math.floor(config.maxPayments * ORGANIZATION_SHARE)),
    orgMaxBytes: config.orgMaxStoreBytes > 0 ? config.orgMaxStoreBytes : Math.floor(maxBytes * ORGANIZATION_SHARE),
    heapCeilingBytes,
  };
}

interface Usage {
  payments: number;
  bytes: number;
}

/**
 * StoreCapacity as a reader sees it (see PaymentStore.capacity: metrics, /admin/store): the
 * figures and limits, never admit or add (the store counts every write it makes).
 */
export type StoreCapacityView = Pick<StoreCapacity, 'limits' | 'payments' | 'bytes' | 'usageOf'>;

/** Admits the creates of one batch as if each admitted one were already stored. */
export interface CapacityBatch {
  /** Throws as StoreCapacity.admit does; `userKnown`: the store already holds a payment of this userId. */
  admit(payment: Payment, userKnown: boolean): void;
}

const NOTHING: Usage = Object.freeze({ payments: 0, bytes: 0 });

/**
 * What the store holds against what it may hold: payments and their estimated bytes, in all
 * and per organization, and the real heap. `admit` decides (it throws a typed 507 and changes
 * nothing), `add` records what was stored (and never refuses: a committed payment must be
 * mirrored). O(1) per call but the estimate, which is O(length of the payment's text).
 *
 * Invariant (kept by PaymentStore, which calls add in every write): `payments` and
 * `usageOf(org).payments` equal the store's size and countOf(org); `bytes` is the sum of the
 * estimates of every stored payment, every first-time user and organization, and every event
 * id kept.
 *
 * The real heap: `heap.sample` is the live old generation after the last full GC; the growth
 * of `bytes` since then is added to it, so a write is refused when sample + growth would pass
 * the ceiling, unless the old generation in use now (garbage included, so never less than what
 * is live) is still under it. The estimate thus never drifts further from the heap than one GC.
 */
export class StoreCapacity {
  readonly #orgs = new Map<string, Usage>();
  #payments = 0;
  #bytes = 0;
  /** The heap sample last seen. */
  #sample: HeapSample | undefined;
  /**
   * Live heap bytes at most, as last known: the sample's, or the old generation in use when it
   * was last measured (garbage included, so never less than what was live); and `#bytes` then.
   */
  #base = 0;
  #bytesAtBase = 0;

  constructor(
    readonly limits: CapacityLimits,
    readonly heap: HeapGauge,
  ) {}

  get payments(): number {
    return this.#payments;
  }

  get bytes(): number {
    return this.#bytes;
  }

  usageOf(organizationId: string): Readonly<Usage> {
    return this.#orgs.get(organizationId) ?? NOTHING;
  }

  /** The estimated bytes storing `payment` adds: its own, and a first-time user's or organization's. */
  bytesOf(payment: Payment, userKnown: boolean): number {
    return paymentBytes(payment) + (userKnown ? 0 : NEW_USER_BYTES) + (this.#orgs.has(payment.organizationId) ? 0 : NEW_ORGANIZATION_BYTES);
  }

  /**
   * Throws StoreFullError (the store's payments, bytes or heap) or OrganizationQuotaExceededError
   * (the organization's payments or bytes) when storing `payment` would pass a limit; else
   * returns its estimated bytes, for add().
   */
  admit(payment: Payment, userKnown: boolean): number {
    const bytes = this.bytesOf(payment, userKnown);
    this.#check(payment.organizationId, bytes, NOTHING, NOTHING);
    return bytes;
  }

  /**
   * Throws StoreFullError when `bytes` more would take the live heap past its ceiling: for a
   * write that grows a stored payment (an event id kept), which only the heap limits.
   */
  admitGrowth(bytes: number): void {
    this.#checkHeap(bytes);
  }

  /** Records a stored payment (`payments` 1) or the growth of one (0). Never refuses. */
  add(organizationId: string, payments: 0 | 1, bytes: number): void {
    this.#anchor();
    let usage = this.#orgs.get(organizationId);
    if (usage === undefined) this.#orgs.set(organizationId, (usage = { payments: 0, bytes: 0 }));
    usage.payments += payments;
    usage.bytes += bytes;
    this.#payments += payments;
    this.#bytes += bytes;
  }

  /** For a writer that commits creates elsewhere before the store applies them (PostgreSQL). */
  batch(): CapacityBatch {
    const pending: Usage = { payments: 0, bytes: 0 };
    const pendingOrgs = new Map<string, Usage>();
    const pendingUsers = new Set<string>();
    return {
      admit: (payment, userKnown) => {
        const org = payment.organizationId;
        const known = userKnown || pendingUsers.has(payment.userId);
        let orgPending = pendingOrgs.get(org);
        const bytes =
          paymentBytes(payment) + (known ? 0 : NEW_USER_BYTES) + (this.#orgs.has(org) || orgPending !== undefined ? 0 : NEW_ORGANIZATION_BYTES);
        this.#check(org, bytes, pending, orgPending ?? NOTHING);
        if (orgPending === undefined) pendingOrgs.set(org, (orgPending = { payments: 0, bytes: 0 }));
        orgPending.payments += 1;
        orgPending.bytes += bytes;
        pending.payments += 1;
        pending.bytes += bytes;
        if (!known) pendingUsers.add(payment.userId);
      },
    };
  }

  #check(organizationId: string, bytes: number, pending: Usage, orgPending: Usage): void {
    const { maxPayments, maxBytes, orgMaxPayments, orgMaxBytes } = this.limits;
    if (this.#payments + pending.payments >= maxPayments) throw new StoreFullError(`${payments(maxPayments)} (MAX_PAYMENTS)`);
    if (this.#bytes + pending.bytes + bytes > maxBytes) throw new StoreFullError(`${formatBytes(maxBytes)} of payments (MAX_STORE_BYTES)`);
    this.#checkHeap(pending.bytes + bytes);
    const org = this.usageOf(organizationId);
    if (org.payments + orgPending.payments >= orgMaxPayments) {
      throw new OrganizationQuotaExceededError(organizationId, `${payments(orgMaxPayments)} (ORG_MAX_PAYMENTS)`);
    }
    if (org.bytes + orgPending.bytes + bytes > orgMaxBytes) {
      throw new OrganizationQuotaExceededError(organizationId, `${formatBytes(orgMaxBytes)} of payments (ORG_MAX_STORE_BYTES)`);
    }
  }

  #checkHeap(bytes: number): void {
    this.#anchor();
    const ceiling = this.limits.heapCeilingBytes;
    if (this.#base + Math.max(0, this.#bytes - this.#bytesAtBase) + bytes <= ceiling) return;
    // Measured (getHeapSpaceStatistics: tens of microseconds), then the base of the estimate
    // until the next sample: a write pays for it only when the growth estimated since the last
    // measure could reach the ceiling. Most of a payment now lives in ArrayBuffers, outside the
    // heap, so the estimate runs far ahead of the heap: measuring on every write past that point
    // took inserts at 10M payments from ~100k/s to 11k/s.
    const used = this.heap.usedBytes();
    this.#base = used;
    this.#bytesAtBase = this.#bytes;
    if (used + bytes <= ceiling) return;
    throw new StoreFullError(`${formatBytes(ceiling)} of live heap (the old generation less its headroom)`);
  }

  /** Takes a new heap sample as the base of the estimated growth. */
  #anchor(): void {
    const sample = this.heap.sample;
    if (sample === this.#sample) return;
    this.#sample = sample;
    this.#base = sample.liveBytes;
    this.#bytesAtBase = this.#bytes;
  }
}

function payments(count: number): string {
  return count === 1 ? '1 payment' : `${count} payments`;
}

function formatBytes(bytes: number): string {
  return bytes >= MiB ? `${(bytes / MiB).toFixed(1)} MiB` : `${bytes} bytes`;
}
