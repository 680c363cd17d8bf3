import { Body } from './e2e-helpers';
import { largestPaymentBody, longOrganizationId } from './largest-payment';
import { ServiceProcess, startService, waitUntil } from './service-process';
import { createTestDatabase, TEST_MODE, TestDatabase } from './test-app';

/**
 * The security probe of issue 20 (finding 3), against the real service: run with a small heap
 * (node --max-old-space-size=192) and its default limits, it died ("Reached heap limit") under
 * one organization's bulk imports, answering neither 503 nor 507 first. Here one organization
 * pushes the largest payments the API takes until it is refused, then every organization does
 * until the store is full: the refusals are 507 problems, the process never dies, and it keeps
 * serving. In memory mode, and (e2e-pg) in PostgreSQL mode on a database of its own.
 */

/** The largest payments in one bulk that stay under the default 1 MiB body limit (about 28 KB each). */
const PER_BULK = 30;
/** A guard against a service that never refuses: far more organizations than a full store takes. */
const MAX_ORGANIZATIONS = 40;

interface ItemResult {
  index: number;
  paymentId: string | null;
  status: number;
  error?: { type: string; status: number; detail: string };
}

let service: ServiceProcess;
let database: TestDatabase | undefined;

beforeAll(async () => {
  if (TEST_MODE === 'postgres') database = await createTestDatabase();
  service = await startService(['--max-old-space-size=192'], database ? { DATABASE_URL: database.url } : {});
  await waitUntil(service, '/health/ready');
}, 120_000);

afterAll(async () => {
  await service?.stop();
  await database?.drop();
});

/** A request's answer; a dropped connection or a dead process fails the test with its output. */
async function send(path: string, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(`${service.url}${path}`, init);
  } catch (error) {
    throw new Error(`${init?.method ?? 'GET'} ${path} got no answer (${String(error)}); the service's output:\n${service.output().slice(-4000)}`);
  }
}

function post(path: string, body: unknown): Promise<Response> {
  return send(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

/** Bulk imports of `make()` bodies until an item is refused: every item before it created (201). */
async function pushUntilRefused(make: () => Body): Promise<{ created: string[]; refused: ItemResult }> {
  const created: string[] = [];
  for (;;) {
    const res = await post('/payments/bulk', { payments: Array.from({ length: PER_BULK }, make) });
    const body = (await res.json()) as { results: ItemResult[] };
    expect({ status: res.status, body: res.status === 200 ? 'a bulk answer' : body }).toEqual({ status: 200, body: 'a bulk answer' });
    for (const result of body.results) {
      if (result.status !== 201) return { created, refused: result };
      created.push(result.paymentId as string);
    }
  }
}

async function expectAlive(): Promise<void> {
  expect({ exitCode: service.child.exitCode, signal: service.child.signalCode }).toEqual({ exitCode: null, signal: null });
  expect((await send('/health/live')).status).toBe(200);
  expect(service.output()).not.toMatch(/heap limit|FATAL ERROR|out of memory/i);
}

describe('the service with a 192 MB heap and its default limits', () => {
  // a guard against a hang: a loaded machine takes minutes to push a store full of these
  jest.setTimeout(10 * 60_000);

  it('refuses one organization past its share with a 507 problem, stays up, and still serves another organization', async () => {
    const orgA = longOrganizationId('org-a');
    const orgB = longOrganizationId('org-b');

    const { created, refused } = await pushUntilRefused(() => largestPaymentBody(orgA));

    expect(created.length).toBeGreaterThan(PER_BULK);
    expect(refused).toMatchObject({ status: 507, error: { type: '/problems/organization-quota-exceeded', status: 507 } });
    await expectAlive();
    const single = await post('/payments', largestPaymentBody(orgA));
    expect(single.status).toBe(507);
    expect(single.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(((await single.json()) as { code: string }).code).toBe('ORGANIZATION_QUOTA_EXCEEDED');

    const ofB = await post('/payments', largestPaymentBody(orgB));
    expect(ofB.status).toBe(201);
    const { paymentId } = (await ofB.json()) as { paymentId: string };
    expect((await send(`/payments/${paymentId}?organizationId=${orgB}`)).status).toBe(200);
    const search = await send(`/payments/search?organizationId=${orgB}`);
    expect(search.status).toBe(200);
    expect(((await search.json()) as { total: number }).total).toBe(1);
    expect((await send(`/payments/${created[0]}?organizationId=${orgA}`)).status).toBe(200);
  });

  it('refuses every organization with 507 STORE_FULL once the store is full, before the heap is, and keeps serving reads', async () => {
    let full: ItemResult | undefined;
    let last: { organizationId: string; paymentId: string } | undefined;
    for (let i = 0; i < MAX_ORGANIZATIONS && full === undefined; i++) {
      const organizationId = longOrganizationId(`org-${i}`);
      const { created, refused } = await pushUntilRefused(() => largestPaymentBody(organizationId));
      if (created.length > 0) last = { organizationId, paymentId: created[created.length - 1] };
      if (refused.error?.type === '/problems/store-full') full = refused;
      else expect(refused).toMatchObject({ status: 507, error: { type: '/problems/organization-quota-exceeded' } });
    }

    expect(full).toMatchObject({ status: 507, error: { type: '/problems/store-full', status: 507 } });
    await expectAlive();
    // At the heap's ceiling a full GC may find a little room again (what was in flight at the
    // last one was counted live): a create may still fit, until one is refused.
    const late = longOrganizationId('org-late');
    let refused: Response;
    do refused = await post('/payments', largestPaymentBody(late));
    while (refused.status === 201);
    expect(refused.status).toBe(507);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(((await refused.json()) as { code: string }).code).toBe('STORE_FULL');
    expect((await send(`/payments/${last?.paymentId}?organizationId=${last?.organizationId}`)).status).toBe(200);
    expect((await send('/payments/stats')).status).toBe(200);
    expect((await send('/health/ready')).status).toBe(200);
  });
});
