import request, { Response } from 'supertest';
import { createPayment, expectStatus, getPayment, moveTo, paymentBody, paymentPath, sendEvent, uniqueId } from './e2e-helpers';
import { startTestApp, TestApp } from './test-app';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});

afterAll(async () => {
  await t.close();
});

function countBy(responses: Response[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const r of responses) counts[r.status] = (counts[r.status] ?? 0) + 1;
  return counts;
}

describe('parallel requests', () => {
  it('stores every one of 200 parallel creates', async () => {
    const organizationId = uniqueId('org');
    const bodies = Array.from({ length: 200 }, () => paymentBody({ organizationId }));

    const responses = await Promise.all(bodies.map((b) => request(t.url).post('/payments').send(b)));

    expect(countBy(responses)).toEqual({ 201: 200 });
    const stats = await request(t.url).get('/payments/stats').query({ organizationId });
    expect(stats.body.total).toBe(200);
    const reads = await Promise.all(bodies.map((b) => request(t.url).get(paymentPath(b.paymentId as string))));
    expect(countBy(reads)).toEqual({ 200: 200 });
    expect(reads.map((r) => r.body.amount)).toEqual(bodies.map((b) => b.amount));
    const search = await request(t.url).get('/payments/search').query({ organizationId, size: 100 });
    expect(search.body.total).toBe(200);
  });

  it('creates a paymentId raced 20 times exactly once: one 201 and nineteen 200 with the same payment', async () => {
    const body = paymentBody();

    const responses = await Promise.all(Array.from({ length: 20 }, () => request(t.url).post('/payments').send(body)));

    expect(countBy(responses)).toEqual({ 201: 1, 200: 19 });
    const stored = await getPayment(t.url, body.paymentId as string);
    for (const r of responses) expect(r.body).toEqual(stored);
    const stats = await request(t.url).get('/payments/stats').query({ organizationId: body.organizationId as string });
    expect(stats.body.total).toBe(1);
  });

  it('lets only one of two different bodies raced on one paymentId win; the losers get 409', async () => {
    const first = paymentBody({ amount: 100 });
    const second = { ...first, amount: 200 };

    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => request(t.url).post('/payments').send(i % 2 === 0 ? first : second)),
    );

    const stored = await getPayment(t.url, first.paymentId as string);
    const winnerAmount = stored.amount;
    const sameAsWinner = responses.filter((_, i) => (i % 2 === 0 ? 100 : 200) === winnerAmount);
    const others = responses.filter((_, i) => (i % 2 === 0 ? 100 : 200) !== winnerAmount);
    expect(countBy(sameAsWinner)).toEqual({ 201: 1, 200: 9 });
    expect(countBy(others)).toEqual({ 409: 10 });
    expect(stored.version).toBe(1);
  });

  it('serves 15 parallel refunds of 100 on a completed 1000 as exactly 10 refunds and 5 × 422', async () => {
    const { paymentId } = await createPayment(t.url, { amount: 1000 });
    await moveTo(t.url, paymentId, 'completed');

    const responses = await Promise.all(
      Array.from({ length: 15 }, () => sendEvent(t.url, paymentId, { type: 'PaymentRefunded', data: { refundAmount: 100 } })),
    );

    expect(countBy(responses)).toEqual({ 200: 10, 422: 5 });
    const refundedAmounts = responses.filter((r) => r.status === 200).map((r) => r.body.refundedAmount as number);
    expect(refundedAmounts.sort((a, b) => a - b)).toEqual([100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
    const final = await getPayment(t.url, paymentId);
    expect(final).toMatchObject({ status: 'refunded', refundedAmount: 1000, version: 12 });
  });

  it('applies one eventId delivered 10 times in parallel exactly once', async () => {
    const { paymentId } = await createPayment(t.url, { amount: 1000 });
    await moveTo(t.url, paymentId, 'completed');

    const responses = await Promise.all(
      Array.from({ length: 10 }, () =>
        sendEvent(t.url, paymentId, { eventId: 'refund-once', type: 'PaymentRefunded', data: { refundAmount: 100 } }),
      ),
    );

    expect(countBy(responses)).toEqual({ 200: 10 });
    for (const r of responses) expect(r.body).toMatchObject({ refundedAmount: 100, version: 3 });
    expect(await getPayment(t.url, paymentId)).toMatchObject({ refundedAmount: 100, version: 3 });
  });

  it('lets exactly one of PaymentProcessed and PaymentFailed raced on a pending payment win', async () => {
    const { paymentId } = await createPayment(t.url);

    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        sendEvent(t.url, paymentId, i % 2 === 0 ? { type: 'PaymentProcessed' } : { type: 'PaymentFailed', data: { error: 'declined' } }),
      ),
    );

    expect(countBy(responses)).toEqual({ 200: 1, 409: 9 });
    const final = await getPayment(t.url, paymentId);
    expect(final.version).toBe(2);
    expect(responses.find((r) => r.status === 200)?.body).toEqual(final);
  });

  it('answers searches and stats made during parallel writes without error', async () => {
    const organizationId = uniqueId('org');
    const writes = Array.from({ length: 50 }, () => request(t.url).post('/payments').send(paymentBody({ organizationId })));
    const reads = Array.from({ length: 50 }, (_, i) =>
      i % 2 === 0
        ? request(t.url).get('/payments/search').query({ organizationId })
        : request(t.url).get('/payments/stats').query({ organizationId }),
    );

    const [written, read] = await Promise.all([Promise.all(writes), Promise.all(reads)]);

    expect(countBy(written)).toEqual({ 201: 50 });
    expect(countBy(read)).toEqual({ 200: 50 });
    const final = await request(t.url).get('/payments/stats').query({ organizationId });
    expectStatus(final, 200);
    expect(final.body.total).toBe(50);
  });
});
