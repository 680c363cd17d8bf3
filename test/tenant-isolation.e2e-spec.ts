import request, { Response } from 'supertest';
import { bearerFor, Body, expectProblem, expectStatus, paymentBody, paymentPath, uniqueId } from './e2e-helpers';
import { startTestApp, TestApp } from './test-app';

/**
 * Tenant isolation (issue 20, findings 1 and 2): paymentIds belong to their organization, so no
 * answer to one organization depends on another's payments and no organization can take
 * another's paymentIds; an organization's admin acts on its own organization only, the
 * platform operator (the `operator` scope) on all. In memory and (e2e-pg) PostgreSQL mode.
 */
const SECRET = 'tenant-isolation-secret-0123456789abcdef0123456789';
const bearer = (org: string, scope: string) => bearerFor(SECRET, org, scope);

const get = (url: string, path: string, authorization?: string) => {
  const r = request(url).get(path);
  return authorization ? r.set('Authorization', authorization) : r;
};
const post = (url: string, path: string, body: Body | undefined, authorization?: string) => {
  const r = request(url).post(path);
  if (authorization) r.set('Authorization', authorization);
  return body === undefined ? r : r.send(body);
};

/** A response as a string: what a caller could learn from it, headers and body. */
const observable = (res: Response) => JSON.stringify({ status: res.status, headers: withoutVolatile(res.headers), body: res.body });
const VOLATILE_HEADERS = new Set(['date', 'content-length', 'x-request-id', 'ratelimit-reset', 'x-ratelimit-reset', 'etag']);
function withoutVolatile(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !VOLATILE_HEADERS.has(name)));
}

describe('tenant isolation with auth on', () => {
  let t: TestApp;
  let orgA: string;
  let orgB: string;
  let tokenA: string;
  let tokenB: string;
  let adminA: string;
  let operator: string;

  beforeAll(async () => {
    t = await startTestApp({ authJwtSecret: SECRET });
    orgA = uniqueId('org-a');
    orgB = uniqueId('org-b');
    tokenA = await bearer(orgA, 'payments:read payments:write');
    tokenB = await bearer(orgB, 'payments:read payments:write');
    adminA = await bearer(orgA, 'payments:read admin');
    operator = await bearer(uniqueId('org-platform'), 'operator');
  });

  afterAll(async () => {
    await t.close();
  });

  const secret = (paymentId: string): Body => ({
    paymentId,
    userId: 'bob-user',
    amount: 777_700,
    currency: 'USD',
    description: 'ORG-B CONFIDENTIAL',
  });

  describe('paymentIds are unique per organization', () => {
    it("answers org A's create with org B's paymentId as a new payment of org A: no 409, nothing of B's in the answer", async () => {
      const id = uniqueId('pb_secret');
      expectStatus(await post(t.url, '/payments', secret(id), tokenB), 201);

      const guess = await post(t.url, '/payments', { paymentId: id, userId: 'guess', amount: 1, currency: 'EUR' }, tokenA);

      expectStatus(guess, 201);
      expect(guess.body).toMatchObject({ paymentId: id, organizationId: orgA, userId: 'guess', amount: 1, currency: 'EUR' });
      expect(JSON.stringify(guess.body)).not.toMatch(/bob-user|777700|CONFIDENTIAL/);
      // each organization reads its own payment under the same id
      expect((await get(t.url, paymentPath(id), tokenA)).body).toMatchObject({ organizationId: orgA, amount: 1 });
      expect((await get(t.url, paymentPath(id), tokenB)).body).toMatchObject({ organizationId: orgB, amount: 777_700, description: 'ORG-B CONFIDENTIAL' });
    });

    it('gives org A the same answers to its guesses whether or not org B holds the paymentId (single and bulk)', async () => {
      // Two fresh ids: org B holds one of them. Every answer org A gets for the held one must be
      // byte for byte what it gets for the free one (bar the id): nothing depends on org B's data.
      const held = uniqueId('pb_held');
      const free = uniqueId('pb_free');
      expectStatus(await post(t.url, '/payments', secret(held), tokenB), 201);
      const answersFor = async (id: string) => {
        const guesses = [1, 777_700, 777_701].map((amount) => ({ paymentId: id, userId: 'bob-user', amount, currency: 'USD' }));
        const single = await post(t.url, '/payments', { ...guesses[1], paymentId: `${id}-x` }, tokenA);
        const bulk = await post(t.url, '/payments/bulk', { payments: guesses }, tokenA);
        const read = await get(t.url, paymentPath(id), tokenA);
        const event = await post(t.url, `${paymentPath(`${id}-y`)}/events`, { type: 'PaymentProcessed' }, tokenA);
        return [single, bulk, read, event].map((res) => observable(res).split(id).join('<id>'));
      };

      const forHeld = await answersFor(held);
      const forFree = await answersFor(free);

      expect(forHeld.map(stripTimes)).toEqual(forFree.map(stripTimes));
      // org B's payment is as it was
      expect((await get(t.url, paymentPath(held), tokenB)).body).toMatchObject({ organizationId: orgB, amount: 777_700, version: 1 });
    });

    it("lets org B create the ids org A took first: no organization blocks another's paymentIds", async () => {
      const ids = [uniqueId('invoice-2026'), uniqueId('invoice-2026')];
      const claimed = await post(t.url, '/payments/bulk', { payments: ids.map((paymentId) => ({ paymentId, userId: 'squatter', amount: 5, currency: 'EUR' })) }, tokenA);
      expect(claimed.body).toMatchObject({ created: 2, failed: 0 });

      for (const paymentId of ids) {
        const mine = await post(t.url, '/payments', { paymentId, userId: 'owner', amount: 9_900, currency: 'EUR' }, tokenB);
        expectStatus(mine, 201);
        expect(mine.body).toMatchObject({ paymentId, organizationId: orgB, userId: 'owner' });
        expect(mine.headers.location).toBe(paymentPath(paymentId));
        // a retry is still a replay, and a different body a 409 listing only org B's own fields
        expectStatus(await post(t.url, '/payments', { paymentId, userId: 'owner', amount: 9_900, currency: 'EUR' }, tokenB), 200);
        const conflict = await post(t.url, '/payments', { paymentId, userId: 'owner', amount: 1, currency: 'EUR' }, tokenB);
        expectProblem(conflict, 409);
        expect(conflict.body.detail).toMatch(/different amount;/);
      }
    });

    it("applies an event to the caller's own payment only, and keeps event ids per payment", async () => {
      const id = uniqueId('shared');
      expectStatus(await post(t.url, '/payments', { paymentId: id, userId: 'u', amount: 100, currency: 'EUR' }, tokenA), 201);
      expectStatus(await post(t.url, '/payments', { paymentId: id, userId: 'u', amount: 100, currency: 'EUR' }, tokenB), 201);

      const processed = await post(t.url, `${paymentPath(id)}/events`, { eventId: 'evt-1', type: 'PaymentProcessed' }, tokenB);
      const failed = await post(t.url, `${paymentPath(id)}/events`, { eventId: 'evt-1', type: 'PaymentFailed', data: { error: 'x' } }, tokenA);

      expect(processed.body).toMatchObject({ organizationId: orgB, status: 'completed', version: 2 });
      expect(failed.body).toMatchObject({ organizationId: orgA, status: 'failed', version: 2 });
      expect((await get(t.url, paymentPath(id), tokenB)).body).toMatchObject({ status: 'completed' });
    });

    it("refuses an organizationId query parameter naming another organization with 403, and reads org B's payment nowhere", async () => {
      const id = uniqueId('pb');
      expectStatus(await post(t.url, '/payments', secret(id), tokenB), 201);

      const read = await get(t.url, `${paymentPath(id)}?organizationId=${orgB}`, tokenA);
      const event = await post(t.url, `${paymentPath(id)}/events?organizationId=${orgB}`, { type: 'PaymentProcessed' }, tokenA);
      const own = await get(t.url, `${paymentPath(id)}?organizationId=${orgA}`, tokenA);

      expectProblem(read, 403);
      expectProblem(event, 403);
      expect(read.body.errors ?? []).toEqual([]);
      expectProblem(own, 404);
      expect((await get(t.url, paymentPath(id), tokenB)).body).toMatchObject({ status: 'pending', version: 1 });
    });
  });

  /**
   * The tenancy rule (tenancy.ts: actingOrganization), once per route that can name an
   * organization: naming org B with org A's token is a 403 ORGANIZATION_FORBIDDEN naming the
   * field, and org B's data is as it was. Bulk refuses the item, not the request.
   */
  describe('the tenancy rule, route by route', () => {
    type Case = [route: string, send: (id: string) => Promise<Response>];
    const cases: Case[] = [
      ['POST /payments', (id) => post(t.url, '/payments', { ...secret(`${id}-new`), organizationId: orgB }, tokenA)],
      ['GET /payments/search', () => get(t.url, `/payments/search?organizationId=${orgB}`, tokenA)],
      ['GET /payments/stats', () => get(t.url, `/payments/stats?organizationId=${orgB}`, tokenA)],
      ['GET /payments/stats/stream', () => get(t.url, `/payments/stats/stream?organizationId=${orgB}`, tokenA)],
      ['GET /payments/:id', (id) => get(t.url, `${paymentPath(id)}?organizationId=${orgB}`, tokenA)],
      ['POST /payments/:id/events', (id) => post(t.url, `${paymentPath(id)}/events?organizationId=${orgB}`, { type: 'PaymentFailed', data: { error: 'x' } }, tokenA)],
      ['POST /admin/sync', () => post(t.url, '/admin/sync', { organizationId: orgB }, adminA)],
      ['GET /admin/sync/:paymentId', (id) => get(t.url, `/admin/sync/${id}?organizationId=${orgB}`, adminA)],
    ];

    it.each(cases)('%s: naming another organization is a 403 and changes nothing of it', async (_route, send) => {
      const id = uniqueId('pb');
      expectStatus(await post(t.url, '/payments', secret(id), tokenB), 201);
      const before = await get(t.url, '/payments/stats', tokenB);

      const res = await send(id);

      expectProblem(res, 403);
      expect(res.body).toMatchObject({ code: 'ORGANIZATION_FORBIDDEN', detail: expect.stringMatching(/organizationId/) });
      expect(JSON.stringify(res.body)).not.toContain('CONFIDENTIAL');
      expect((await get(t.url, '/payments/stats', tokenB)).body).toEqual(before.body);
      expect((await get(t.url, paymentPath(id), tokenB)).body).toMatchObject({ status: 'pending', version: 1 });
    });

    it('POST /payments/bulk: an item naming another organization fails alone with 403, before validation, and the others are stored', async () => {
      const before = await get(t.url, '/payments/stats', tokenB);
      const own = paymentBody({ organizationId: undefined });
      const foreign = { ...secret(uniqueId('pb')), organizationId: orgB };
      const foreignAndInvalid = { ...secret(uniqueId('pb')), organizationId: orgB, amount: -1 };

      const res = await post(t.url, '/payments/bulk', { payments: [foreign, own, foreignAndInvalid] }, tokenA);

      expectStatus(res, 200);
      expect(res.body).toMatchObject({ created: 1, replayed: 0, failed: 2 });
      expect(res.body.results.map((r: { status: number }) => r.status)).toEqual([403, 201, 403]);
      expect(res.body.results[2].error).toMatchObject({ code: 'ORGANIZATION_FORBIDDEN' });
      expect((await get(t.url, '/payments/stats', tokenB)).body).toEqual(before.body);
      expect((await get(t.url, paymentPath(own.paymentId as string), tokenA)).body).toMatchObject({ organizationId: orgA });
    });
  });

  describe('admin routes: an organization admin acts on its own organization, the operator on all', () => {
    it("refuses org A's admin a sync of org B (403) and syncs only org A when the body names none", async () => {
      expectStatus(await post(t.url, '/payments', paymentBody({ organizationId: undefined }), tokenB), 201);

      const other = await post(t.url, '/admin/sync', { organizationId: orgB }, adminA);
      const own = await post(t.url, '/admin/sync', undefined, adminA);
      const ownCount = (await get(t.url, `/payments/stats`, tokenA)).body.total;

      expectProblem(other, 403);
      expect(other.body.detail).toMatch(/organizationId/);
      expectStatus(own, 200);
      expect(own.body).toEqual({ synchronized: ownCount });
    });

    it("answers org A's admin a sync check of org B's paymentId exactly as of an unknown one (404), and checks its own", async () => {
      const id = uniqueId('pb_secret');
      expectStatus(await post(t.url, '/payments', secret(id), tokenB), 201);
      const mine = uniqueId('pa');
      expectStatus(await post(t.url, '/payments', { paymentId: mine, userId: 'u', amount: 1, currency: 'EUR' }, tokenA), 201);

      const theirs = await get(t.url, `/admin/sync/${id}`, adminA);
      const unknown = await get(t.url, `/admin/sync/${id}-unknown`, adminA);
      const named = await get(t.url, `/admin/sync/${id}?organizationId=${orgB}`, adminA);
      const own = await get(t.url, `/admin/sync/${mine}`, adminA);

      expectProblem(theirs, 404);
      expect(observable(theirs).split(id).join('<id>')).toBe(observable(unknown).split(`${id}-unknown`).join('<id>'));
      expectProblem(named, 403);
      expectStatus(own, 200);
      expect(own.body).toMatchObject({ paymentId: mine, organizationId: orgA, inSync: true, memoryVersion: 1, primaryVersion: 1 });
    });

    it("shows an organization's admin its own organization's store figures only, and the operator the whole store", async () => {
      const userId = uniqueId('user');
      for (const amount of [1, 2, 2]) {
        expectStatus(await post(t.url, '/payments', { paymentId: uniqueId('pa'), userId, amount, currency: 'EUR' }, tokenA), 201);
      }
      expectStatus(await post(t.url, '/payments', { paymentId: uniqueId('pb'), userId: uniqueId('u'), amount: 3, currency: 'JPY' }, tokenB), 201);
      const ownStats = (await get(t.url, '/payments/stats', tokenA)).body;

      const asAdmin = await get(t.url, '/admin/store', adminA);
      const asOperator = await get(t.url, '/admin/store', operator);

      expectStatus(asAdmin, 200);
      expect(asAdmin.body.payments).toBe(ownStats.total);
      expect(asAdmin.body.indexes).toMatchObject({ organizationId: 1, currency: Object.keys(ownStats.byCurrency).length });
      expect(asAdmin.body).not.toHaveProperty('memory'); // the process's memory is every tenant's
      expectStatus(asOperator, 200);
      expect(asOperator.body.payments).toBeGreaterThan(asAdmin.body.payments);
      expect(asOperator.body.indexes.organizationId).toBeGreaterThanOrEqual(2);
      expect(asOperator.body.memory).toEqual({ heapUsed: expect.any(Number), rss: expect.any(Number) });
    });

    it('lets the operator sync any organization or all of them, and check any payment by naming its organization', async () => {
      const id = uniqueId('both');
      expectStatus(await post(t.url, '/payments', { paymentId: id, userId: 'u', amount: 1, currency: 'EUR' }, tokenA), 201);
      expectStatus(await post(t.url, '/payments', { paymentId: id, userId: 'u', amount: 2, currency: 'EUR' }, tokenB), 201);
      const total = (await get(t.url, '/admin/store', operator)).body.payments as number;
      const countB = (await get(t.url, '/payments/stats', tokenB)).body.total as number;

      expect((await post(t.url, '/admin/sync', { organizationId: orgB }, operator)).body).toEqual({ synchronized: countB });
      expect((await post(t.url, '/admin/sync', undefined, operator)).body).toEqual({ synchronized: total });
      const ambiguous = await get(t.url, `/admin/sync/${id}`, operator);
      expectProblem(ambiguous, 409);
      expect(ambiguous.body.errors).toEqual([expect.objectContaining({ field: 'organizationId' })]);
      expect((await get(t.url, `/admin/sync/${id}?organizationId=${orgB}`, operator)).body).toMatchObject({ organizationId: orgB, inSync: true });
    });

    it('does not give an operator-only token the payment routes of any organization', async () => {
      expectProblem(await get(t.url, '/payments/search', operator), 403);
    });
  });
});

describe('addressing a payment without auth (open mode)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });

  afterAll(async () => {
    await t.close();
  });

  it('reads a paymentId only one organization uses without organizationId, and names the organization when several do', async () => {
    const id = uniqueId('pay');
    const [orgA, orgB] = [uniqueId('org-a'), uniqueId('org-b')];
    const a = await post(t.url, '/payments', paymentBody({ paymentId: id, organizationId: orgA, amount: 1 }));
    expectStatus(a, 201);
    expect((await get(t.url, paymentPath(id))).body).toMatchObject({ organizationId: orgA });

    expectStatus(await post(t.url, '/payments', paymentBody({ paymentId: id, organizationId: orgB, amount: 2 })), 201);
    const ambiguous = await get(t.url, paymentPath(id));
    const ambiguousEvent = await post(t.url, `${paymentPath(id)}/events`, { type: 'PaymentProcessed' });

    expectProblem(ambiguous, 409);
    expect(ambiguous.body).toMatchObject({ type: '/problems/payment-id-ambiguous', errors: [{ field: 'organizationId' }] });
    expectProblem(ambiguousEvent, 409);
    expect((await get(t.url, `${paymentPath(id)}?organizationId=${orgA}`)).body).toMatchObject({ organizationId: orgA, amount: 1, status: 'pending' });
    const processed = await post(t.url, `${paymentPath(id)}/events?organizationId=${orgB}`, { type: 'PaymentProcessed' });
    expect(processed.body).toMatchObject({ organizationId: orgB, status: 'completed' });
    expect((await get(t.url, `${paymentPath(id)}?organizationId=${orgA}`)).body).toMatchObject({ status: 'pending' });
    expectProblem(await get(t.url, `${paymentPath(id)}?organizationId=${uniqueId('org-c')}`), 404);
    expectProblem(await get(t.url, `${paymentPath(id)}?organizationId=`), 400);
  });

  it('pages a search over every organization through equal amounts and equal paymentIds without losing or repeating one', async () => {
    const id = uniqueId('same');
    const userId = uniqueId('user');
    const orgs = Array.from({ length: 5 }, () => uniqueId('org'));
    for (const organizationId of orgs) {
      expectStatus(await post(t.url, '/payments', paymentBody({ paymentId: id, organizationId, userId, amount: 4_242 })), 201);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Response = await get(t.url, `/payments/search?userId=${userId}&sort=amount&size=2${cursor ? `&cursor=${cursor}` : ''}`);
      expectStatus(page, 200);
      seen.push(...page.body.items.map((p: { organizationId: string }) => p.organizationId));
      cursor = page.body.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual([...orgs].sort());
  });

  it.each(['search', 'stats', 'bulk', '.', '..'])('refuses the reserved paymentId %p with 400 naming paymentId', async (paymentId) => {
    const res = await post(t.url, '/payments', paymentBody({ paymentId }));
    expectProblem(res, 400);
    expect(res.body.errors).toEqual([expect.objectContaining({ field: 'paymentId' })]);
    const bulk = await post(t.url, '/payments/bulk', { payments: [paymentBody({ paymentId })] });
    expect(bulk.body).toMatchObject({ created: 0, failed: 1, results: [{ status: 400 }] });
  });
});

/** Times and request ids differ between two otherwise equal answers. */
function stripTimes(text: string): string {
  return text.replace(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/g, '<time>').replace(/"[0-9a-f-]{36}"/g, '"<uuid>"');
}

