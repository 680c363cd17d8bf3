/**
 * Where the load at start spends its time (bench/postgres.ts' load case), measured apart, each
 * part as one more read of the same table in this process (the service's own code, compiled as
 * it ships):
 *
 *   executor  EXPLAIN ANALYZE of the COPY's SELECT: PostgreSQL alone, no row leaves the server
 *   copy      COPY ... TO STDOUT (FORMAT binary) read to the end, each payload dropped: the
 *             server, the wire and this process reading the socket (copyOut)
 *   decode    the same, each row decoded (PaymentCopyDecoder) and dropped
 *   append    the same, each row appended to a store in a bulk load (appendLoaded)
 *   index     that store's endBulkLoad(): the sorted indexes
 *
 * Env: BENCH_PG_APP_URL (the table's DATABASE_URL). Prints one JSON line: wall and CPU
 * milliseconds of each part (the part alone: copy subtracted from decode, decode from append).
 */
import { AppConfig } from '../src/config';
import { PaymentStore } from '../src/payments/store/payment.store';
import type { LoadedPayment } from '../src/payments/store/bulk-load';
import { copyOut } from '../src/persistence/copy-out';
import { PAYMENT_COPY_COLUMNS, PaymentCopyDecoder } from '../src/persistence/payment-copy';
import { createClient } from '../src/persistence/postgres';

const config = new AppConfig({ databaseUrl: process.env.BENCH_PG_APP_URL, logLevel: 'silent', cacheTtlSeconds: 0 });
const COPY = `COPY (SELECT ${PAYMENT_COPY_COLUMNS} FROM payments) TO STDOUT (FORMAT binary)`;

const cpuMs = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};

async function timed(f: () => Promise<unknown> | unknown): Promise<{ ms: number; cpuMs: number }> {
  (globalThis as { gc?: () => void }).gc?.();
  const t = performance.now();
  const c = cpuMs();
  await f();
  return { ms: performance.now() - t, cpuMs: cpuMs() - c };
}

/** One read of the table through COPY, each payload to `sink`. */
async function copy(sink: (bytes: Buffer, start: number, end: number) => void): Promise<number> {
  const client = createClient(config);
  await client.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const rows = await copyOut(client, COPY, sink);
    await client.query('COMMIT');
    return rows;
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  const client = createClient(config);
  await client.connect();
  const plan = await client.query(`EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) SELECT ${PAYMENT_COPY_COLUMNS} FROM payments`);
  const { rows: estimate } = await client.query<{ n: number }>(`SELECT greatest(reltuples, 0)::bigint AS n FROM pg_class WHERE oid = 'payments'::regclass`);
  await client.end();
  const executorMs = Number((plan.rows[0]['QUERY PLAN'] as { 'Execution Time': number }[])[0]['Execution Time']);

  let rows = 0;
  const copied = await timed(async () => (rows = await copy(() => undefined)));
  const decoded = await timed(async () => {
    const decoder = new PaymentCopyDecoder(() => undefined);
    await copy((b, s, e) => decoder.write(b, s, e));
    decoder.end();
  });
  const store = new PaymentStore(config);
  store.beginBulkLoad(estimate[0].n);
  const appended = await timed(async () => {
    const decoder = new PaymentCopyDecoder((p: LoadedPayment) => store.appendLoaded(p));
    await copy((b, s, e) => decoder.write(b, s, e));
    decoder.end();
  });
  const indexed = await timed(() => store.endBulkLoad());
  if (store.size !== rows) throw new Error(`pg-load-parts: the store holds ${store.size} of ${rows} payments`);
  process.stdout.write(
    JSON.stringify({
      rows,
      executorMs,
      copy: copied,
      decode: { ms: decoded.ms - copied.ms, cpuMs: decoded.cpuMs - copied.cpuMs },
      append: { ms: appended.ms - decoded.ms, cpuMs: appended.cpuMs - decoded.cpuMs },
      index: indexed,
    }) + '\n',
  );
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`pg-load-parts: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
