import request, { Response } from 'supertest';
import { bearerFor, Body, expectNotStored, expectProblem, expectStatus, Payment, paymentBody, paymentPath, uniqueId } from './e2e-helpers';
import { largestPaymentBody, longOrganizationId } from './largest-payment';
import { startTestApp, TestApp } from './test-app';

/**
 * One organization cannot take the store from the others (issue 20, finding 3): each
 * organization has a quota of payments and of estimated bytes (ORG_MAX_PAYMENTS,
 * ORG_MAX_STORE_BYTES: half of the store's unless configured), the store a byte budget
 * (MAX_STORE_BYTES) beside MAX_PAYMENTS. A create past one is a 507 problem and stores nothing,
 * a bulk item past one fails alone, a replay is never refused. In memory and (e2e-pg)
 * PostgreSQL mode.
 */

interface ItemResult {
  index: number;
  paymentId: string | null;
  status: number;
  error?: { type: string; status: number; detail: string };
}

async function bulk(url: string, payments: Body[], authorization?: string): Promise<{ created: number; failed: number; results: ItemResult[] }> {
  const req = request(url).post('/payments/bulk');
  if (authorization) req.set('Authorization', authorization);
  const res = await req.send({ payments });
  expectStatus(res, 200);
  return res.body;
}

function expectQuotaProblem(res: Response, quota: 'ORG_MAX_PAYMENTS' | 'ORG_MAX_STORE_BYTES'): void {
  expectProblem(res, 507);
  expect(res.body).toMatchObject({ code: 'ORGANIZATION_QUOTA_EXCEEDED', type: '/problems/organization-quota-exceeded' });
  expect(res.body.detail).toContain(quota);
}

/** What a retry of `payment` sends: the same paymentId and fields. */
function replayOf(payment: Payment): Body {
  const { paymentId, organizationId, userId, amount, currency, description, metadata } = payment;
  return { paymentId, organizationId, userId, amount, currency, ...(description === null ? {} : { description }), metadata };
}

/** Neither served nor in the primary repository (PostgreSQL mode: the database; memory mode: the store). */
async function expectNowhere(url: string, paymentId: string): Promise<void> {
  await expectNotStored(url, paymentId);
  expectProblem(await request(url).get(`/admin/sync/${encodeURIComponent(paymentId)}`), 404);
}

async function countOf(url: string, organizationId: string): Promise<number> {
  const res = await request(url).get('/payments/stats').query({ organizationId });
  expectStatus(res, 200);
  return res.body.total as number;
}

describe('the organization quota of payments, by default half of MAX_PAYMENTS', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ maxPayments: 50 }); // the security probe's setting: one organization filled it
  });

  afterAll(async () => {
    await t.close();
  });

  it('fills one organization\'s half with its bulk, fails each item past it alone with 507, and still serves another organization', async () => {
    const orgA = uniqueId('org-a');
    const orgB = uniqueId('org-b');
    const items = Array.from({ length: 50 }, () => paymentBody({ organizationId: orgA }));

    const answer = await bulk(t.url, items);

    expect({ created: answer.created, failed: answer.failed }).toEqual({ created: 25, failed: 25 });
    expect(answer.results.slice(0, 25).map((r) => r.status)).toEqual(Array(25).fill(201));
    for (const r of answer.results.slice(25)) {
      expect(r).toMatchObject({ status: 507, paymentId: items[r.index].paymentId, error: { type: '/problems/organization-quota-exceeded', status: 507 } });
      expect(r.error?.detail).toContain('ORG_MAX_PAYMENTS');
    }
    for (const item of items.slice(25)) await expectNowhere(t.url, item.paymentId as string);
    expect(await countOf(t.url, orgA)).toBe(25);

    const single = await request(t.url).post('/payments').send(paymentBody({ organizationId: orgB }));
    const ofB = await bulk(t.url, [paymentBody({ organizationId: orgB }), paymentBody({ organizationId: orgB })]);
    expectStatus(single, 201);
    expect(ofB).toMatchObject({ created: 2, failed: 0 });
    expectStatus(await request(t.url).get(paymentPath(single.body.paymentId)), 200);
    expect(await countOf(t.url, orgB)).toBe(3);
  });
});

describe('an organization at its quota (ORG_MAX_PAYMENTS=3)', () => {
  let t: TestApp;
  let org: string;
  let stored: Payment[];

  beforeAll(async () => {
    t = await startTestApp({ orgMaxPayments: 3 });
    org = uniqueId('org-full');
    stored = [];
    for (let i = 0; i < 3; i++) {
      const res = await request(t.url).post('/payments').send(paymentBody({ organizationId: org, description: `n${i}`, metadata: { i: String(i) } }));
      expectStatus(res, 201);
      stored.push(res.body as Payment);
    }
  });

  afterAll(async () => {
    await t.close();
  });

  it('answers a create 507 problem+json ORGANIZATION_QUOTA_EXCEEDED and stores nothing of it', async () => {
    const body = paymentBody({ organizationId: org });

    const res = await request(t.url).post('/payments').send(body);

    expectQuotaProblem(res, 'ORG_MAX_PAYMENTS');
    expect(res.body.detail).toContain(org);
    await expectNowhere(t.url, body.paymentId as string);
    expect(await countOf(t.url, org)).toBe(3);
  });

  it('still replays a stored payment (200, unchanged) and still tells a conflicting one (409)', async () => {
    const replay = await request(t.url).post('/payments').send(replayOf(stored[0]));
    const conflict = await request(t.url).post('/payments').send({ ...replayOf(stored[1]), amount: stored[1].amount + 1 });

    expectStatus(replay, 200);
    expect(replay.body).toEqual(stored[0]);
    expectProblem(conflict, 409);
    expect(conflict.body.code).toBe('PAYMENT_ID_CONFLICT');
  });

  it('in a bulk, refuses only its new items: replays, other organizations\' items and invalid ones each get their own status', async () => {
    const mine = paymentBody({ organizationId: org });
    const other = paymentBody();

    const answer = await bulk(t.url, [mine, replayOf(stored[2]), other, paymentBody({ amount: 0 })]);

    expect(answer.results.map((r) => r.status)).toEqual([507, 200, 201, 400]);
    expect(answer.results[0].error?.type).toBe('/problems/organization-quota-exceeded');
    await expectNowhere(t.url, mine.paymentId as string);
    expectStatus(await request(t.url).get(paymentPath(other.paymentId as string)), 200);
  });

  it('still applies events to its stored payments', async () => {
    const res = await request(t.url).post(`${paymentPath(stored[0].paymentId)}/events`).send({ type: 'PaymentProcessed' });

    expectStatus(res, 200);
    expect(res.body.status).toBe('completed');
  });
});

describe('the organization quota of bytes, by default half of MAX_STORE_BYTES', () => {
  // about five of the largest payments in all, two and a half per organization
  const STORE_BYTES = 5 * 48 * 1024;
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ maxStoreBytes: STORE_BYTES });
  });

  afterAll(async () => {
    await t.close();
  });

  it('refuses an organization\'s largest payments past its bytes while another organization\'s are stored', async () => {
    const orgA = longOrganizationId('org-a');
    const orgB = longOrganizationId('org-b');
    const items = Array.from({ length: 5 }, () => largestPaymentBody(orgA));

    const answer = await bulk(t.url, items);
    const ofB = await request(t.url).post('/payments').send(largestPaymentBody(orgB));

    const statuses = answer.results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201).length).toBeGreaterThanOrEqual(1);
    expect(statuses).toEqual([...statuses.filter((s) => s === 201), ...statuses.filter((s) => s === 507)]); // created until full, then refused
    expect(statuses).toContain(507);
    for (const r of answer.results.filter((r) => r.status === 507)) {
      expect(r.error?.type).toBe('/problems/organization-quota-exceeded');
      expect(r.error?.detail).toContain('ORG_MAX_STORE_BYTES');
      await expectNowhere(t.url, r.paymentId as string);
    }
    expectStatus(ofB, 201);
  });
});

describe('an organization at its quota of bytes (ORG_MAX_STORE_BYTES)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ orgMaxStoreBytes: 3 * 48 * 1024 });
  });

  afterAll(async () => {
    await t.close();
  });

  it('admits a small payment of that organization where a large one no longer fits: the quota is of bytes, not of payments', async () => {
    const org = longOrganizationId('org-c');
    let refused: Body | undefined;
    while (refused === undefined) {
      const body = largestPaymentBody(org);
      const res = await request(t.url).post('/payments').send(body);
      if (res.status === 507) {
        expectQuotaProblem(res, 'ORG_MAX_STORE_BYTES');
        refused = body;
      } else expectStatus(res, 201);
    }

    const small = await request(t.url).post('/payments').send(paymentBody({ organizationId: org }));

    expectStatus(small, 201);
    await expectNowhere(t.url, refused.paymentId as string);
  });
});

describe('the store\'s byte budget (MAX_STORE_BYTES)', () => {
  const STORE_BYTES = 3 * 48 * 1024;
  let t: TestApp;

  beforeAll(async () => {
    // the organizations may each take it all here: what is left is the store's own limit
    t = await startTestApp({ maxStoreBytes: STORE_BYTES, orgMaxStoreBytes: STORE_BYTES });
  });

  afterAll(async () => {
    await t.close();
  });

  it('refuses every organization with 507 STORE_FULL once full, stores nothing more, and still replays', async () => {
    const org = longOrganizationId();
    const stored: Payment[] = [];
    let full: Response | undefined;
    while (full === undefined) {
      const res = await request(t.url).post('/payments').send(largestPaymentBody(org));
      if (res.status === 507) full = res;
      else {
        expectStatus(res, 201);
        stored.push(res.body as Payment);
      }
    }
    const other = await request(t.url).post('/payments').send(largestPaymentBody(longOrganizationId()));
    const replay = await request(t.url).post('/payments').send(replayOf(stored[0]));

    expect(stored.length).toBeGreaterThanOrEqual(1);
    for (const res of [full, other]) {
      expectProblem(res, 507);
      expect(res.body).toMatchObject({ code: 'STORE_FULL', type: '/problems/store-full' });
      expect(res.body.detail).toContain('MAX_STORE_BYTES');
    }
    expectStatus(replay, 200);
    expect(replay.body).toEqual(stored[0]);
  });
});

describe('the quotas with auth on: the token\'s organization', () => {
  const SECRET = 'quotas-e2e-secret-0123456789abcdef0123456789abcdef';
  let t: TestApp;

  const bearer = (org: string, scope = 'payments:read payments:write') => bearerFor(SECRET, org, scope);

  beforeAll(async () => {
    t = await startTestApp({ authJwtSecret: SECRET, maxPayments: 20 });
  });

  afterAll(async () => {
    await t.close();
  });

  it('lets one write token fill its organization\'s half only; another organization\'s token still creates and reads', async () => {
    const orgA = uniqueId('org-a');
    const orgB = uniqueId('org-b');
    const [tokenA, tokenB] = [await bearer(orgA), await bearer(orgB)];

    const answer = await bulk(
      t.url,
      Array.from({ length: 15 }, () => paymentBody({ organizationId: undefined })),
      tokenA,
    );
    const created = await request(t.url).post('/payments').set('Authorization', tokenB).send(paymentBody({ organizationId: undefined }));
    const read = await request(t.url).get(paymentPath(created.body.paymentId)).set('Authorization', tokenB);
    const search = await request(t.url).get('/payments/search').set('Authorization', tokenB);

    expect({ created: answer.created, failed: answer.failed }).toEqual({ created: 10, failed: 5 });
    expect(answer.results.slice(10).every((r) => r.status === 507 && r.error?.type === '/problems/organization-quota-exceeded')).toBe(true);
    expectStatus(created, 201);
    expect(created.body.organizationId).toBe(orgB);
    expectStatus(read, 200);
    expectStatus(search, 200);
    expect(search.body.total).toBe(1);
  });

  it("shows an organization's admin its usage against its quota at /admin/store, and the operator the store's", async () => {
    const org = uniqueId('org-c');
    await bulk(t.url, Array.from({ length: 3 }, () => paymentBody({ organizationId: undefined })), await bearer(org));

    const asAdmin = await request(t.url).get('/admin/store').set('Authorization', await bearer(org, 'admin'));
    const asOperator = await request(t.url).get('/admin/store').set('Authorization', await bearer(uniqueId('org-ops'), 'operator'));

    expectStatus(asAdmin, 200);
    expect(asAdmin.body.capacity).toEqual({ payments: 3, maxPayments: 10, bytes: expect.any(Number), maxBytes: expect.any(Number) });
    expect(asAdmin.body.capacity.bytes).toBeGreaterThan(0);
    expectStatus(asOperator, 200);
    expect(asOperator.body.capacity).toMatchObject({ payments: asOperator.body.payments, maxPayments: 20 });
    expect(Math.floor(asOperator.body.capacity.maxBytes / 2)).toBe(asAdmin.body.capacity.maxBytes); // half, by default
    expect(asOperator.body.capacity.bytes).toBeGreaterThan(asAdmin.body.capacity.bytes);
  });
});

describe('the quotas in the OpenAPI document', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });

  afterAll(async () => {
    await t.close();
  });

  it('declares 507 with STORE_FULL and ORGANIZATION_QUOTA_EXCEEDED on POST /payments, in the bulk item statuses, and STORE_FULL on events', async () => {
    const res = await request(t.url).get('/docs/json');
    expectStatus(res, 200);
    const { paths, components } = res.body as {
      paths: Record<string, Record<string, { responses: Record<string, { description: string; content?: Record<string, unknown> }> }>>;
      components: { schemas: Record<string, { properties: Record<string, { enum?: number[]; description?: string }> }> };
    };

    const create = paths['/payments'].post.responses['507'];
    expect(create.description).toContain('STORE_FULL');
    expect(create.description).toContain('ORGANIZATION_QUOTA_EXCEEDED');
    expect(Object.keys(create.content ?? {})).toEqual(['application/problem+json']);
    expect(paths['/payments/{id}/events'].post.responses['507'].description).toContain('STORE_FULL');
    const itemStatus = components.schemas.ImportItemResponse.properties.status;
    expect(itemStatus.enum).toContain(507);
    expect(itemStatus.description).toContain('/problems/organization-quota-exceeded');
  });
});
