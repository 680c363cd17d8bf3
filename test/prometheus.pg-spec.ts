import { ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net, { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, posix } from 'node:path';
import request from 'supertest';
import { parse, stringify } from 'yaml';
import { TestBroker, TEST_BROKER_URL, until } from './broker-helpers';
import { expectStatus, paymentBody, sendEvent, uniqueId } from './e2e-helpers';
import {
  alertQueries,
  alertSignal,
  ALERTS_PATH,
  allPanels,
  Dashboard,
  dashboardQueries,
  DASHBOARD_PATH,
  loadDashboard,
  loadRules,
  OPS_DIR,
  OpsQuery,
  resolveVariables,
} from './ops-queries';
import { createTestDatabase, startTestApp, TestApp, TestDatabase } from './test-app';

/**
 * The ops files against the real thing: a real Prometheus (Debian's `prometheus`) scrapes two
 * instances of the service on one PostgreSQL schema and one broker prefix, loads
 * ops/prometheus/alerts.yml, and answers every query of the Grafana dashboard and every alert's
 * signal with data. Grafana cannot run here: the dashboard's structure and provisioning are
 * checked as files, and its queries are the ones Prometheus answered.
 */

const REPO = dirname(OPS_DIR);
const PROVISIONED_DATASOURCE = join(OPS_DIR, 'grafana', 'provisioning', 'datasources', 'prometheus.yml');
const PROVISIONED_DASHBOARDS = join(OPS_DIR, 'grafana', 'provisioning', 'dashboards', 'payments.yml');
const PROMETHEUS_CONFIG = join(OPS_DIR, 'prometheus', 'prometheus.yml');

function onPath(binary: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, binary), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

const PROMETHEUS_ON_PATH = onPath('prometheus');
const PROMETHEUS_REQUIRED = process.env.PROMETHEUS_REQUIRED === '1';
if (!PROMETHEUS_ON_PATH && !PROMETHEUS_REQUIRED) {
  console.warn('prometheus.pg-spec: the real-Prometheus tests are skipped: no `prometheus` on PATH (apt-get install prometheus; PROMETHEUS_REQUIRED=1 makes this a failure)');
}
const withPrometheus = PROMETHEUS_ON_PATH || PROMETHEUS_REQUIRED ? describe : describe.skip;

const readYaml = <T>(path: string): T => parse(readFileSync(path, 'utf8')) as T;

interface ComposeFile {
  services: Record<string, { image?: string; profiles?: string[]; command?: string[]; volumes?: string[]; environment?: Record<string, string>; ports?: string[] }>;
}

/** The container path that a compose service mounts `source` (relative to the repo) at. */
function mountOf(volumes: string[] | undefined, source: string): string | undefined {
  for (const volume of volumes ?? []) {
    const [from, to] = volume.split(':');
    if (posix.normalize(from) === posix.normalize(source)) return to;
  }
  return undefined;
}

describe('the ops files', () => {
  const dashboard: Dashboard = loadDashboard();
  const panels = allPanels(dashboard);
  const visualizations = panels.filter((p) => p.type !== 'row');
  const datasources = readYaml<{ datasources: { uid: string; type: string; url: string; isDefault?: boolean; jsonData?: { timeInterval?: string } }[] }>(
    PROVISIONED_DATASOURCE,
  ).datasources;
  const compose = readYaml<ComposeFile>(join(REPO, 'docker-compose.yml'));

  it('is a dashboard of the current JSON model: schemaVersion 41, a uid, no id', () => {
    expect(dashboard.schemaVersion).toBe(41);
    expect(dashboard.uid).toMatch(/^[A-Za-z0-9_-]{1,40}$/);
    expect(dashboard).not.toHaveProperty('id');
  });

  it('gives every panel a unique id and a gridPos inside the 24-column grid', () => {
    const ids = panels.map((p) => p.id);
    for (const id of ids) expect(id).toEqual(expect.any(Number));
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of panels) {
      expect({ title: p.title, gridPos: p.gridPos }).toEqual({ title: p.title, gridPos: { h: expect.any(Number), w: expect.any(Number), x: expect.any(Number), y: expect.any(Number) } });
      expect(p.gridPos!.x + p.gridPos!.w).toBeLessThanOrEqual(24);
    }
  });

  it('gives every panel at least one target with an expr, on the provisioned Prometheus data source (uid prometheus)', () => {
    expect(datasources).toEqual([expect.objectContaining({ uid: 'prometheus', type: 'prometheus', isDefault: true })]);
    const [provisioned] = datasources;
    expect(visualizations.length).toBeGreaterThan(10);
    for (const p of visualizations) {
      const targets = p.targets ?? [];
      expect({ panel: p.title, withExpr: targets.filter((t) => typeof t.expr === 'string' && t.expr.trim() !== '').length }).toEqual({ panel: p.title, withExpr: targets.length });
      expect(targets.length).toBeGreaterThan(0);
      expect({ panel: p.title, datasource: p.datasource }).toEqual({ panel: p.title, datasource: { type: provisioned.type, uid: provisioned.uid } });
      for (const t of targets) expect({ panel: p.title, target: t.refId, datasource: t.datasource }).toEqual({ panel: p.title, target: t.refId, datasource: { type: provisioned.type, uid: provisioned.uid } });
    }
  });

  it('resolves every dashboard query: the interval and the template variables, nothing else left', () => {
    const queries = dashboardQueries(dashboard);
    expect(queries.length).toBeGreaterThan(visualizations.length);
    for (const q of queries) expect(q.expr).not.toMatch(/\$/);
    expect(resolveVariables('rate(x{instance=~"$instance"}[$__rate_interval])', ['instance'])).toBe('rate(x{instance=~".+"}[1m])');
    expect(() => resolveVariables('x{instance="$instance"}', ['instance'])).toThrow(/outside a =~/);
    expect(() => resolveVariables('x[$__range]', [])).toThrow(/unresolved/);
  });

  it("strips an alert's final comparison to its signal, and refuses an expr that is not <signal> <comparison> <number>", () => {
    expect(alertSignal('sum(rate(a{status=~"5.."}[5m])) / sum(rate(a[5m])) > 0.05')).toBe('sum(rate(a{status=~"5.."}[5m])) / sum(rate(a[5m]))');
    expect(alertSignal('max(x > 1) by (instance) >= 1e3')).toBe('max(x > 1) by (instance)');
    expect(alertSignal('min(payments_database_up) == 0')).toBe('min(payments_database_up)');
    expect(alertSignal('histogram_quantile(0.99, sum by (le) (rate(h_bucket[5m])))\n  > 0.5\n')).toBe('histogram_quantile(0.99, sum by (le) (rate(h_bucket[5m])))');
    expect(() => alertSignal('up == 0 and x > 1')).toThrow(/one top-level comparison/);
    expect(() => alertSignal('a > 1 unless b < 2')).toThrow(/one top-level comparison/);
    expect(() => alertSignal('absent(up)')).toThrow(/does not end in/);
    expect(() => alertSignal('a > b')).toThrow(/does not end in/);
  });

  it('reads every alert of ops/prometheus/alerts.yml into its signal', () => {
    const rules = loadRules();
    expect(rules.filter((r) => r.alert !== undefined).length).toBeGreaterThan(0);
    expect(alertQueries(rules)).toHaveLength(rules.length);
  });

  it('puts Prometheus and Grafana under the observability profile of docker-compose.yml, on the ops files', () => {
    const { prometheus, grafana } = compose.services;
    expect(prometheus.profiles).toEqual(['observability']);
    expect(grafana.profiles).toEqual(['observability']);
    expect(prometheus.image).toMatch(/^prom\/prometheus:v\d+\.\d+\.\d+$/);
    expect(grafana.image).toMatch(/^grafana\/grafana:\d+\.\d+\.\d+$/);
    // the data source's url is the compose service and its port
    expect(datasources[0].url).toBe('http://prometheus:9090');
    expect(prometheus.ports).toContain('9090:9090');
    expect(mountOf(prometheus.volumes, './ops/prometheus')).toBe('/etc/prometheus');
    expect(prometheus.command).toContain('--config.file=/etc/prometheus/prometheus.yml');
    // compose's Prometheus loads the alerts this test loads
    const config = readYaml<{ rule_files?: string[]; global?: { scrape_interval?: string }; scrape_configs?: { scrape_interval?: string }[] }>(PROMETHEUS_CONFIG);
    expect((config.rule_files ?? []).map((f) => posix.resolve('/etc/prometheus', f))).toContain('/etc/prometheus/alerts.yml');
    // Grafana's $__rate_interval is four scrape intervals at least: the data source must know the real one
    expect(datasources[0].jsonData?.timeInterval).toBe(config.scrape_configs?.[0]?.scrape_interval ?? config.global?.scrape_interval ?? '1m');
  });

  it("provisions the dashboard from the folder compose mounts it into, and the data source from the provisioning folder", () => {
    const { grafana } = compose.services;
    const provider = readYaml<{ providers: { type: string; options: { path: string } }[] }>(PROVISIONED_DASHBOARDS).providers;
    expect(provider).toEqual([expect.objectContaining({ type: 'file' })]);
    const mounted = mountOf(grafana.volumes, './ops/grafana/payments.json');
    expect(mounted).toBeDefined();
    expect(posix.dirname(mounted!)).toBe(posix.normalize(provider[0].options.path));
    expect(mountOf(grafana.volumes, './ops/grafana/provisioning')).toBe('/etc/grafana/provisioning');
    expect(grafana.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH).toBe(mounted);
    for (const volume of grafana.volumes ?? []) expect(volume).toMatch(/:ro$/);
  });
});

interface PromResponse<T> {
  status: 'success' | 'error';
  data: T;
  error?: string;
  errorType?: string;
}
type Sample = { metric: Record<string, string>; value: [number, string] };
interface Target {
  health: string;
  scrapeUrl: string;
  lastScrape: string;
  lastError: string;
}
interface Rule {
  name: string;
  health: string;
  lastError?: string;
}

/** A port free on 127.0.0.1 now (Prometheus binds it right after). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

withPrometheus('against a real Prometheus scraping two instances', () => {
  const queries: OpsQuery[] = [...dashboardQueries(), ...alertQueries()];
  /** Every expr Prometheus answered with data. */
  const answered = new Set<string>();

  let db: TestDatabase;
  let broker: TestBroker;
  let a: TestApp;
  let b: TestApp;
  let dir: string;
  let prometheus: ChildProcess | undefined;
  let exited: Promise<unknown> | undefined;
  let prometheusLog = '';
  let prometheusUrl: string;

  /** Throws, with Prometheus' log, once the process has gone: a wait on it would never end. */
  function assertRunning(): void {
    if (prometheus?.exitCode !== null || prometheus.signalCode !== null) {
      throw new Error(`prometheus exited (${prometheus?.exitCode ?? prometheus?.signalCode}):\n${prometheusLog}`);
    }
  }

  async function api<T>(path: string, form?: Record<string, string>): Promise<PromResponse<T>> {
    assertRunning();
    const res = await fetch(`${prometheusUrl}${path}`, form ? { method: 'POST', body: new URLSearchParams(form) } : undefined);
    return (await res.json()) as PromResponse<T>;
  }

  const targets = async () => (await api<{ activeTargets: Target[] }>('/api/v1/targets?state=active')).data.activeTargets;

  /** Both instances up (each scraped once at least), and what Prometheus says of them. */
  const bothUp = () =>
    until(async () => {
      const active = await targets();
      return active.length === 2 && active.every((t) => t.health === 'up') && active;
    });

  /**
   * Waits until each instance has been scraped twice more, counting from now: the first of those
   * scrapes may have been under way already, the second began after it ended, so after this call.
   * Read off Prometheus' own bookkeeping (a target's lastScrape changing), not the test's clock.
   */
  async function scrapedTwiceMore(): Promise<void> {
    let last = new Map((await targets()).map((t) => [t.scrapeUrl, t.lastScrape]));
    for (let round = 0; round < 2; round++) {
      const previous = last;
      const active = await until(async () => {
        const now = await bothUp();
        return now.every((t) => t.lastScrape !== previous.get(t.scrapeUrl)) && now;
      });
      last = new Map(active.map((t) => [t.scrapeUrl, t.lastScrape]));
    }
  }

  /**
   * One round of what the panels show, on both instances: creates, a bulk import, lifecycle
   * events applied across instances (writes, group commits, the other instance's change feed),
   * reads, searches and stats twice (a cache miss then a hit), a 404, a 400; and through the
   * broker a command and a message of an unknown type (dead-lettered).
   */
  async function trafficRound(): Promise<void> {
    const org = uniqueId('org');
    for (const [one, other] of [
      [a, b],
      [b, a],
    ]) {
      const paid = paymentBody({ organizationId: org, amount: 1000 });
      const declined = paymentBody({ organizationId: org });
      expectStatus(await request(one.url).post('/payments').send(paid), 201);
      expectStatus(await request(other.url).post('/payments').send(declined), 201);
      expectStatus(await request(one.url).post('/payments/bulk').send({ payments: [paymentBody({ organizationId: org }), paymentBody({ organizationId: org })] }), 200);
      expectStatus(await sendEvent(other.url, paid.paymentId as string, { type: 'PaymentProcessed' }), 200);
      expectStatus(await sendEvent(one.url, paid.paymentId as string, { type: 'PaymentRefunded', data: { refundAmount: 100 } }), 200);
      expectStatus(await sendEvent(other.url, declined.paymentId as string, { type: 'PaymentFailed', data: { error: 'card declined' } }), 200);
      expectStatus(await request(one.url).get(`/payments/${paid.paymentId}`), 200);
      for (let i = 0; i < 2; i++) {
        expectStatus(await request(one.url).get('/payments/search').query({ organizationId: org }), 200);
        expectStatus(await request(one.url).get('/payments/stats').query({ organizationId: org }), 200);
      }
      expectStatus(await request(one.url).get(`/payments/${uniqueId('missing')}`).query({ organizationId: org }), 404);
      expectStatus(await request(one.url).post('/payments').send({ amount: -1 }), 400);
    }
    const viaBroker = paymentBody({ organizationId: org });
    await broker.publish({ type: 'CreatePayment', subject: viaBroker.paymentId as string, data: viaBroker });
    await broker.publish({ type: 'NoSuchCommand', subject: uniqueId('pay'), data: {} });
  }

  /**
   * The instant query's samples once one is a number (not NaN): a rate needs two scrapes of a
   * series that grew between them, so while there is none, one more round of traffic and a
   * scrape after it. No deadline but jest's.
   */
  async function dataOf(expr: string): Promise<Sample[]> {
    for (;;) {
      const res = await api<{ resultType: string; result: Sample[] }>('/api/v1/query', { query: expr });
      if (res.status !== 'success') throw new Error(`${res.errorType}: ${res.error} in ${expr}`);
      const samples = res.data.resultType === 'vector' ? res.data.result : [];
      if (samples.some((s) => Number.isFinite(Number(s.value[1])))) return samples;
      await trafficRound();
      await scrapedTwiceMore();
    }
  }

  beforeAll(async () => {
    if (!PROMETHEUS_ON_PATH) throw new Error('PROMETHEUS_REQUIRED=1 and no `prometheus` on PATH (apt-get install prometheus)');
    db = await createTestDatabase();
    broker = await TestBroker.open();
    const config = { databaseUrl: db.url, brokerUrl: TEST_BROKER_URL, brokerPrefix: broker.prefix };
    // one after the other: the second finds the schema migrated by the first
    a = await startTestApp(config);
    b = await startTestApp(config);
    await broker.waitForConsumer();

    // the job of ops/prometheus/prometheus.yml (its name and labels are what the alerts see), on the two instances
    const ops = readYaml<{ scrape_configs?: Record<string, unknown>[] }>(PROMETHEUS_CONFIG);
    const job = { ...(ops.scrape_configs?.[0] ?? { job_name: 'payments' }) };
    for (const key of Object.keys(job)) if (key.endsWith('_sd_configs') || key === 'static_configs') delete job[key];
    dir = await mkdtemp(join(tmpdir(), 'payments-prometheus-'));
    await writeFile(
      join(dir, 'prometheus.yml'),
      stringify({
        global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
        rule_files: [ALERTS_PATH],
        scrape_configs: [{ ...job, scrape_interval: '1s', scrape_timeout: '1s', static_configs: [{ targets: [a.url, b.url].map((u) => new URL(u).host) }] }],
      }),
    );
    const port = await freePort();
    prometheusUrl = `http://127.0.0.1:${port}`;
    prometheus = spawn(
      'prometheus',
      [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    exited = new Promise((resolve) => prometheus!.once('exit', resolve));
    prometheus.stderr!.on('data', (chunk: Buffer) => (prometheusLog = (prometheusLog + chunk.toString()).slice(-20_000)));
    await until(() => {
      assertRunning();
      return fetch(`${prometheusUrl}/-/ready`).then(
        (res) => res.ok,
        () => false, // not listening yet
      );
    });
  }, 120_000);

  afterAll(async () => {
    if (prometheus && prometheus.exitCode === null && prometheus.signalCode === null) prometheus.kill('SIGTERM');
    await exited;
    if (dir) await rm(dir, { recursive: true, force: true });
    await a?.close();
    await b?.close();
    await broker?.remove();
    await db?.drop();
  });

  it('scrapes both instances of the service', async () => {
    const active = await bothUp();
    expect(active.map((t) => t.scrapeUrl).sort()).toEqual([a.url, b.url].map((u) => `${u}/metrics`).sort());
    for (const t of active) expect(t).toMatchObject({ health: 'up', lastError: '' });
  });

  it.each(queries.map((q) => [q.source, q.expr]))('answers %s with data', async (_source, expr) => {
    const samples = await dataOf(expr);
    expect(samples.length).toBeGreaterThan(0);
    answered.add(expr);
  });

  it('loads every rule of ops/prometheus/alerts.yml, and evaluates each without error', async () => {
    const names = loadRules().map((r) => r.alert ?? r.record);
    const loaded = await until(async () => {
      const { data } = await api<{ groups: { rules: Rule[] }[] }>('/api/v1/rules');
      const rules = data.groups.flatMap((g) => g.rules);
      return rules.length >= names.length && rules.every((r) => r.health !== 'unknown') && rules;
    });
    expect(loaded.map((r) => r.name).sort()).toEqual([...names].sort());
    for (const r of loaded) expect({ rule: r.name, health: r.health, lastError: r.lastError ?? '' }).toEqual({ rule: r.name, health: 'ok', lastError: '' });
  });

  it("ran every query of the dashboard's panels", () => {
    const dashboard = loadDashboard(DASHBOARD_PATH);
    const variables = (dashboard.templating?.list ?? []).map((v) => v.name);
    const panelQueries = allPanels(dashboard).flatMap((p) => (p.targets ?? []).map((t) => resolveVariables(t.expr ?? '', variables)));
    expect(panelQueries.length).toBeGreaterThan(0);
    expect(panelQueries.filter((q) => !answered.has(q))).toEqual([]);
  });
});
