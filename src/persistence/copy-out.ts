import type { Client, Connection, Submittable } from 'pg';

/** What receives the bytes of a COPY ... TO STDOUT: the payload of each CopyData message, in order. */
export type CopySink = (bytes: Buffer, start: number, end: number) => void;

/** The socket data listener pg-protocol attaches (one per connection). */
type DataListener = (chunk: Buffer) => void;

const COPY_DATA = 0x64; // 'd'
const COPY_OUT_RESPONSE = 0x48; // 'H'
const COPY_DONE = 0x63; // 'c'
/** Message code and length. */
const HEADER = 5;

/**
 * Runs `sql`, a `COPY ... TO STDOUT`, on `client` and hands every CopyData payload to `sink`;
 * resolves with the rows copied. node-postgres has no COPY support of its own (pg-copy-streams
 * adds it), but it accepts a Submittable and passes it each CopyData message it parses.
 *
 * That is one message per row (PostgreSQL sends a row per message), each a Buffer and a
 * message object, then an event: about a third of a microsecond per row here, seconds at 10M
 * rows. So for the length of the COPY this reads the socket itself: it takes pg-protocol's data
 * listener off the connection's stream (pg has nothing else in flight on it: the COPY is the
 * active query, and the previous one has ended), walks the messages of each chunk in place, and
 * gives the stream back at the first message that is not CopyOutResponse, CopyData or CopyDone
 * (CommandComplete, an error, a notice), from that message's first byte on: pg then ends the
 * query as usual. Whatever it does not expect (no single data listener to take), it leaves to
 * pg, through handleCopyData: slower, the same bytes.
 *
 * The client should be one of its own: an error in `sink` destroys its connection (the server
 * would otherwise go on sending the rest of the table).
 */
export function copyOut(client: Client, sql: string, sink: CopySink): Promise<number> {
  return new Promise((resolve, reject) => {
    client.query(new CopyOutQuery(sql, sink, (error, rows) => (error ? reject(error) : resolve(rows))));
  });
}

/** Exported for its spec, which drives it with a connection of its own. */
export class CopyOutQuery implements Submittable {
  #connection: Connection | undefined;
  /** pg-protocol's listener, while this query reads the socket in its place. */
  #pg: DataListener | undefined;
  #tapping = false;
  /** A message split between two chunks: its first bytes (grown as needed, reused). */
  #partial = Buffer.allocUnsafe(256);
  #partialLength = 0;
  #rows = 0;
  #error: Error | undefined;
  #done = false;

  constructor(
    readonly text: string,
    private readonly sink: CopySink,
    private readonly callback: (error: Error | undefined, rows: number) => void,
  ) {}

  /** True while this query reads the socket itself (for the spec). */
  get tapped(): boolean {
    return this.#tapping;
  }

  submit(connection: Connection): void {
    this.#connection = connection;
    const stream = connection.stream;
    const listeners = stream.listeners('data') as DataListener[];
    if (listeners.length === 1) {
      this.#pg = listeners[0];
      this.#tapping = true;
      stream.removeListener('data', this.#pg);
      stream.on('data', this.#tap);
    }
    connection.query(this.text);
  }

  readonly #tap = (chunk: Buffer): void => {
    try {
      this.#read(chunk);
    } catch (e) {
      this.#fail(e as Error);
    }
  };

  #read(chunk: Buffer): void {
    let pos = 0;
    const end = chunk.length;
    if (this.#partialLength > 0) {
      pos = this.#completePartial(chunk);
      if (pos < 0) return; // still incomplete: the whole chunk went into #partial
      if (!this.#tapping) {
        if (pos < end) this.#pg!(chunk.subarray(pos));
        return;
      }
    }
    while (pos + HEADER <= end) {
      const code = chunk[pos];
      if (code !== COPY_DATA && code !== COPY_OUT_RESPONSE && code !== COPY_DONE) {
        this.#giveBack(chunk.subarray(pos));
        return;
      }
      const length = chunk.readUInt32BE(pos + 1);
      const next = pos + 1 + length;
      if (next > end) break;
      if (code === COPY_DATA) this.sink(chunk, pos + HEADER, next);
      pos = next;
    }
    if (pos < end) this.#keep(chunk, pos, end);
  }

  /**
   * Adds the start of `chunk` to the split message in #partial; once it is whole, handles it and
   * returns where the next message starts in `chunk`; -1 while it is still incomplete.
   */
  #completePartial(chunk: Buffer): number {
    let taken = 0;
    if (this.#partialLength < HEADER) {
      taken = Math.min(HEADER - this.#partialLength, chunk.length);
      this.#append(chunk, 0, taken);
      if (this.#partialLength < HEADER) return -1;
    }
    const partial = this.#partial;
    const code = partial[0];
    if (code !== COPY_DATA && code !== COPY_OUT_RESPONSE && code !== COPY_DONE) {
      // not ours: pg parses it, from its first byte
      const head = Buffer.from(partial.subarray(0, this.#partialLength));
      this.#partialLength = 0;
      this.#giveBack(head);
      return taken;
    }
    const total = 1 + partial.readUInt32BE(1);
    const need = total - this.#partialLength;
    if (chunk.length - taken < need) {
      this.#append(chunk, taken, chunk.length);
      return -1;
    }
    this.#append(chunk, taken, taken + need);
    this.#partialLength = 0;
    if (code === COPY_DATA) this.sink(this.#partial, HEADER, total);
    return taken + need;
  }

  #keep(chunk: Buffer, start: number, end: number): void {
    this.#partialLength = 0;
    this.#append(chunk, start, end);
  }

  #append(chunk: Buffer, start: number, end: number): void {
    const n = end - start;
    if (this.#partialLength + n > this.#partial.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.#partial.length * 2, this.#partialLength + n));
      this.#partial.copy(bigger, 0, 0, this.#partialLength);
      this.#partial = bigger;
    }
    chunk.copy(this.#partial, this.#partialLength, start, end);
    this.#partialLength += n;
  }

  /** Gives the socket back to pg-protocol, which parses from `rest` on. */
  #giveBack(rest: Buffer): void {
    if (!this.#tapping) return;
    this.#tapping = false;
    const stream = this.#connection!.stream;
    stream.removeListener('data', this.#tap);
    stream.on('data', this.#pg!);
    if (rest.length > 0) this.#pg!(rest);
  }

  #fail(error: Error): void {
    this.#error ??= error;
    this.#giveBack(Buffer.alloc(0));
    // the server would send the rest of the table: end the connection instead (it is the load's own)
    this.#connection?.stream.destroy();
  }

  // pg calls these on the active query.

  /** CopyData that pg parsed itself (the socket was not taken, or was given back early). */
  handleCopyData(message: { chunk: Buffer }): void {
    if (this.#error !== undefined) return;
    try {
      this.sink(message.chunk, 0, message.chunk.length);
    } catch (e) {
      this.#fail(e as Error);
    }
  }

  handleCommandComplete(message: { text?: string }): void {
    const m = /^COPY (\d+)$/.exec(message.text ?? '');
    this.#rows = m ? Number(m[1]) : 0;
  }

  handleReadyForQuery(): void {
    this.#finish(this.#error);
  }

  handleError(error: Error): void {
    this.#giveBack(Buffer.alloc(0));
    this.#finish(this.#error ?? error);
  }

  #finish(error: Error | undefined): void {
    if (this.#done) return;
    this.#done = true;
    this.callback(error, this.#rows);
  }

  // a COPY TO answers none of these; pg may still call them on a misused query
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyInResponse(connection: Connection): void {
    // COPY FROM STDIN is not what this runs: end it, the server answers with an error
    (connection as unknown as { sendCopyFail(msg: string): void }).sendCopyFail('copyOut runs COPY ... TO STDOUT only');
  }
}
