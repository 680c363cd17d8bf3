import request from 'supertest';
import {
  bearerFor,
  Body,
  createPayment,
  expectInvalidFields,
  expectNotStored,
  expectProblem,
  expectStatus,
  getPayment,
  paymentBody,
  paymentPath,
  storedTotal,
  uniqueId,
  expectEachTestStoresNothing,
} from './e2e-helpers';
import { startTestApp, TestApp } from './test-app';

const BULK_MAX_ITEMS = 5;
const BODY_LIMIT = 16 * 1024;

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ bulkMaxItems: BULK_MAX_ITEMS, bodyLimitBytes: BODY_LIMIT });
});

afterAll(async () => {
  await t.close();
});

interface ItemResult {
  index: number;
  paymentId: string | null;
  status: number;
  error?: unknown;
}

describe('POST /payments/bulk imports each item on its own', () => {
  it('answers 200 with counts and one result per item: created, replayed, invalid, conflicting, repeated', async () => {
    const existing = await createPayment(t.url, { amount: 500 });
    const existingBody = {
      paymentId: existing.paymentId,
      organizationId: existing.organizationId,
      userId: existing.userId,
      amount: existing.amount,
      currency: existing.currency,
    };
    const fresh = paymentBody();
    const invalid = paymentBody({ amount: 0 });
    const total = await storedTotal(t.url);

    const res = await request(t.url)
      .post('/payments/bulk')
      .send({ payments: [fresh, invalid, existingBody, { ...existingBody, amount: 501 }, fresh] });

    expectStatus(res, 200);
    expect(res.headers['content-type']).toMatch(/^application\/json\b/);
    expect({ created: res.body.created, replayed: res.body.replayed, failed: res.body.failed }).toEqual({
      created: 1,
      replayed: 2,
      failed: 2,
    });
    const results = res.body.results as ItemResult[];
    expect(results).toHaveLength(5);
    expect(results[0]).toEqual({ index: 0, paymentId: fresh.paymentId, status: 201 });
    expect(results[1]).toMatchObject({ index: 1, paymentId: invalid.paymentId, status: 400 });
    expect(results[1]).toHaveProperty('error');
    expect(JSON.stringify(results[1].error)).toContain('amount');
    expect(results[2]).toEqual({ index: 2, paymentId: existing.paymentId, status: 200 });
    expect(results[3]).toMatchObject({ index: 3, paymentId: existing.paymentId, status: 409 });
    expect(results[3]).toHaveProperty('error');
    expect(results[4]).toEqual({ index: 4, paymentId: fresh.paymentId, status: 200 });

    expect(await getPayment(t.url, fresh.paymentId as string)).toMatchObject({ ...fresh, status: 'pending', version: 1 });
    await expectNotStored(t.url, invalid.paymentId as string);
    expect(await getPayment(t.url, existing.paymentId)).toEqual(existing);
    expect(await storedTotal(t.url)).toBe(total + 1);
  });

  it('stores valid items that come after failing ones', async () => {
    const items = [paymentBody({ currency: 'eu' }), paymentBody({ status: 'completed' }), paymentBody(), paymentBody()];

    const res = await request(t.url).post('/payments/bulk').send({ payments: items });

    expectStatus(res, 200);
    expect(res.body).toMatchObject({ created: 2, replayed: 0, failed: 2 });
    expect((res.body.results as ItemResult[]).map((r) => r.status)).toEqual([400, 400, 201, 201]);
    await expectNotStored(t.url, items[0].paymentId as string);
    await expectNotStored(t.url, items[1].paymentId as string);
    expect(await getPayment(t.url, items[2].paymentId as string)).toMatchObject(items[2]);
    expect(await getPayment(t.url, items[3].paymentId as string)).toMatchObject(items[3]);
  });

  it('reports the generated paymentId of an item that has none', async () => {
    const item = paymentBody();
    delete item.paymentId;

    const res = await request(t.url).post('/payments/bulk').send({ payments: [item] });

    expectStatus(res, 200);
    const [result] = res.body.results as ItemResult[];
    expect(result).toEqual({ index: 0, paymentId: expect.stringMatching(/^[0-9a-f-]{36}$/i), status: 201 });
    expect(await getPayment(t.url, result.paymentId as string)).toMatchObject(item);
  });

  it('answers 400 for an item that is not an object, and imports the rest', async () => {
    const valid = paymentBody();

    const res = await request(t.url).post('/payments/bulk').send({ payments: [42, null, 'payment', valid] });

    expectStatus(res, 200);
    expect(res.body).toMatchObject({ created: 1, replayed: 0, failed: 3 });
    expect((res.body.results as ItemResult[]).map((r) => [r.index, r.status])).toEqual([
      [0, 400],
      [1, 400],
      [2, 400],
      [3, 201],
    ]);
    expect(await getPayment(t.url, valid.paymentId as string)).toMatchObject(valid);
  });

  it('accepts exactly the configured maximum of items', async () => {
    const items = Array.from({ length: BULK_MAX_ITEMS }, () => paymentBody());

    const res = await request(t.url).post('/payments/bulk').send({ payments: items });

    expectStatus(res, 200);
    expect(res.body).toMatchObject({ created: BULK_MAX_ITEMS, replayed: 0, failed: 0 });
    for (const item of items) expect(await getPayment(t.url, item.paymentId as string)).toMatchObject(item);
  });

  it('makes imported payments visible to search and stats at once', async () => {
    const organizationId = uniqueId('org');
    const items = [paymentBody({ organizationId, amount: 100 }), paymentBody({ organizationId, amount: 200, currency: 'USD' })];

    await request(t.url).post('/payments/bulk').send({ payments: items });
    const search = await request(t.url).get('/payments/search').query({ organizationId });
    const stats = await request(t.url).get('/payments/stats').query({ organizationId });

    expect(search.body.total).toBe(2);
    expect(stats.body.amountByCurrency).toEqual({ EUR: 100, USD: 200 });
  });
});

/**
 * README: a bulk item's `error` is the problem its own POST /payments answers. Each case sends
 * the bulk first and the single create second: both are refused, so the second finds the store
 * as the first did. With auth on (403 for another organization) and a quota of one payment per
 * organization (507).
 */
describe("a bulk item's error is, field for field, the problem POST /payments answers for the same body", () => {
  const SECRET = 'bulk-problems-secret-0123456789abcdef0123456789abcdef';
  let authed: TestApp;
  let org: string;
  let token: string;

  beforeAll(async () => {
    authed = await startTestApp({ bulkMaxItems: BULK_MAX_ITEMS, authJwtSecret: SECRET, orgMaxPayments: 1 });
  });

  afterAll(async () => {
    await authed.close();
  });

  beforeEach(async () => {
    org = uniqueId('org');
    token = await bearerFor(SECRET, org, 'payments:write payments:read');
  });

  /** The item's result in a bulk of `item` alone, and the answer of POST /payments with `item`. */
  async function bulkAndAlone(item: unknown): Promise<{ result: ItemResult; alone: request.Response }> {
    const bulk = await request(authed.url).post('/payments/bulk').set('Authorization', token).send({ payments: [item] });
    expectStatus(bulk, 200);
    expect(bulk.body).toMatchObject({ created: 0, replayed: 0, failed: 1 });
    const alone = await request(authed.url)
      .post('/payments')
      .set('Authorization', token)
      .set('Content-Type', 'application/json')
      .send(JSON.stringify(item));
    return { result: (bulk.body.results as ItemResult[])[0], alone };
  }

  it('refuses amount -1 with the same VALIDATION_FAILED problem, code and instance included', async () => {
    const item = paymentBody({ organizationId: org, amount: -1 });

    const { result, alone } = await bulkAndAlone(item);

    expectInvalidFields(alone, ['amount']);
    expect(result).toEqual({ index: 0, paymentId: item.paymentId, status: 400, error: alone.body });
    expect(result.error).toMatchObject({ code: 'VALIDATION_FAILED', type: '/problems/validation-failed', instance: '/payments' });
  });

  it.each<[string, () => unknown]>([
    ['several bad fields', () => paymentBody({ organizationId: org, amount: 1.5, currency: 'eu', userId: '' })],
    ['a server-owned field', () => paymentBody({ organizationId: org, status: 'completed', version: 2 })],
    ['a reserved paymentId', () => paymentBody({ organizationId: org, paymentId: 'search' })],
    ['bad metadata', () => paymentBody({ organizationId: org, metadata: { nested: { deep: true } } })],
    ['no organizationId, amount 0', () => ({ userId: 'u', amount: 0, currency: 'EUR' })],
    ['a number, not an object', () => 42],
    ['null, not an object', () => null],
    ['a string, not an object', () => 'payment'],
    ['an array, not an object', () => [paymentBody({ organizationId: org })]],
  ])('refuses %s with the same 400 problem', async (_case, body) => {
    const item = body();

    const { result, alone } = await bulkAndAlone(item);

    expectProblem(alone, 400);
    expect(result).toMatchObject({ index: 0, status: 400 });
    expect(result.error).toEqual(alone.body);
  });

  it('refuses a paymentId stored with other fields with the same PAYMENT_ID_CONFLICT problem', async () => {
    const stored = paymentBody({ organizationId: org });
    expectStatus(await request(authed.url).post('/payments').set('Authorization', token).send(stored), 201);
    const item: Body = { ...stored, amount: (stored.amount as number) + 1 };

    const { result, alone } = await bulkAndAlone(item);

    expectProblem(alone, 409);
    expect(result).toEqual({ index: 0, paymentId: item.paymentId, status: 409, error: alone.body });
    expect(result.error).toMatchObject({ code: 'PAYMENT_ID_CONFLICT' });
  });

  it('refuses an item for another organization with the same ORGANIZATION_FORBIDDEN problem', async () => {
    const item = paymentBody();

    const { result, alone } = await bulkAndAlone(item);

    expectProblem(alone, 403);
    expect(result).toEqual({ index: 0, paymentId: item.paymentId, status: 403, error: alone.body });
    expect(result.error).toMatchObject({ code: 'ORGANIZATION_FORBIDDEN' });
  });

  it('refuses an invalid item for another organization as forbidden, as POST /payments does (tenancy before validation in both)', async () => {
    const item = paymentBody({ amount: -1 });

    const { result, alone } = await bulkAndAlone(item);

    expectProblem(alone, 403);
    expect(result).toEqual({ index: 0, paymentId: item.paymentId, status: 403, error: alone.body });
    expect(result.error).toMatchObject({ code: 'ORGANIZATION_FORBIDDEN' });
  });

  it('refuses a create past the organization quota with the same ORGANIZATION_QUOTA_EXCEEDED problem', async () => {
    expectStatus(await request(authed.url).post('/payments').set('Authorization', token).send(paymentBody({ organizationId: org })), 201);
    const item = paymentBody({ organizationId: org });

    const { result, alone } = await bulkAndAlone(item);

    expectProblem(alone, 507);
    expect(result).toEqual({ index: 0, paymentId: item.paymentId, status: 507, error: alone.body });
    expect(result.error).toMatchObject({ code: 'ORGANIZATION_QUOTA_EXCEEDED' });
    expectProblem(await request(authed.url).get(paymentPath(item.paymentId as string)).set('Authorization', token), 404);
  });
});

describe('POST /payments/bulk rejects a body not of its shape with 400 and stores nothing', () => {
  expectEachTestStoresNothing(() => t.url);

  it.each<[string, () => Body, string]>([
    ['payments is an empty array', () => ({ payments: [] }), 'payments'],
    ['payments is an object', () => ({ payments: paymentBody() }), 'payments'],
    ['payments is a string', () => ({ payments: 'all of them' }), 'payments'],
    ['payments is null', () => ({ payments: null }), 'payments'],
    ['payments is missing', () => ({}), 'payments'],
  ])('names payments when %s', async (_case, body, field) => {
    const res = await request(t.url).post('/payments/bulk').send(body());

    expectInvalidFields(res, [field]);
  });

  it('names an unknown top-level property and imports none of the items', async () => {
    const item = paymentBody();

    const res = await request(t.url).post('/payments/bulk').send({ payments: [item], dryRun: false });

    expectInvalidFields(res, ['dryRun']);
    await expectNotStored(t.url, item.paymentId as string);
  });

  it('answers 400 naming payments for more items than allowed, and imports none of them', async () => {
    const items = Array.from({ length: BULK_MAX_ITEMS + 1 }, () => paymentBody());

    const res = await request(t.url).post('/payments/bulk').send({ payments: items });

    expectInvalidFields(res, ['payments']);
    for (const item of items) await expectNotStored(t.url, item.paymentId as string);
  });

  it('answers 400 for a top-level array of payments', async () => {
    const item = paymentBody();

    const res = await request(t.url).post('/payments/bulk').send([item]);

    expectProblem(res, 400);
    await expectNotStored(t.url, item.paymentId as string);
  });

  it('answers 400 for malformed JSON', async () => {
    const res = await request(t.url).post('/payments/bulk').set('Content-Type', 'application/json').send('{"payments": [');

    expectProblem(res, 400);
  });

  it('answers 415 for a body that is not application/json', async () => {
    const item = paymentBody();

    const res = await request(t.url).post('/payments/bulk').set('Content-Type', 'text/plain').send(JSON.stringify({ payments: [item] }));

    expectProblem(res, 415);
    await expectNotStored(t.url, item.paymentId as string);
  });

  it('answers 413 for a body over the configured limit', async () => {
    const metadata = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`key${i}`, 'v'.repeat(500)]));
    const items = Array.from({ length: BULK_MAX_ITEMS }, () => paymentBody({ metadata }));
    const body = { payments: items };

    const res = await request(t.url).post('/payments/bulk').send(body);

    expect(JSON.stringify(body).length).toBeGreaterThan(BODY_LIMIT);
    expectProblem(res, 413);
    for (const item of items) await expectNotStored(t.url, item.paymentId as string);
  });
});
