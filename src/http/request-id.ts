import { randomBytes } from 'node:crypto';

/** What a request id may hold when the caller sends one: anything else is replaced. */
export const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Request ids for requests that come without a usable X-Request-Id: a random prefix drawn once
 * per process (64 bits, so that the ids of several instances behind one load balancer never
 * meet) and a sequence number, e.g. `3kq0v9x1c2m4a-1b`. Unique within the process by
 * construction and across processes by the prefix; a UUID per request (crypto, 122 random bits)
 * cost a hundredth of a GET's CPU for no more uniqueness than that.
 */
export class RequestIds {
  readonly prefix: string;
  #next = 0;

  constructor(random: Buffer = randomBytes(8)) {
    this.prefix = random.readBigUInt64BE().toString(36);
  }

  next(): string {
    return `${this.prefix}-${(this.#next++).toString(36)}`;
  }
}
