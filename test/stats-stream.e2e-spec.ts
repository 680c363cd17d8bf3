import request from 'supertest';
import { applyEvent, createPayment, expectProblem, uniqueId } from './e2e-helpers';
import { openStream, Stream } from './sse-client';
import { startTestApp, TestApp } from './test-app';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

  it('sends a fresh document when a payment of the organization is created or changes, and nothing for another organization', async () => {
    const organizationId = uniqueId('org');
    const s = await stream({ organizationId });
    await s.waitFor(1);

    const other = await createPayment(t.url, { organizationId: uniqueId('org-other') });
    await sleep(1300);
    expect(s.events).toHaveLength(1); // another organization's write computes nothing here

    const started = Date.now();
    const p = await createPayment(t.url, { organizationId, amount: 2000, currency: 'EUR' });
    const [, second] = await s.waitFor(2, 3000);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(second).toEqual(await stats({ organizationId }));
    expect(second).toMatchObject({ total: 1, byStatus: { pending: 1 } });

    await applyEvent(t.url, p.paymentId, { type: 'PaymentProcessed', occurredAt: new Date().toISOString() });
    const [, , third] = await s.waitFor(3, 3000);
    expect(third).toMatchObject({ total: 1, byStatus: { pending: 0, completed: 1 } });
    expect(other.organizationId).not.toBe(organizationId);
  });

  it('sends at most one document per second while writes keep coming, and the last one is up to date', async () => {
    const organizationId = uniqueId('org');
    const s = await stream({ organizationId });
    await s.waitFor(1);
    const started = Date.now();
    for (let i = 0; i < 30; i++) {
      await createPayment(t.url, { organizationId, amount: 100 + i });
      await sleep(50);
    }
    await sleep(1200); // the trailing change is sent within a second
    const elapsed = Date.now() - started;
    const sent = s.events.length - 1;
    expect(sent).toBeGreaterThanOrEqual(1);
    expect(sent).toBeLessThanOrEqual(Math.ceil(elapsed / 1000) + 1);
    expect(s.events[s.events.length - 1]).toEqual(await stats({ organizationId }));
    expect(s.events[s.events.length - 1]).toMatchObject({ total: 30 });
  });

  it('answers a bad filter with the same 400 problem as GET /payments/stats, and no stream', async () => {
    const res = await request(t.url).get('/payments/stats/stream').query({ minAmount: 'ten', interval: 'day' });
    expectProblem(res, 400);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(
      (await request(t.url).get('/payments/stats').query({ minAmount: 'ten', interval: 'day' })).body.errors.map((e: { field: string }) => e.field),
    );
  });

  it('lets go of a subscriber that disconnects, and ends open streams when the app closes', async () => {
    const organizationId = uniqueId('org');
    const s = await stream({ organizationId });
    await s.waitFor(1);
    s.close();
    await sleep(100);
    await createPayment(t.url, { organizationId }); // nothing to write to: must not throw
    const other = await startTestApp();
    const live = await openStream(other.url, {});
    await live.waitFor(1);
    const closing = Date.now();
    await other.close(); // would hang on the open stream if it were not ended
    expect(Date.now() - closing).toBeLessThan(5000);
  });
});
