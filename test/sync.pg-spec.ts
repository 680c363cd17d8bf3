import type { Client } from 'pg';
import request from 'supertest';
import {
  applyEvent,
  Body,
  createPayment,
  expectInvalidFields,
  expectProblem,
  expectStatus,
  getPayment,
  importPayments,
  moveTo,
  Payment,
  PAYMENT_FIELDS,
  paymentBody,
  paymentPath,
  sendEvent,
  uniqueId,
} from './e2e-helpers';
import { comparableStats, connectSql, countBy, eventually, mapLimit, metricsText, metricValue, percentile, sqlStats, statsOf } from './pg-helpers';
import { createTestDatabase, startTestApp, TestApp, TestDatabase } from './test-app';

/**
 * /admin/sync in PostgreSQL mode: the per-payment comparison of memory with the database,
 * and the rebuild that repairs drift (rows changed or deleted behind the service's back)
 * while reads go on and without losing a write made meanwhile.
 */

let db: TestDatabase;
let t: TestApp;
let sql: Client;

beforeAll(async () => {
  db = await createTestDatabase();
  t = await startTestApp({ databaseUrl: db.url });
  sql = await connectSql(db.url);
});

afterAll(async () => {
  await sql?.end();
  await t?.close();
  await db?.drop();
});

const checkPath = (paymentId: string) => `/admin/sync/${encodeURIComponent(paymentId)}`;

async function check(paymentId: string): Promise<Record<string, unknown>> {
  const res = await request(t.url).get(checkPath(paymentId));
  expectStatus(res, 200);
  return res.body;
}

async function synchronize(body: Body = {}): Promise<number> {
  const res = await request(t.url).post('/admin/sync').send(body);
  expectStatus(res, 200);
  expect(Object.keys(res.body)).toEqual(['synchronized']);
  return res.body.synchronized as number;
}

async function countRows(where = 'true', params: unknown[] = []): Promise<number> {
  return (await sql.query(`SELECT count(*)::int AS n FROM payments WHERE ${where}`, params)).rows[0].n;
}

describe('GET /admin/sync/:paymentId', () => {
  it('says a fresh payment is in sync, with no differing field and equal versions', async () => {
    const payment = await createPayment(t.url, {
      description: 'fresh',
      metadata: { source: 'test', b: '2', a: '1' },
      createdAt: '2026-03-01T12:34:56.789Z',
    });

    expect(await check(payment.paymentId)).toEqual({
      paymentId: payment.paymentId,
      organizationId: payment.organizationId,
      inSync: true,
      differingFields: [],
      memoryVersion: 1,
      primaryVersion: 1,
    });

    await moveTo(t.url, payment.paymentId, 'refunded');
    expect(await check(payment.paymentId)).toEqual({
      paymentId: payment.paymentId,
      organizationId: payment.organizationId,
      inSync: true,
      differingFields: [],
      memoryVersion: 3,
      primaryVersion: 3,
    });
  });

  it('is a 404 problem for an unknown paymentId', async () => {
    const res = await request(t.url).get(checkPath(uniqueId('nope')));

    expectProblem(res, 404);
    expect(res.body.type).toBe('/problems/payment-not-found');
  });
});

describe('drift repaired by POST /admin/sync', () => {
  it('reports a description changed in SQL, and a sync of its organization repairs it (and only that organization)', async () => {
    const organizationId = uniqueId('org-drift');
    const other = uniqueId('org-other');
    const payments = [
      await createPayment(t.url, { organizationId, description: 'original' }),
      await createPayment(t.url, { organizationId }),
      await createPayment(t.url, { organizationId }),
    ];
    const drifted = payments[0];
    const elsewhere = await createPayment(t.url, { organizationId: other, description: 'original' });
    // a search answered (and cached) before the drift
    const before = await request(t.url).get('/payments/search').query({ organizationId, sort: 'amount' });
    expect(before.body.items.map((p: Payment) => p.description)).toContain('original');

    await sql.query(`UPDATE payments SET description = 'changed' WHERE payment_id = ANY($1::text[])`, [[drifted.paymentId, elsewhere.paymentId]]);

    expect(await check(drifted.paymentId)).toEqual({
      paymentId: drifted.paymentId,
      organizationId: drifted.organizationId,
      inSync: false,
      differingFields: ['description'],
      memoryVersion: 1,
      primaryVersion: 1,
    });
    // memory still answers what it holds, until a sync
    expect((await getPayment(t.url, drifted.paymentId)).description).toBe('original');

    expect(await synchronize({ organizationId })).toBe(await countRows('organization_id = $1', [organizationId]));

    expect(await check(drifted.paymentId)).toMatchObject({ inSync: true, differingFields: [] });
    expect(await getPayment(t.url, drifted.paymentId)).toEqual({ ...drifted, description: 'changed' });
    const after = await request(t.url).get('/payments/search').query({ organizationId, sort: 'amount' });
    expect(after.body.items.find((p: Payment) => p.paymentId === drifted.paymentId).description).toBe('changed');
    for (const p of payments.slice(1)) expect(await getPayment(t.url, p.paymentId)).toEqual(p);
    // the other organization was not reloaded
    expect(await check(elsewhere.paymentId)).toMatchObject({ inSync: false, differingFields: ['description'] });

    expect(await synchronize()).toBe(await countRows());
    expect(await check(elsewhere.paymentId)).toMatchObject({ inSync: true, differingFields: [] });
    expect((await getPayment(t.url, elsewhere.paymentId)).description).toBe('changed');
  });

  it('repairs a status changed in SQL everywhere it is indexed: GET, search by status and stats', async () => {
    const organizationId = uniqueId('org-status');
    const payment = await createPayment(t.url, { organizationId, amount: 700 });
    await createPayment(t.url, { organizationId, amount: 300 });
    expect((await statsOf(t.url, { organizationId })).byStatus).toMatchObject({ pending: 2, failed: 0 });

    await sql.query(`UPDATE payments SET status = 'failed', error = 'changed in SQL', failed_at = now() WHERE payment_id = $1`, [payment.paymentId]);

    const drift = await check(payment.paymentId);
    expect(drift.inSync).toBe(false);
    expect([...(drift.differingFields as string[])].sort()).toEqual(['error', 'failedAt', 'status']);

    expect(await synchronize({ organizationId })).toBe(2);

    expect(await getPayment(t.url, payment.paymentId)).toMatchObject({ status: 'failed', error: 'changed in SQL', version: 1 });
    const failed = await request(t.url).get('/payments/search').query({ organizationId, status: 'failed' });
    expect(failed.body.items.map((p: Payment) => p.paymentId)).toEqual([payment.paymentId]);
    const stats = await statsOf(t.url, { organizationId });
    expect(comparableStats(stats)).toEqual(await sqlStats(sql, 'organization_id = $1', [organizationId]));
    expect(stats.byStatus).toMatchObject({ pending: 1, failed: 1 });
  });

  it('drops a row deleted in SQL from memory on a full sync: GET 404, search and stats totals drop', async () => {
    const organizationId = uniqueId('org-deleted');
    const doomed = await createPayment(t.url, { organizationId, amount: 1234 });
    await applyEvent(t.url, doomed.paymentId, { eventId: uniqueId('evt'), type: 'PaymentProcessed' });
    const kept = await createPayment(t.url, { organizationId, amount: 10 });
    expect((await request(t.url).get('/payments/search').query({ organizationId })).body.total).toBe(2);
    const globalBefore = (await statsOf(t.url)).total as number;

    await sql.query('DELETE FROM payment_events WHERE payment_id = $1', [doomed.paymentId]);
    await sql.query('DELETE FROM payments WHERE payment_id = $1', [doomed.paymentId]);

    const drift = await check(doomed.paymentId);
    expect(drift).toMatchObject({ inSync: false, memoryVersion: 2, primaryVersion: null });
    expect([...(drift.differingFields as string[])].sort()).toEqual([...PAYMENT_FIELDS].sort());

    expect(await synchronize()).toBe(await countRows());

    expectProblem(await request(t.url).get(paymentPath(doomed.paymentId)), 404);
    expectProblem(await request(t.url).get(checkPath(doomed.paymentId)), 404);
    const search = await request(t.url).get('/payments/search').query({ organizationId });
    expect(search.body.total).toBe(1);
    expect(search.body.items).toEqual([kept]);
    const stats = await statsOf(t.url, { organizationId });
    expect(stats).toMatchObject({ total: 1, amountByCurrency: { EUR: 10 } });
    expect((await statsOf(t.url)).total).toBe(globalBefore - 1);
    expect((await statsOf(t.url)).total).toBe(await countRows());
  });
});

describe('POST /admin/sync while the service is busy', () => {
  const ORGS = 5;
  const PER_ORG = 1000;
  const orgs = Array.from({ length: ORGS }, () => uniqueId('org-load'));
  const sample: Payment[] = [];

  beforeAll(async () => {
    const started = performance.now();
    for (const organizationId of orgs) {
      const bodies = Array.from({ length: PER_ORG }, (_, i) =>
        paymentBody({ organizationId, amount: 1 + i, currency: i % 3 === 0 ? 'USD' : 'EUR', description: `load ${i}` }),
      );
      await importPayments(t.url, bodies);
      for (const b of bodies.slice(0, 40)) sample.push(await getPayment(t.url, b.paymentId as string));
    }
    console.log(`imported ${ORGS * PER_ORG} payments in ${(performance.now() - started).toFixed(0)} ms`);
  }, 120_000);

  it('keeps serving consistent reads during syncs, and loses no write made during them', async () => {
    const writeOrg = uniqueId('org-during');
    const eventOrg = uniqueId('org-events');
    const targets = await mapLimit(Array.from({ length: 150 }), 10, () => createPayment(t.url, { organizationId: eventOrg }));
    const totalBefore = (await statsOf(t.url)).total as number;
    expect(totalBefore).toBe(await countRows());
    const idleSyncStarted = performance.now();
    expect(await synchronize()).toBe(totalBefore);
    const idleSyncMs = performance.now() - idleSyncStarted;
    const idleReads: number[] = [];
    for (const p of sample.slice(0, 200)) {
      const started = performance.now();
      await request(t.url).get(paymentPath(p.paymentId));
      idleReads.push(performance.now() - started);
    }
    idleReads.sort((x, y) => x - y);

    let syncing = true;
    const syncWindows: [number, number][] = [];
    const synchronized: number[] = [];
    const readSpans: [number, number][] = [];
    const problems: unknown[] = [];
    const createdIds: string[] = [];
    const processedIds: string[] = [];
    const writeAnswers: { status: number }[] = [];
    const writeSpans: [number, number][] = [];
    /** A request overlapped a sync: it was sent before a sync's answer came and answered after that sync was sent. */
    const during = ([s, e]: [number, number]) => syncWindows.some(([ss, se]) => s < se && e > ss);
    /** Enough met the syncs to mean something; counted, never timed, so a slow machine only takes longer. */
    const enough = () =>
      syncWindows.length >= 6 &&
      readSpans.filter(during).length > 50 &&
      writeSpans.filter(during).length > 20 &&
      createdIds.length > 5 &&
      processedIds.length > 5;

    const reader = async (w: number) => {
      for (let i = 0; syncing; i++) {
        const started = performance.now();
        const kind = (w + i) % 4;
        if (kind === 0 || kind === 1) {
          const expected = sample[(w * 7919 + i * 104_729) % sample.length];
          const res = await request(t.url).get(paymentPath(expected.paymentId));
          if (res.status !== 200 || JSON.stringify(res.body) !== JSON.stringify(expected)) problems.push({ get: expected.paymentId, status: res.status, body: res.body });
        } else if (kind === 2) {
          const organizationId = orgs[i % ORGS];
          const res = await request(t.url).get('/payments/search').query({ organizationId, currency: 'USD', sort: '-amount', size: 5 });
          const amounts = (res.body.items ?? []).map((p: Payment) => p.amount);
          if (res.status !== 200 || res.body.total !== 334 || amounts.join() !== '1000,997,994,991,988') problems.push({ search: organizationId, status: res.status, total: res.body.total, amounts });
        } else {
          const organizationId = orgs[i % ORGS];
          const res = await request(t.url).get('/payments/stats').query({ organizationId });
          if (res.status !== 200 || res.body.total !== PER_ORG || res.body.amountByCurrency?.USD + res.body.amountByCurrency?.EUR !== (PER_ORG * (PER_ORG + 1)) / 2) {
            problems.push({ stats: organizationId, status: res.status, body: res.body });
          }
        }
        readSpans.push([started, performance.now()]);
      }
    };
    const toProcess = [...targets];
    const writer = async () => {
      for (let i = 0; syncing; i++) {
        const started = performance.now();
        const target = i % 2 === 1 ? toProcess.shift() : undefined;
        if (target === undefined) {
          const body = paymentBody({ organizationId: writeOrg });
          const res = await request(t.url).post('/payments').send(body);
          writeAnswers.push(res);
          if (res.status === 201) createdIds.push(body.paymentId as string);
        } else {
          const res = await sendEvent(t.url, target.paymentId, { type: 'PaymentProcessed', eventId: `evt-${target.paymentId}` });
          writeAnswers.push(res);
          if (res.status === 200) processedIds.push(target.paymentId);
        }
        writeSpans.push([started, performance.now()]);
      }
    };
    const syncs = async () => {
      try {
        for (let round = 0; !enough(); round++) {
          if (round === 200) throw new Error(`after 200 syncs, still not enough reads and writes met them: ${readSpans.length} reads, ${writeSpans.length} writes`);
          const started = performance.now();
          const res = await request(t.url).post('/admin/sync').send(round % 3 === 1 ? { organizationId: orgs[round % ORGS] } : {});
          syncWindows.push([started, performance.now()]);
          expectStatus(res, 200);
          synchronized.push(res.body.synchronized);
        }
      } finally {
        syncing = false;
      }
    };

    await Promise.all([syncs(), ...Array.from({ length: 8 }, (_, w) => reader(w)), ...Array.from({ length: 4 }, () => writer())]);

    expect(problems.slice(0, 5)).toEqual([]);
    // the reads and writes really ran while syncs were in progress
    const overlapping = readSpans.filter(during).length;
    expect(overlapping).toBeGreaterThan(50);
    expect(writeSpans.filter(during).length).toBeGreaterThan(20);
    expect(countBy(writeAnswers)).toEqual(expect.objectContaining({ 201: createdIds.length }));
    expect(Object.keys(countBy(writeAnswers)).every((s) => s === '200' || s === '201')).toBe(true);
    expect(createdIds.length).toBeGreaterThan(5);
    expect(processedIds.length).toBeGreaterThan(5);
    // served all along (every read above was answered, and right), if slower: the latency is shown below
    const readMs = readSpans.filter(during).map(([s, e]) => e - s).sort((x, y) => x - y);
    for (const n of synchronized.filter((_, round) => round % 3 === 1)) expect(n).toBe(PER_ORG);

    // no lost write: every acknowledged one is in memory (and in the database)
    const missing = await mapLimit(createdIds, 20, async (id) => ((await request(t.url).get(paymentPath(id))).status === 200 ? null : id));
    expect(missing.filter((id) => id !== null)).toEqual([]);
    const notProcessed = await mapLimit(processedIds, 20, async (id) => ((await getPayment(t.url, id)).status === 'completed' ? null : id));
    expect(notProcessed.filter((id) => id !== null)).toEqual([]);
    expect(comparableStats(await statsOf(t.url, { organizationId: writeOrg }))).toEqual(await sqlStats(sql, 'organization_id = $1', [writeOrg]));
    expect(comparableStats(await statsOf(t.url, { organizationId: eventOrg }))).toEqual(await sqlStats(sql, 'organization_id = $1', [eventOrg]));
    expect((await statsOf(t.url)).total).toBe(await countRows());
    expect((await statsOf(t.url)).total).toBe(totalBefore + createdIds.length);
    const durations = syncWindows.map(([s, e]) => e - s);
    console.log(
      `idle: one full sync of ${totalBefore} payments ${idleSyncMs.toFixed(0)} ms, GET p50 ${percentile(idleReads, 50).toFixed(1)} ms / max ${idleReads[idleReads.length - 1].toFixed(1)} ms. ` +
        `busy: ${durations.length} syncs of ~${totalBefore} payments, ${Math.min(...durations).toFixed(0)}-${Math.max(...durations).toFixed(0)} ms each ` +
        `(median ${[...durations].sort((x, y) => x - y)[Math.floor(durations.length / 2)].toFixed(0)} ms); ` +
        `${readSpans.length} reads (${overlapping} during a sync; latency p50 ${percentile(readMs, 50).toFixed(1)} ms, ` +
        `p99 ${percentile(readMs, 99).toFixed(1)} ms, max ${readMs[readMs.length - 1].toFixed(1)} ms), ` +
        `${createdIds.length} creates and ${processedIds.length} events meanwhile`,
    );
  }, 180_000);
});

describe('POST /admin/sync validation', () => {
  let drifted: Payment;

  beforeAll(async () => {
    drifted = await createPayment(t.url, { description: 'original' });
    await sql.query(`UPDATE payments SET description = 'changed' WHERE payment_id = $1`, [drifted.paymentId]);
  });

  it.each([
    ['a number as organizationId', { organizationId: 5 }, ['organizationId']],
    ['an empty organizationId', { organizationId: '' }, ['organizationId']],
    ['an organizationId over 64 characters', { organizationId: 'x'.repeat(65) }, ['organizationId']],
    ['an unknown property', { organisationId: 'org-1' }, ['organisationId']],
    ['a server-owned property', { synchronized: 3 }, ['synchronized']],
  ])('rejects %s with a 400 problem naming the field, and reloads nothing', async (_name, body, fields) => {
    const res = await request(t.url).post('/admin/sync').send(body);

    expectInvalidFields(res, fields);
    expect(res.body.type).toBe('/problems/validation-failed');
    expect(await check(drifted.paymentId)).toMatchObject({ inSync: false, differingFields: ['description'] });
  });

  it('accepts a valid organizationId after all (the drift above is then repaired)', async () => {
    expect(await synchronize({ organizationId: drifted.organizationId })).toBe(1);
    expect(await check(drifted.paymentId)).toMatchObject({ inSync: true });
  });
});

describe('metrics', () => {
  it('exposes payments_commit_batch_size: a bulk import is committed in a few grouped transactions', async () => {
    const before = await metricsText(t.url);
    expect(before).toMatch(/^# TYPE payments_commit_batch_size histogram$/m);
    const count0 = metricValue(before, 'payments_commit_batch_size_count') ?? 0;
    const sum0 = metricValue(before, 'payments_commit_batch_size_sum') ?? 0;

    await importPayments(t.url, Array.from({ length: 250 }, () => paymentBody()));

    const after = await metricsText(t.url);
    const transactions = (metricValue(after, 'payments_commit_batch_size_count') ?? 0) - count0;
    expect((metricValue(after, 'payments_commit_batch_size_sum') ?? 0) - sum0).toBe(250);
    expect(transactions).toBeGreaterThanOrEqual(3); // at most 100 writes per transaction (groupCommitMaxBatch)
    expect(transactions).toBeLessThanOrEqual(10);
    expect(metricValue(after, 'payments_commit_batch_size_bucket{le="+Inf"}')).toBe(metricValue(after, 'payments_commit_batch_size_count'));
  });

  it('exposes payments_sync_delay_seconds: writes of another instance are observed as they arrive', async () => {
    const before = await metricsText(t.url);
    expect(before).toMatch(/^# TYPE payments_sync_delay_seconds histogram$/m);
    const count0 = metricValue(before, 'payments_sync_delay_seconds_count') ?? 0;
    const other = await startTestApp({ databaseUrl: db.url });
    try {
      const created = await mapLimit(Array.from({ length: 20 }), 5, () => createPayment(other.url));
      await eventually(async () => {
        for (const p of created) expect(await getPayment(t.url, p.paymentId)).toEqual(p);
      });
      const after = await metricsText(t.url);
      const observed = (metricValue(after, 'payments_sync_delay_seconds_count') ?? 0) - count0;
      expect(observed).toBeGreaterThanOrEqual(20);
      // every observation is in a bucket (how long each took is the machine's business)
      expect(metricValue(after, 'payments_sync_delay_seconds_bucket{le="+Inf"}')).toBe(metricValue(after, 'payments_sync_delay_seconds_count'));
      // and the feed position is the database's last sequence number
      const { rows } = await sql.query('SELECT max(seq)::float8 AS seq FROM payments');
      expect(metricValue(after, 'payments_sync_position')).toBe(rows[0].seq);
    } finally {
      await other.close();
    }
  });
});
