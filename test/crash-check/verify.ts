/**
 * The crash check's verification after a restart: every tracked payment judged against what is
 * stored, over HTTP and in SQL; the stored state becomes the next round's baseline.
 */
import http from 'node:http';
import { isDeepStrictEqual } from 'node:util';
import { Client } from 'pg';
import type { Payment } from '../e2e-helpers';
import { ANY_TIME, differences, expectedCreated, isPayment, show } from './expectations';
import { RESERVED_IDS } from './generators';
import { call } from './http-call';
import type { Load } from './load';
import { eventKey, keyOf, nameOf, paymentPath, Tracked } from './model';
import type { ServiceProcess } from '../service-process';

const SQL_PAYMENTS = `
  SELECT payment_id, organization_id, user_id, amount::text AS amount, currency, status, description, metadata,
    refunded_amount::text AS refunded_amount, error, version,
    (extract(epoch FROM created_at) * 1000)::text AS created_at, (extract(epoch FROM updated_at) * 1000)::text AS updated_at,
    (extract(epoch FROM completed_at) * 1000)::text AS completed_at, (extract(epoch FROM failed_at) * 1000)::text AS failed_at,
    (extract(epoch FROM refunded_at) * 1000)::text AS refunded_at
  FROM payments`;

interface SqlRow {
  payment_id: string;
  organization_id: string;
  user_id: string;
  amount: string;
  currency: string;
  status: string;
  description: string | null;
  metadata: Record<string, string>;
  refunded_amount: string;
  error: string | null;
  version: number;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
  failed_at: string | null;
  refunded_at: string | null;
}

const isoOf = (ms: string | null): string | null => (ms === null ? null : new Date(Math.round(Number(ms))).toISOString());

function paymentOfRow(r: SqlRow): Payment {
  return {
    paymentId: r.payment_id,
    organizationId: r.organization_id,
    userId: r.user_id,
    amount: Number(r.amount),
    currency: r.currency,
    status: r.status as Payment['status'],
    description: r.description,
    metadata: r.metadata,
    refundedAmount: Number(r.refunded_amount),
    error: r.error,
    createdAt: isoOf(r.created_at) as string,
    updatedAt: isoOf(r.updated_at) as string,
    completedAt: isoOf(r.completed_at),
    failedAt: isoOf(r.failed_at),
    refundedAt: isoOf(r.refunded_at),
    version: r.version,
  };
}

async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

/** Judges one tracked payment against what is stored; returns [lost, problems]. */
function judge(p: Tracked, stored: Payment | undefined, events: Set<string>): { lost: string[]; problems: string[] } {
  const lost: string[] = [];
  const problems: string[] = [];
  const k = p.known;
  const f = p.inFlight;
  if (k === undefined) {
    if (stored === undefined) return { lost, problems };
    if (f?.kind !== 'create') problems.push(`${p.name}: stored, but its create was neither acknowledged nor in flight`);
    else {
      const diff = differences(stored, expectedCreated(p.body));
      if (diff.length > 0) problems.push(`${p.name}: created by the request in flight, but not as sent: ${diff.join('; ')}`);
    }
    return { lost, problems };
  }
  if (stored === undefined) {
    lost.push(`${p.name}: acknowledged (v${k.version}) but absent`);
    return { lost, problems };
  }
  if (stored.version < k.version) {
    lost.push(`${p.name}: acknowledged v${k.version}, stored v${stored.version}: ${differences(stored, { ...k }).join('; ')}`);
    return { lost, problems };
  }
  if (stored.version === k.version) {
    const diff = differences(stored, { ...k });
    if (diff.length > 0) lost.push(`${p.name}: v${k.version} stored with other fields than acknowledged: ${diff.join('; ')}`);
  } else if (f === undefined || f.kind === 'create' || f.kind === 'inert') {
    problems.push(`${p.name}: stored v${stored.version} is past the acknowledged v${k.version}, and no request in flight could make it (${f ? f.kind + ' ' + ('what' in f ? f.what : '') : 'none'})`);
  } else if (f.kind === 'event') {
    const diff = differences(stored, f.expected);
    if (diff.length > 0) problems.push(`${p.name}: stored v${stored.version} is not v${k.version} with the in-flight event applied: ${diff.join('; ')}`);
  }
  // the event table moves with the payment, in one transaction
  if (f?.kind === 'event' && f.eventId !== undefined) {
    const recorded = events.has(eventKey(p.org, p.id, f.eventId));
    const appliedNow = stored.version > k.version;
    if (recorded !== appliedNow) problems.push(`${p.name}: in-flight event ${f.eventId} ${recorded ? 'recorded' : 'not recorded'} but the payment ${appliedNow ? 'changed' : 'did not change'}`);
  }
  if (f?.kind === 'race') {
    const n = stored.version - f.base.version;
    if (n > f.applied + f.unknown) problems.push(`${p.name}: ${n} racing refunds applied, at most ${f.applied + f.unknown} possible`);
    const expected = n === 0 ? f.base : { ...f.base, status: 'refunded', refundedAmount: f.base.refundedAmount + n * f.x, refundedAt: f.occurredAt, updatedAt: ANY_TIME, version: f.base.version + n };
    const diff = differences(stored, { ...expected });
    if (diff.length > 0) problems.push(`${p.name}: after the racing refunds: ${diff.join('; ')}`);
    const recorded = f.eventIds.filter((e) => events.has(eventKey(p.org, p.id, e))).length;
    if (recorded !== n) problems.push(`${p.name}: ${n} racing refunds applied but ${recorded} of their event ids recorded`);
  }
  return { lost, problems };
}

export async function verify(load: Load, service: ServiceProcess, databaseUrl: string): Promise<{ lost: string[]; problems: string[]; checked: number }> {
  const lost: string[] = [];
  const problems: string[] = [];
  const sql = new Client({ connectionString: databaseUrl });
  await sql.connect();
  let rows: SqlRow[];
  let eventRows: { organization_id: string; payment_id: string; event_id: string }[];
  try {
    rows = (await sql.query<SqlRow>(SQL_PAYMENTS)).rows;
    eventRows = (await sql.query<{ organization_id: string; payment_id: string; event_id: string }>('SELECT organization_id, payment_id, event_id FROM payment_events')).rows;
  } finally {
    await sql.end();
  }
  const inSql = new Map(rows.map((r) => [keyOf(r.organization_id, r.payment_id), paymentOfRow(r)]));
  /** paymentId -> its stored payments, one per organization */
  const sqlById = new Map<string, Payment[]>();
  for (const row of inSql.values()) sqlById.set(row.paymentId, [...(sqlById.get(row.paymentId) ?? []), row]);
  const events = new Set(eventRows.map((r) => eventKey(r.organization_id, r.payment_id, r.event_id)));

  // every stored payment was sent in a create that was acknowledged or in flight
  for (const [key, row] of inSql) {
    const p = load.payments.get(key);
    if (p === undefined || (p.known === undefined && p.inFlight?.kind !== 'create')) {
      const why = load.absentIds.has(row.paymentId) ? ' (its create was refused, or it was sent no create)' : load.mustBeAbsent.has(key) ? ' (never created in this organization)' : '';
      problems.push(`${nameOf(row.organizationId, row.paymentId)}: stored, but never acknowledged nor in flight as a create${why}`);
    }
  }
  for (const id of load.absentIds) {
    for (const row of sqlById.get(id) ?? []) problems.push(`${nameOf(row.organizationId, id)}: must not exist in any organization (refused create, or an event on an unknown id), but it is stored`);
  }
  for (const key of events) if (!load.possibleEvents.has(key)) problems.push(`event ${show(key.split('\u0000'))} recorded, but it was refused or never sent`);
  for (const key of load.appliedEvents) if (!events.has(key)) lost.push(`event ${show(key.split('\u0000'))} acknowledged as applied, but not recorded (a redelivery would apply it again)`);

  // over HTTP: every payment ever addressed, in its organization
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  const viaHttp = new Map<string, Payment | undefined>();
  const addressed = [...[...load.payments.values()].map((p) => ({ org: p.org, id: p.id })), ...load.mustBeAbsent.values()];
  await mapLimit(addressed, 32, async ({ org, id }) => {
    const o = await call(agent, service.port, 'GET', paymentPath(org, id));
    if (o.status === 200 && isPayment(o.body)) viaHttp.set(keyOf(org, id), o.body);
    else if (o.status === 404) viaHttp.set(keyOf(org, id), undefined);
    else problems.push(`GET ${nameOf(org, id)}: ${o.status} ${o.error ?? show(o.body)}`);
  });
  // and every paymentId ever sent (but the reserved ones: they are routes), without organizationId
  const ids = new Set([...addressed.map((a) => a.id), ...load.absentIds].filter((id) => !RESERVED_IDS.includes(id)));
  await mapLimit([...ids], 32, async (id) => {
    const o = await call(agent, service.port, 'GET', `/payments/${encodeURIComponent(id)}`);
    const stored = sqlById.get(id) ?? [];
    const what = `GET ${id} without organizationId (stored in ${stored.length === 0 ? 'no organization' : stored.map((r) => r.organizationId).join(', ')})`;
    if (stored.length === 0 ? o.status !== 404 : stored.length === 1 ? o.status !== 200 || !isDeepStrictEqual(o.body, stored[0]) : o.status !== 409 || (o.body as { type?: unknown } | undefined)?.type !== '/problems/payment-id-ambiguous') {
      problems.push(`${what}: ${o.status} ${o.error ?? show(o.body)}`);
    }
  });
  const info = await call(agent, service.port, 'GET', '/admin/store');
  agent.destroy();
  const storeSize = (info.body as { payments?: number } | undefined)?.payments;
  if (storeSize !== rows.length) problems.push(`/admin/store counts ${storeSize} payments, the table holds ${rows.length}`);

  let checked = 0;
  for (const [key, { org, id }] of load.mustBeAbsent) {
    checked++;
    if (viaHttp.get(key) !== undefined || inSql.has(key)) problems.push(`${nameOf(org, id)}: must not exist (an event on a payment unknown in this organization, or an unresolved create found absent), but it is stored`);
  }
  for (const p of load.payments.values()) {
    if (!viaHttp.has(p.key)) continue; // the GET failed: reported above
    checked++;
    const stored = viaHttp.get(p.key);
    const row = inSql.get(p.key);
    if (!isDeepStrictEqual(stored, row)) {
      problems.push(`${p.name}: HTTP and SQL disagree: ${stored && row ? differences(stored, { ...row }).join('; ') : `${stored ? 'present' : 'absent'} over HTTP, ${row ? 'present' : 'absent'} in SQL`}`);
    }
    const verdict = judge(p, stored, events);
    lost.push(...verdict.lost);
    problems.push(...verdict.problems);

    // the stored state is the baseline of the next round
    if (stored === undefined) {
      if (p.known === undefined) {
        load.payments.delete(p.key);
        load.mustBeAbsent.set(p.key, { org: p.org, id: p.id });
      }
      continue;
    }
    const f = p.inFlight;
    if (f?.kind === 'event' && f.eventId !== undefined && stored.version > (p.known?.version ?? 0)) {
      // the in-flight event was committed: from now on it is one to redeliver
      p.applied.push({ eventId: f.eventId, body: f.body });
      load.appliedEvents.add(eventKey(p.org, p.id, f.eventId));
    }
    if (f?.kind === 'race') {
      f.eventIds.forEach((e) => {
        const key = eventKey(p.org, p.id, e);
        if (!events.has(key) || load.appliedEvents.has(key)) return;
        load.appliedEvents.add(key);
        p.applied.push({ eventId: e, body: { eventId: e, type: 'PaymentRefunded', occurredAt: f.occurredAt, data: { refundAmount: f.x } } });
      });
    }
    p.known = stored;
    p.inFlight = undefined;
    p.busy = false;
  }
  load.idle = [...load.payments.values()].filter((p) => p.known !== undefined).map((p) => p.key);
  return { lost, problems, checked };
}
