/** The crash check's HTTP client: one request, its status and parsed body, or no answer (status 0). */
import http from 'node:http';

/** status 0: no answer (connection refused or reset, timeout, truncated body). */
export type Outcome = { status: number; body: unknown; error?: undefined } | { status: 0; body?: undefined; error: string };

export function call(
  agent: http.Agent | undefined,
  port: number,
  method: string,
  path: string,
  body?: unknown,
  timeoutMs = 20_000,
): Promise<Outcome> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (outcome: Outcome) => {
      if (!settled) {
        settled = true;
        resolve(outcome);
      }
    };
    const payload = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body), 'utf8');
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent: agent ?? false,
        headers: payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('aborted', () => done({ status: 0, error: 'response aborted' }));
        res.on('error', (e) => done({ status: 0, error: `response: ${(e as NodeJS.ErrnoException).code ?? e.message}` }));
        res.on('end', () => {
          if (!res.complete) return done({ status: 0, error: 'response incomplete' });
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            done({ status: res.statusCode ?? 0, body: text === '' ? undefined : JSON.parse(text) });
          } catch {
            done({ status: 0, error: `unparseable body (${res.statusCode}): ${text.slice(0, 100)}` });
          }
        });
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error('timeout')));
    req.on('error', (e) => done({ status: 0, error: (e as NodeJS.ErrnoException).code ?? e.message }));
    req.end(payload);
  });
}
