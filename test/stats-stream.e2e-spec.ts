import { once } from 'node:events';
import http, { Server } from 'node:http';
import { Socket } from 'node:net';
import { QueryBus } from '@nestjs/cqrs';
import { SignJWT } from 'jose';
import request from 'supertest';
import { StatsStreams } from '../src/payments/queries/stats-streams';
import { applyEvent, createPayment, expectProblem, uniqueId } from './e2e-helpers';
import { eventually, metricsText, metricValue } from './pg-helpers';
import { openStream, Stream } from './sse-client';
import { startTestApp, TestApp } from './test-app';

/**
 * The stream over real HTTP: what it sends and when it ends. Its timing (at most one document
 * a second, nothing for another organization, the pings) runs on a clock the unit spec drives:
 * src/payments/queries/stats-streams.spec.ts.
 */
describe('GET /payments/stats/stream (Server-Sent Events)', () => {
  let t: TestApp;
  const open: Stream[] = [];
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterEach(() => open.splice(0).forEach((s) => s.close()));
  afterAll(async () => {
    await t.close();
  });
  const stream = async (query: Record<string, string>) => {
    const s = await openStream(t.url, query);
    open.push(s);
    return s;
  };
  const stats = async (query: Record<string, string>) => (await request(t.url).get('/payments/stats').query(query)).body;

  it('sends the stats document of the filters at once, as GET /payments/stats answers it', async () => {
    const organizationId = uniqueId('org');
    await createPayment(t.url, { organizationId, amount: 1500, currency: 'EUR' });
    await createPayment(t.url, { organizationId, amount: 700, currency: 'JPY' });
    const query = { organizationId, from: new Date(Date.now() - 10 * 86_400_000).toISOString(), to: new Date(Date.now() + 86_400_000).toISOString(), interval: 'day' };
    const s = await stream(query);
    expect(s.status).toBe(200);
    expect(s.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(s.headers['cache-control']).toContain('no-cache');
    expect(s.headers['x-request-id']).toEqual(expect.any(String));
    const [first] = await s.waitFor(1);
    expect(first).toEqual(await stats(query));
    expect(first).toMatchObject({ total: 2, amountByCurrency: { EUR: 1500, JPY: 700 } });
  });

  it('sends a fresh document when a payment of the organization is created or changes', async () => {
    const organizationId = uniqueId('org');
    const s = await stream({ organizationId });
    await s.waitFor(1);

    const p = await createPayment(t.url, { organizationId, amount: 2000, currency: 'EUR' });
    const [, second] = await s.waitFor(2);
    expect(second).toEqual(await stats({ organizationId }));
    expect(second).toMatchObject({ total: 1, byStatus: { pending: 1 } });

    await applyEvent(t.url, p.paymentId, { type: 'PaymentProcessed', occurredAt: new Date().toISOString() });
    const [, , third] = await s.waitFor(3);
    expect(third).toMatchObject({ total: 1, byStatus: { pending: 0, completed: 1 } });
  });

  it('keeps up with writes that keep coming: the last document is up to date', async () => {
    const organizationId = uniqueId('org');
    const s = await stream({ organizationId });
    await s.waitFor(1);
    for (let i = 0; i < 30; i++) await createPayment(t.url, { organizationId, amount: 100 + i });

    const events = await s.waitUntil((sent) => (sent.at(-1) as { total: number }).total === 30);

    expect(events.length).toBeLessThanOrEqual(31);
    expect(events.at(-1)).toEqual(await stats({ organizationId }));
  });

  it('answers a bad filter with the same 400 problem as GET /payments/stats, and no stream', async () => {
    const res = await request(t.url).get('/payments/stats/stream').query({ minAmount: 'ten', interval: 'day' });
    expectProblem(res, 400);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(
      (await request(t.url).get('/payments/stats').query({ minAmount: 'ten', interval: 'day' })).body.errors.map((e: { field: string }) => e.field),
    );
  });

  it('lets go of a subscriber that disconnects, and ends open streams when the app closes', async () => {
    const streams = t.app.get(StatsStreams);
    await eventually(() => expect(streams.subscribers).toBe(0)); // the streams of the tests before, closed by afterEach
    const organizationId = uniqueId('org');
    const s = await stream({ organizationId });
    await s.waitFor(1);
    expect(streams.subscribers).toBe(1);
    s.close();
    await eventually(() => expect(streams.subscribers).toBe(0));
    await createPayment(t.url, { organizationId }); // nothing to write to: must not throw

    const other = await startTestApp();
    const live = await openStream(other.url, {});
    await live.waitFor(1);
    await other.close(); // would hang on the open stream (and time the test out) if it were not ended
    expect(other.app.get(StatsStreams).subscribers).toBe(0);
  });
});

/**
 * The caps (STATS_STREAMS_PER_CALLER per caller, STATS_STREAMS_MAX in all) over real HTTP: a
 * refusal is an ordinary problem answer with Retry-After, and a closed stream frees its place
 * (waited for on StatsStreams' close event, never with a sleep).
 */
describe('GET /payments/stats/stream: caps per caller and in all', () => {
  const open: Stream[] = [];
  afterEach(() => open.splice(0).forEach((s) => s.close()));

  /** Opens a stream and keeps it for afterEach to close; `status` is there at once (headers). */
  const streamOf = async (url: string, headers: Record<string, string> = {}) => {
    const s = await openStream(url, {}, headers);
    open.push(s);
    return s;
  };
  /** A refused stream: the whole problem+json answer, read to its end. */
  const expectRefused = async (s: Stream, status: number, code: string) => {
    expect({ status: s.status, text: s.status === 200 ? '(a stream)' : await s.ended() }).toMatchObject({ status });
    expect(s.headers['content-type']).toMatch(/^application\/problem\+json\b/);
    expect(s.headers['retry-after']).toMatch(/^\d+$/);
    expect(s.headers['x-request-id']).toEqual(expect.any(String));
    expect(JSON.parse(s.text)).toMatchObject({ status, code, type: `/problems/${code.toLowerCase().replace(/_/g, '-')}`, detail: expect.stringMatching(/\S/) });
  };
  const gauge = async (url: string) => metricValue(await metricsText(url), 'payments_stats_streams_open');

  describe('open mode: per client address', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ statsStreamsPerCaller: 2, statsStreamsMax: 100 });
    });
    afterAll(async () => {
      await t.close();
    });

    it('answers a client past its cap 429 TOO_MANY_STREAMS with Retry-After, and lets it open one again once one of its streams is closed', async () => {
      const streams = t.app.get(StatsStreams);
      const first = await streamOf(t.url);
      const second = await streamOf(t.url);
      await Promise.all([first.waitFor(1), second.waitFor(1)]);

      await expectRefused(await streamOf(t.url), 429, 'TOO_MANY_STREAMS');
      expect(streams.subscribers).toBe(2);

      const freed = streams.nextClose();
      first.close();
      await freed;
      const third = await streamOf(t.url);
      expect(third.status).toBe(200);
      await third.waitFor(1);
    });

    it('shows the streams open in /metrics as the gauge payments_stats_streams_open', async () => {
      const streams = t.app.get(StatsStreams);
      await eventually(() => expect(streams.subscribers).toBe(0)); // the streams of the test before, closed by afterEach
      const text = await metricsText(t.url);
      expect(text).toContain('# TYPE payments_stats_streams_open gauge');
      expect(metricValue(text, 'payments_stats_streams_open')).toBe(0);

      const a = await streamOf(t.url);
      const b = await streamOf(t.url);
      await Promise.all([a.waitFor(1), b.waitFor(1)]);
      expect(await gauge(t.url)).toBe(2);

      const freed = streams.nextClose();
      a.close();
      await freed;
      expect(await gauge(t.url)).toBe(1);
    });

    it('frees the place of a client that went away while its first document was computed', async () => {
      const streams = t.app.get(StatsStreams);
      await eventually(() => expect(streams.subscribers).toBe(0));
      const queryBus = t.app.get(QueryBus);
      const execute = queryBus.execute.bind(queryBus);
      let computing!: () => void;
      const entered = new Promise<void>((resolve) => (computing = resolve));
      let finish!: () => void;
      const held = new Promise<void>((resolve) => (finish = resolve));
      let answered: Promise<unknown> = Promise.resolve();
      const spy = jest.spyOn(queryBus, 'execute').mockImplementationOnce((query) => {
        computing();
        answered = held.then(() => execute(query));
        return answered as never;
      });
      const server = t.app.getHttpServer() as Server;
      const serverSide = new Promise<Socket>((resolve) => server.once('connection', resolve));
      try {
        const req = http.get(`${t.url}/payments/stats/stream`, { agent: false });
        req.on('error', () => undefined);
        await entered; // the first document is being computed
        const socket = await serverSide;
        const gone = once(socket, 'close');
        req.destroy();
        await gone; // the server has seen the client go

        finish();
        await answered.catch(() => undefined);
        await new Promise((resolve) => setImmediate(resolve)); // the handler's synchronous rest has run

        expect(streams.subscribers).toBe(0);
        expect(streams.openBy('ip:127.0.0.1')).toBe(0);
      } finally {
        spy.mockRestore();
        finish();
      }
    });
  });

  describe('auth on: per token subject within its organization, and in all', () => {
    const SECRET = 'stats-stream-e2e-secret-0123456789abcdef-0123456789abcdef';
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ authJwtSecret: SECRET, statsStreamsPerCaller: 2, statsStreamsMax: 3 });
    });
    afterAll(async () => {
      await t.close();
    });
    const as = async (org: string, sub: string) => ({
      authorization: `Bearer ${await new SignJWT({ org, scope: 'payments:read' })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(sub)
        .setIssuedAt()
        .setExpirationTime('10 min')
        .sign(new TextEncoder().encode(SECRET))}`,
    });

    it('caps each caller (the same subject in another organization is another caller), then everyone at the total: 429, then 503 STREAMS_FULL', async () => {
      const streams = t.app.get(StatsStreams);
      const [a1, a2, b] = await Promise.all([as('org-a', 'client-1'), as('org-a', 'client-2'), as('org-b', 'client-1')]);
      const first = await streamOf(t.url, a1);
      await streamOf(t.url, a1);
      await expectRefused(await streamOf(t.url, a1), 429, 'TOO_MANY_STREAMS');
      const other = await streamOf(t.url, b); // subject client-1 again, in org-b
      expect([first.status, other.status]).toEqual([200, 200]);

      await expectRefused(await streamOf(t.url, a2), 503, 'STREAMS_FULL');
      await expectRefused(await streamOf(t.url, b), 503, 'STREAMS_FULL');
      await expectRefused(await streamOf(t.url, a1), 429, 'TOO_MANY_STREAMS'); // its own cap first
      expect(streams.subscribers).toBe(3);

      const freed = streams.nextClose();
      first.close();
      await freed;
      const now = await streamOf(t.url, a2);
      expect(now.status).toBe(200);
      await now.waitFor(1);
      expect(streams.subscribers).toBe(3);
    });
  });
});
