import request from 'supertest';
import { StatsStreams } from '../src/payments/queries/stats-streams';
import { applyEvent, createPayment, expectProblem, uniqueId } from './e2e-helpers';
import { eventually } from './pg-helpers';
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
