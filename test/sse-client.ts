import http from 'node:http';

/** A client of GET /payments/stats/stream: collects the `stats` events as they arrive. */
export interface Stream {
  status: number;
  headers: http.IncomingHttpHeaders;
  events: unknown[];
  pings: number;
  /** Every byte received so far, as text (a refusal's problem+json body, once ended). */
  text: string;
  /** Resolves with `text` once the server has ended the response. */
  ended(): Promise<string>;
  /**
   * Resolves with the events once there are at least `n`. `timeoutMs` only guards against a
   * stream that never delivers: it rejects then, with what arrived.
   */
  waitFor(n: number, timeoutMs?: number): Promise<unknown[]>;
  /** Resolves with the events once `done(events)` holds; `timeoutMs` as for waitFor. */
  waitUntil(done: (events: unknown[]) => boolean, timeoutMs?: number): Promise<unknown[]>;
  close(): void;
}

export function openStream(base: string, query: Record<string, string> | URLSearchParams, headers: http.OutgoingHttpHeaders = {}): Promise<Stream> {
  const url = `${base}/payments/stats/stream?${new URLSearchParams(query)}`;
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers }, (res) => {
      const end = new Promise<string>((resolveEnd, failEnd) => {
        res.on('end', () => resolveEnd(stream.text));
        res.on('error', failEnd);
      });
      end.catch(() => undefined);
      const stream: Stream = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        events: [],
        pings: 0,
        text: '',
        ended: () => end,
        waitFor: (n, timeoutMs) => stream.waitUntil((events) => events.length >= n, timeoutMs),
        waitUntil: (done, timeoutMs = 20_000) =>
          new Promise((resolve, fail) => {
            const deadline = Date.now() + timeoutMs;
            const check = () => {
              if (done(stream.events)) resolve(stream.events);
              else if (Date.now() > deadline) fail(new Error(`still waiting after ${timeoutMs} ms: ${stream.events.length} events, the last ${JSON.stringify(stream.events.at(-1))}`));
              else setTimeout(check, 10);
            };
            check();
          }),
        close: () => req.destroy(),
      };
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        stream.text += chunk;
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const message = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (message.startsWith(':')) stream.pings += 1;
          const lines = message.split('\n');
          if (lines[0] === 'event: stats' && lines[1]?.startsWith('data: ')) stream.events.push(JSON.parse(lines[1].slice(6)));
        }
      });
      res.on('error', () => undefined);
      resolve(stream);
    });
    req.on('error', reject);
  });
}
