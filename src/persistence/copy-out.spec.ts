import { EventEmitter } from 'node:events';
import type { Connection } from 'pg';
import { CopyOutQuery } from './copy-out';

/** A backend message: code, length (itself included), body. */
function message(code: string, body: Buffer | string): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body) : body;
  const header = Buffer.alloc(5);
  header.write(code, 0, 'latin1');
  header.writeUInt32BE(b.length + 4, 1);
  return Buffer.concat([header, b]);
}

/** The messages of a COPY TO, then what pg must parse itself: CommandComplete and ReadyForQuery. */
function copyStream(payloads: Buffer[]): { ours: Buffer; theirs: Buffer } {
  const ours = Buffer.concat([message('H', Buffer.from([1, 0, 0])), ...payloads.map((p) => message('d', p)), message('c', '')]);
  const theirs = Buffer.concat([message('C', `COPY ${payloads.length}\0`), message('Z', 'I')]);
  return { ours, theirs };
}

/** pg's connection as far as the query sees it: the socket, whose one data listener is pg-protocol's. */
class FakeConnection {
  readonly stream = new EventEmitter() as EventEmitter & { destroy(): void; destroyed: boolean };
  readonly sent: string[] = [];
  readonly parsedByPg: Buffer[] = [];

  constructor() {
    this.stream.destroyed = false;
    this.stream.destroy = () => {
      this.stream.destroyed = true;
    };
    this.stream.on('data', (chunk: Buffer) => this.parsedByPg.push(Buffer.from(chunk)));
  }

  query(text: string): void {
    this.sent.push(text);
  }

  /** The socket delivering `bytes`, cut at `cuts`. */
  deliver(bytes: Buffer, cuts: number[]): void {
    let at = 0;
    for (const cut of [...cuts, bytes.length]) {
      if (cut <= at) continue;
      this.stream.emit('data', bytes.subarray(at, cut));
      at = cut;
    }
  }
}

function run(payloads: Buffer[], cuts: number[], extra: Buffer = Buffer.alloc(0)) {
  const connection = new FakeConnection();
  const got: Buffer[] = [];
  const query = new CopyOutQuery('COPY x TO STDOUT', (b, s, e) => got.push(Buffer.from(b.subarray(s, e))), () => undefined);
  query.submit(connection as unknown as Connection);
  expect(query.tapped).toBe(true);
  const { ours, theirs } = copyStream(payloads);
  connection.deliver(Buffer.concat([ours, extra, theirs]), cuts);
  return { connection, got, query, ours, theirs };
}

describe('CopyOutQuery', () => {
  const payloads = [Buffer.from('first row'), Buffer.alloc(0), Buffer.from('x'.repeat(300)), Buffer.from('last')];

  it('hands over every CopyData payload and gives pg the rest, wherever the socket cuts the stream', () => {
    const total = copyStream(payloads).ours.length + copyStream(payloads).theirs.length;
    for (let cut = 0; cut <= total; cut++) {
      for (const second of [cut + 1, cut + 6, cut + 301]) {
        const { connection, got, query, theirs } = run(payloads, [cut, second]);
        expect(got).toEqual(payloads);
        expect(Buffer.concat(connection.parsedByPg)).toEqual(theirs);
        expect(query.tapped).toBe(false);
        expect(connection.stream.listenerCount('data')).toBe(1);
        expect(connection.sent).toEqual(['COPY x TO STDOUT']);
      }
    }
  });

  it('reads a stream delivered a byte at a time', () => {
    const { got, connection, theirs } = run(payloads, Array.from({ length: 500 }, (_, i) => i));
    expect(got).toEqual(payloads);
    expect(Buffer.concat(connection.parsedByPg)).toEqual(theirs);
  });

  it('gives pg the stream from the first message it does not read itself (a notice), split or not', () => {
    const notice = message('N', 'SNOTICE\0Mhello\0\0');
    const { ours } = copyStream(payloads);
    for (const cut of [ours.length - 2, ours.length + 2, ours.length + notice.length - 1]) {
      const { connection, got, theirs } = run(payloads, [cut], notice);
      expect(got).toEqual(payloads);
      expect(Buffer.concat(connection.parsedByPg)).toEqual(Buffer.concat([notice, theirs]));
    }
  });

  it('takes CopyData from pg when pg parses them (the socket was not taken)', () => {
    const got: Buffer[] = [];
    let done: [Error | undefined, number] | undefined;
    const query = new CopyOutQuery('COPY x TO STDOUT', (b, s, e) => got.push(Buffer.from(b.subarray(s, e))), (e, rows) => (done = [e, rows]));
    const connection = new FakeConnection();
    connection.stream.on('data', () => undefined); // two listeners: not one that can be taken
    query.submit(connection as unknown as Connection);
    expect(query.tapped).toBe(false);
    for (const p of payloads) query.handleCopyData({ chunk: p });
    query.handleCommandComplete({ text: 'COPY 4' });
    query.handleReadyForQuery();
    expect(got).toEqual(payloads);
    expect(done).toEqual([undefined, 4]);
  });

  it('fails the query and ends the connection when the sink throws, and reports the first error only', () => {
    const connection = new FakeConnection();
    let done: [Error | undefined, number] | undefined;
    const query = new CopyOutQuery(
      'COPY x TO STDOUT',
      () => {
        throw new Error('bad row');
      },
      (e, rows) => (done = [e, rows]),
    );
    query.submit(connection as unknown as Connection);
    connection.deliver(copyStream(payloads).ours, []);
    expect(connection.stream.destroyed).toBe(true);
    expect(query.tapped).toBe(false);
    query.handleError(new Error('Connection terminated'));
    query.handleReadyForQuery();
    expect(done?.[0]?.message).toBe('bad row');
  });
});
