import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import request from 'supertest';
import { Body, expectStatus, moveTo, paymentBody, uniqueId } from './e2e-helpers';
import { BROWSER_REQUIRED, CHROMIUM_PATH, CHROMIUM_PRESENT, DashboardPage, launchChromium, Stats, WAIT_MS } from './browser/dashboard-page';
import { startTestApp, TestApp } from './test-app';

/**
 * The live dashboard (GET /dashboard) in a real browser against the real app: the figures it
 * shows are the ones GET /payments/stats answers, its filters live in the URL, its table pages
 * with the search cursor, it updates live from GET /payments/stats/stream, and it asks for a
 * token when the API answers 401. Debian's chromium through playwright-core; without it the
 * suite is skipped (and fails where DASHBOARD_BROWSER_REQUIRED=1, as in CI).
 */
// a test waits on the page several times, each for at most WAIT_MS
jest.setTimeout(120_000);

const OUTPUT = join(__dirname, '..', 'test-output');
const DAY_MS = 86_400_000;
const runInBrowser = CHROMIUM_PRESENT || BROWSER_REQUIRED;
if (!runInBrowser) console.warn(`dashboard browser tests skipped: no chromium at ${CHROMIUM_PATH} (apt-get install chromium, or set CHROMIUM_PATH)`);
const describeInBrowser = runInBrowser ? describe : describe.skip;

/** Three whole UTC days ending with today: the payments below are spread over them. */
function testRange(): { from: string; to: string } {
  const now = new Date();
  const endOfToday = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
  return { from: new Date(endOfToday - 3 * DAY_MS).toISOString(), to: new Date(endOfToday).toISOString() };
}

async function stats(url: string, query: Record<string, string>, authorization?: string): Promise<Stats> {
  const req = request(url).get('/payments/stats').query(query);
  const res = await (authorization ? req.set('Authorization', authorization) : req);
  expectStatus(res, 200);
  return res.body as Stats;
}

async function searchPage(url: string, query: Record<string, string>): Promise<{ ids: string[]; nextCursor: string | null }> {
  const res = await request(url).get('/payments/search').query({ ...query, sort: '-createdAt', size: '20' });
  expectStatus(res, 200);
  return { ids: (res.body.items as { paymentId: string }[]).map((p) => p.paymentId), nextCursor: res.body.nextCursor as string | null };
}

/**
 * 25 payments of one organization in EUR, JPY (no minor unit) and USD, created over the
 * range, 5 completed, 3 failed, 3 refunded in part, the rest pending; and one payment of
 * another organization that the organization filter must leave out.
 */
async function seed(url: string, organizationId: string, from: string): Promise<void> {
  const currencies = ['EUR', 'JPY', 'USD'];
  const oldest = Date.parse(from) + 3_600_000;
  const step = Math.floor((Date.now() - 120_000 - oldest) / 25);
  const bodies: Body[] = Array.from({ length: 25 }, (_, i) =>
    paymentBody({
      organizationId,
      currency: currencies[i % 3],
      amount: 1_000 + i * 12_345,
      createdAt: new Date(oldest + i * step).toISOString(),
    }),
  );
  bodies.push(paymentBody({ organizationId: uniqueId('org-other'), currency: 'EUR', amount: 777, createdAt: new Date(oldest).toISOString() }));
  const res = await request(url).post('/payments/bulk').send({ payments: bodies });
  expectStatus(res, 200);
  expect(res.body.created).toBe(bodies.length);
  const ids = bodies.map((b) => b.paymentId as string);
  await Promise.all([
    ...ids.slice(0, 5).map((id) => moveTo(url, id, 'completed')),
    ...ids.slice(5, 8).map((id) => moveTo(url, id, 'failed')),
    ...ids.slice(8, 11).map((id) => moveTo(url, id, 'refunded')),
  ]);
}

describe('the dashboard files, over HTTP', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp();
  });

  afterAll(async () => {
    await app?.close();
  });

  it('serves the page with a policy of its own that allows scripts and styles from the service only', async () => {
    const res = await request(app.url).get('/dashboard');
    expectStatus(res, 200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.headers['content-security-policy']).toMatch(/default-src 'none'.*script-src 'self'.*style-src 'self'/);
    expect(res.headers['content-security-policy']).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
    expect(res.text).toContain('dashboard/app.js');
    expect(res.text).not.toMatch(/<script>|\son[a-z]+=|style="/); // no inline code or style for the policy to refuse
  });

  it('serves the chart library from its own node_modules, and nothing but its own files', async () => {
    const chart = await request(app.url).get('/dashboard/chart.umd.min.js');
    expectStatus(chart, 200);
    expect(chart.headers['content-type']).toMatch(/^text\/javascript/);
    for (const path of ['/dashboard/nope.js', '/dashboard/..%2Fpackage.json', '/dashboard/%2E%2E%2Fsrc%2Fmain.ts']) {
      expect((await request(app.url).get(path)).status).toBe(404);
    }
  });

  it('answers a repeated load with 304 and redirects /dashboard/ to the page, keeping the query', async () => {
    const first = await request(app.url).get('/dashboard/app.js');
    expect((await request(app.url).get('/dashboard/app.js').set('If-None-Match', first.headers.etag)).status).toBe(304);
    const slash = await request(app.url).get('/dashboard/?status=failed');
    expect(slash.status).toBe(301);
    expect(slash.headers.location).toBe('../dashboard?status=failed');
  });
});

describeInBrowser('the dashboard in a browser (open mode)', () => {
  let app: TestApp;
  let browser: Browser;
  let context: BrowserContext;
  let dashboard: DashboardPage;
  let page: Page;
  const organizationId = uniqueId('org-dash');
  const range = testRange();
  const base = { organizationId, from: range.from, to: range.to };
  const pageUrl = (query: Record<string, string>) => `${app.url}/dashboard?${new URLSearchParams(query).toString()}`;

  beforeAll(async () => {
    browser = await launchChromium(); // first: without a browser, no app is left booting behind a failure
    app = await startTestApp();
    await seed(app.url, organizationId, range.from);
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    context.setDefaultTimeout(WAIT_MS);
    page = await context.newPage();
    dashboard = new DashboardPage(page);
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('shows the total, the count per status and the amount per currency that GET /payments/stats answers', async () => {
    await page.goto(pageUrl({ ...base, interval: 'day' }));
    const expected = await stats(app.url, { ...base, interval: 'day' });
    expect(expected.total).toBe(25);
    expect(Object.keys(expected.amountByCurrency).sort()).toEqual(['EUR', 'JPY', 'USD']);
    await dashboard.expectFigures(await dashboard.expectedFigures(expected));
    // JPY has no minor unit: 1,000 + 12,345 * i yen, shown without decimals
    const jpy = (await dashboard.figures()).currencies.find((c) => c.currency === 'JPY');
    expect(jpy?.amount).not.toMatch(/[.,]\d{2}$/);
    expect(await page.locator('#organizationId').inputValue()).toBe(organizationId);
  });

  it('applies a changed status and currency, keeps them in the URL, and restores them on reload', async () => {
    await page.goto(pageUrl({ ...base, interval: 'day' }));
    await dashboard.expectFigures(await dashboard.expectedFigures(await stats(app.url, { ...base, interval: 'day' })));

    await page.getByLabel('Status', { exact: true }).selectOption('completed');
    await page.waitForURL(/status=completed/);
    const completed = await stats(app.url, { ...base, interval: 'day', status: 'completed' });
    expect(completed.total).toBe(5);
    await dashboard.expectFigures(await dashboard.expectedFigures(completed));

    await page.getByLabel('Currency', { exact: true }).fill('jpy');
    await page.getByLabel('Currency', { exact: true }).press('Enter');
    await page.waitForURL(/currency=JPY/);
    const completedYen = await stats(app.url, { ...base, interval: 'day', status: 'completed', currency: 'JPY' });
    expect(completedYen.total).toBeGreaterThan(0);
    await dashboard.expectFigures(await dashboard.expectedFigures(completedYen));
    await dashboard.expectPaymentIds((await searchPage(app.url, { ...base, status: 'completed', currency: 'JPY' })).ids);

    await page.reload();
    expect(await page.locator('#status').inputValue()).toBe('completed');
    expect(await page.locator('#currency').inputValue()).toBe('JPY');
    await dashboard.expectFigures(await dashboard.expectedFigures(completedYen));
  });

  it('takes a link with repeated list parameters (status=a&status=b) as the API does, as one comma-separated filter', async () => {
    const params = new URLSearchParams({ ...base, interval: 'day' });
    for (const status of ['completed', 'failed']) params.append('status', status);
    for (const currency of ['EUR', 'JPY,USD']) params.append('currency', currency);
    await page.goto(`${app.url}/dashboard?${params.toString()}`);
    const expected = await stats(app.url, { ...base, interval: 'day', status: 'completed,failed', currency: 'EUR,JPY,USD' });
    const completed = await stats(app.url, { ...base, interval: 'day', status: 'completed' });
    expect(expected.total).toBeGreaterThan(completed.total); // both statuses count, not the first alone
    await dashboard.expectFigures(await dashboard.expectedFigures(expected));
    expect(await page.locator('#status').inputValue()).toBe('completed,failed');
    expect(await page.locator('#currency').inputValue()).toBe('EUR,JPY,USD');
  });

  it('lists the latest payments of the filter and pages forward and back with the search cursor', async () => {
    await page.goto(pageUrl(base));
    const first = await searchPage(app.url, base);
    expect(first.ids).toHaveLength(20);
    await dashboard.expectPaymentIds(first.ids);
    expect(await page.locator('#page-label').textContent()).toBe('Page 1');

    const second = await searchPage(app.url, { ...base, cursor: first.nextCursor ?? '' });
    expect(second.ids).toHaveLength(5);
    await page.getByRole('button', { name: 'Older' }).click();
    await dashboard.expectPaymentIds(second.ids);
    expect(await page.locator('#page-label').textContent()).toBe('Page 2');
    expect(await page.getByRole('button', { name: 'Older' }).isDisabled()).toBe(true);

    await page.getByRole('button', { name: 'Newer' }).click();
    await dashboard.expectPaymentIds(first.ids);
  });

  it('shows a new payment live: the figures from the stream, the table refreshed', async () => {
    await page.goto(pageUrl({ ...base, interval: 'day' }));
    const before = await stats(app.url, { ...base, interval: 'day' });
    await dashboard.expectFigures(await dashboard.expectedFigures(before));
    await page.locator('#live-state[data-state="live"]').waitFor({ timeout: WAIT_MS });
    const newTotal = await dashboard.formatCount(before.total + 1);

    // now, but never past the range fixed at the start (a run that crosses UTC midnight)
    const createdAt = new Date(Math.min(Date.now(), Date.parse(range.to) - 1000)).toISOString();
    const res = await request(app.url).post('/payments').send(paymentBody({ organizationId, currency: 'EUR', amount: 4_242, createdAt }));
    const answeredAt = performance.now();
    expectStatus(res, 201);
    await dashboard.waitForTotal(newTotal);
    // shown, never judged: how long it takes is the machine's business (and the stream sends at
    // most one document a second, counting its first)
    const delayMs = performance.now() - answeredAt;
    console.log(`dashboard live update: the new total was on screen ${delayMs.toFixed(0)} ms after the POST's answer`);

    await dashboard.expectFigures(await dashboard.expectedFigures(await stats(app.url, { ...base, interval: 'day' })));
    await dashboard.expectPaymentIds((await searchPage(app.url, base)).ids);
    expect((await dashboard.paymentIds())[0]).toBe(res.body.paymentId);

    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, 'dashboard-1280.png'), fullPage: true });
  });

  it('fits a 390 px wide phone screen without scrolling sideways', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      await page.goto(pageUrl({ ...base, interval: 'day' }));
      await dashboard.expectFigures(await dashboard.expectedFigures(await stats(app.url, { ...base, interval: 'day' })));
      expect(await dashboard.overflowsHorizontally()).toEqual(expect.objectContaining({ overflows: false }));
      mkdirSync(OUTPUT, { recursive: true });
      await page.screenshot({ path: join(OUTPUT, 'dashboard-390.png'), fullPage: true });
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  });

  it('labels every control, keeps its text at a contrast of 4.5:1 or more, and shows the keyboard focus', async () => {
    await page.goto(pageUrl({ ...base, interval: 'day' }));
    await dashboard.expectFigures(await dashboard.expectedFigures(await stats(app.url, { ...base, interval: 'day' })));
    expect(await dashboard.focusAfter(['Tab'])).toEqual({ id: 'skip-link', outline: 'solid 3px' });
    expect(await dashboard.focusAfter(['Tab'])).toEqual({ id: 'organizationId', outline: 'solid 3px' });
    await page.locator('details.chart-data summary').click(); // the chart's data table, too
    expect(await dashboard.accessibilityProblems()).toEqual([]);
    // the filters work from the keyboard: a status chosen with the arrow keys applies at once
    await page.locator('#status').focus();
    await page.keyboard.press('ArrowDown'); // Pending
    await page.waitForURL(/status=pending/);
  });

  it('says "no payments in this range" for an empty range', async () => {
    await page.goto(pageUrl({ organizationId, from: '2020-01-01T00:00:00.000Z', to: '2020-01-08T00:00:00.000Z' }));
    await page.locator('#status-message', { hasText: 'No payments in this range.' }).waitFor({ timeout: WAIT_MS });
    expect(await page.locator('#total').textContent()).toBe('0');
  });

  it('shows the problem detail of a refused filter (400) in the alert region', async () => {
    // 50 days by the hour: more than the 1,000 buckets the API allows
    const query = { organizationId, from: '2026-01-01T00:00:00.000Z', to: '2026-02-20T00:00:00.000Z', interval: 'hour' };
    const refused = await request(app.url).get('/payments/stats').query(query);
    expect(refused.status).toBe(400);
    await page.goto(pageUrl(query));
    const text = await dashboard.errorText();
    expect(text).toContain('(400)');
    expect(text).toContain(refused.body.detail);
    expect(await page.locator('#error').getAttribute('aria-live')).toBe('assertive');
  });

  it('says when the service cannot be reached, and recovers through the live stream', async () => {
    const statsRoutes = (url: URL) => url.pathname.startsWith('/payments/stats');
    await page.route(statsRoutes, (route) => route.abort('connectionrefused'));
    try {
      await page.goto(pageUrl({ ...base, interval: 'day' }));
      expect(await dashboard.errorText()).toMatch(/Cannot reach the payments service/);
      await page.locator('#live-state[data-state="retrying"]').waitFor({ timeout: WAIT_MS });
    } finally {
      await page.unroute(statsRoutes);
    }
    // the stream reconnects after its backoff: its first event brings the figures and clears the error
    await dashboard.expectFigures(await dashboard.expectedFigures(await stats(app.url, { ...base, interval: 'day' })));
    await page.locator('#error').waitFor({ state: 'hidden', timeout: WAIT_MS });
  });

  it('parses an event stream however the network splits it, skipping the ping comments', async () => {
    await page.goto(pageUrl(base));
    // chunk boundaries inside a field and between \r and \n; the last message never ends, so it is not dispatched
    const chunks = [': ping\r', '\n\r\nevent: st', 'ats\r', '\ndata: {"total":1,', '"note":"caf\u00e9"}\r\n\r', '\n', 'data: a\ndata: b\n\n', 'data: lost'];
    const messages = await page.evaluate<{ event: string; data: string }[]>(`(async () => {
      const { createSseParser } = await import(new URL('dashboard/sse.js', document.baseURI).href);
      const messages = [];
      const parser = createSseParser((message) => messages.push(message));
      for (const chunk of ${JSON.stringify(chunks)}) parser.push(chunk);
      return messages;
    })()`);
    expect(messages).toEqual([
      { event: 'stats', data: '{"total":1,"note":"caf\u00e9"}' },
      { event: 'message', data: 'a\nb' },
    ]);
  });

  it('ran without script errors or Content-Security-Policy violations', () => {
    expect(dashboard.problems).toEqual([]);
  });
});

describeInBrowser('the dashboard in a browser (auth on)', () => {
  const SECRET = 'dashboard-browser-secret-0123456789abcdef-0123456789abcdef';
  const mint = (org: string) =>
    new SignJWT({ org, scope: 'payments:read payments:write' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject('dashboard-test')
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode(SECRET));
  let app: TestApp;
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchChromium();
    app = await startTestApp({ authJwtSecret: SECRET });
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('asks for a token on 401, keeps it for the tab only, and shows the figures of its organization', async () => {
    const mine = uniqueId('org-mine');
    const theirs = uniqueId('org-theirs');
    const [myToken, theirToken] = await Promise.all([mint(mine), mint(theirs)]);
    const create = (token: string, body: Body) => request(app.url).post('/payments').set('Authorization', `Bearer ${token}`).send(body);
    for (const [token, org, currency, amount] of [
      [myToken, mine, 'EUR', 1_999],
      [myToken, mine, 'JPY', 5_000],
      [theirToken, theirs, 'EUR', 123_456],
    ] as const) {
      expectStatus(await create(token, paymentBody({ organizationId: org, currency, amount })), 201);
    }
    const range = testRange();

    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    context.setDefaultTimeout(WAIT_MS);
    const page = await context.newPage();
    const dashboard = new DashboardPage(page);
    await page.goto(`${app.url}/dashboard?${new URLSearchParams({ ...range, interval: 'day' }).toString()}`);

    const dialog = page.getByRole('dialog', { name: 'Sign in to the payments service' });
    await dialog.waitFor({ timeout: WAIT_MS });
    expect(await dashboard.errorText()).toContain('(401)');

    // a token the service refuses: asked again, saying why
    await page.getByLabel('Bearer token').fill('not-a-token');
    await dialog.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#token-error', { hasText: 'The service refused the token' }).waitFor({ timeout: WAIT_MS });

    await page.getByLabel('Bearer token').fill(myToken);
    await dialog.getByRole('button', { name: 'Sign in' }).click();
    await dialog.waitFor({ state: 'hidden', timeout: WAIT_MS });

    const expected = await stats(app.url, { ...range, interval: 'day' }, `Bearer ${myToken}`);
    expect(expected.total).toBe(2);
    await dashboard.expectFigures(await dashboard.expectedFigures(expected));
    const organization = page.getByLabel('Organization');
    expect(await organization.inputValue()).toBe(mine);
    expect(await organization.getAttribute('readonly')).not.toBeNull();
    expect(await dashboard.sessionItem('payments-dashboard.token')).toBe(myToken);
    expect(page.url()).not.toContain(myToken);

    // live with the token too: the stream is read with fetch() and sends Authorization
    await page.locator('#live-state[data-state="live"]').waitFor({ timeout: WAIT_MS });
    expectStatus(await create(myToken, paymentBody({ organizationId: mine, currency: 'EUR', amount: 1 })), 201);
    await dashboard.waitForTotal(await dashboard.formatCount(3));

    expect(dashboard.problems).toEqual([]);
    await context.close();
  });
});
