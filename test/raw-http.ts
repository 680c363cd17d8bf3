import net from 'node:net';

/** An HTTP/1.1 answer as read off the socket: nothing normalized, nothing retried. */
export interface RawAnswer {
  status: number;
  /** Header names in lower case; a repeated header's values joined with ', '. */
  headers: Record<string, string>;
  body: string;
}

/**
 * Writes `request` as-is on a new TCP connection to `url` and reads until the server closes
 * it (the request should end with one the server closes the connection after: `Connection: close`,
 * or one it refuses). No HTTP client in between: a path like `/docs/../x`, a malformed request line or both
 * Content-Length and Transfer-Encoding reach the server exactly as written.
 */
export async function rawRequest(url: string, request: string): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  const text = await new Promise<string>((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.write(request));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) throw new Error(`no complete HTTP answer: ${JSON.stringify(text)}`);
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  return { status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(statusLine)?.[1]), headers, body: text.slice(end + 4) };
}

/** A GET of `path` exactly as written (no dot-segment removal, no re-encoding). */
export function rawGet(url: string, path: string, headers: Record<string, string> = {}): Promise<RawAnswer> {
  const extra = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  return rawRequest(url, `GET ${path} HTTP/1.1\r\nHost: localhost\r\n${extra}Connection: close\r\n\r\n`);
}

/** An answer that is RFC 9457 problem details with `status`; returns the problem. */
export function expectRawProblem(answer: RawAnswer, status: number): Record<string, unknown> {
  expect({ status: answer.status, body: answer.body }).toMatchObject({ status });
  expect(answer.headers['content-type']).toMatch(/^application\/problem\+json\b/);
  const problem = JSON.parse(answer.body) as Record<string, unknown>;
  expect(problem).toEqual(
    expect.objectContaining({ type: expect.stringMatching(/^\/problems\//), title: expect.stringMatching(/\S/), status, detail: expect.stringMatching(/\S/) }),
  );
  if (answer.headers['content-length'] !== undefined) expect(Number(answer.headers['content-length'])).toBe(Buffer.byteLength(answer.body));
  return problem;
}
