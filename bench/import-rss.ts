/**
 * What a payment costs the service when it arrives over HTTP (issue 18): the service as
 * `npm start` runs it (dist/main.js with the production node flags, memory mode, open (no
 * auth), its defaults except MAX_PAYMENTS), N payments of the bench's data set posted to `POST /payments/bulk`,
 * 1,000 per request, then idle; the process's RSS read from /proc (what `docker stats` shows)
 * and its heap and ArrayBuffers from /metrics, per payment.
 *
 *   npm run bench:import                      # 1M payments, 30 s idle
 *   BENCH_N=10000000 npm run bench:import     # the 10M
 *
 * Env: BENCH_N (default 1,000,000), BENCH_IMPORT_IDLE_S (default 30), BENCH_IMPORT_CONCURRENCY
 * (requests in flight, default 4). The creates are the data set's payments as clients send
 * them (paymentId, organizationId, userId, amount, currency, createdAt): every one pending.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, ServiceProcess, waitUntil } from '../test/service-process';
import { compiled, serviceNodeFlags } from './build';
import { DatasetGenerator } from './dataset';
import { int } from './format';

const N = Number(process.env.BENCH_N ?? 1_000_000);
const IDLE_S = Number(process.env.BENCH_IMPORT_IDLE_S ?? 30);
const CONCURRENCY = Number(process.env.BENCH_IMPORT_CONCURRENCY ?? 4);
const BATCH = 1000;

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}

async function metric(base: string, name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  if (line === undefined) throw new Error(`no ${name} in /metrics`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function main(): Promise<void> {
  const port = await freePort();
  const script = compiled('src/main.ts');
  // BENCH_SERVER_NODE_ARGS: extra node flags for the service (e.g. --cpu-prof --cpu-prof-dir=.scratch/prof)
  const extra = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const service = new ServiceProcess(port, {
    nodeArgs: [...serviceNodeFlags(), ...extra, script],
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', MAX_PAYMENTS: String(Math.max(N * 2, 1000)) },
    stdio: 'inherit',
  });
  const child = service.child;
  const stop = () => child.kill('SIGTERM');
  child.once('exit', (code) => {
    if (code !== 0 && code !== null) throw new Error(`the service exited with code ${code}`);
  });
  process.once('exit', stop);
  const base = service.url;
  await waitUntil(service, '/health/ready', { timeoutMs: 60_000 });
  const idleRss = rssBytes(child.pid!);

  const gen = new DatasetGenerator();
  let sent = 0;
  let overloaded = 0;
  const started = performance.now();
  let nextLog = started + 10_000;
  const worker = async () => {
    while (sent < N) {
      const n = Math.min(BATCH, N - sent);
      sent += n;
      const payments = gen.take(n).map((p) => ({
        paymentId: p.paymentId,
        organizationId: p.organizationId,
        userId: p.userId,
        amount: p.amount,
        currency: p.currency,
        createdAt: p.createdAt,
      }));
      const payload = JSON.stringify({ payments });
      let res: Response;
      let body: { created?: number };
      // as a client should: an overloaded service (503) says when to come back (Retry-After)
      for (;;) {
        res = await fetch(`${base}/payments/bulk`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: payload });
        body = (await res.json()) as { created?: number };
        if (res.status !== 503) break;
        overloaded++;
        await sleep(Number(res.headers.get('retry-after') ?? 1) * 1000);
      }
      if (res.status !== 200) throw new Error(`POST /payments/bulk answered ${res.status}: ${JSON.stringify(body).slice(0, 300)}`);
      const created = body.created ?? 0;
      if (created !== n) throw new Error(`POST /payments/bulk created ${created} of ${n}: ${JSON.stringify(body).slice(0, 300)}`);
      if (performance.now() > nextLog) {
        nextLog += 10_000;
        process.stderr.write(`  imported ${int(sent)} in ${((performance.now() - started) / 1000).toFixed(0)} s, RSS ${int(rssBytes(child.pid!) / 2 ** 20)} MiB\n`);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const importS = (performance.now() - started) / 1000;
  const afterRss = rssBytes(child.pid!);
  await sleep(IDLE_S * 1000); // the figure is what the process holds once it is idle
  const rss = rssBytes(child.pid!);
  const heap = await metric(base, 'nodejs_heap_size_used_bytes');
  const external = await metric(base, 'nodejs_external_memory_bytes');
  const size = ((await (await fetch(`${base}/admin/store`)).json()) as { payments: number }).payments;
  if (size !== N) throw new Error(`the store holds ${size} payments, not ${N}`);
  const per = (bytes: number) => int(bytes / N);
  console.log(`bench:import, ${int(N)} payments through POST /payments/bulk (${BATCH} per request, ${CONCURRENCY} in flight), node ${process.version}`);
  console.log(`  import: ${importS.toFixed(1)} s, ${int(N / importS)} payments/s; ${overloaded} requests answered 503 (overloaded) and sent again after their Retry-After`);
  console.log(`  RSS right after: ${int(afterRss / 2 ** 20)} MiB (${per(afterRss)} B/payment)`);
  console.log(`  RSS after ${IDLE_S} s idle: ${int(rss / 2 ** 20)} MiB = ${per(rss)} B/payment (before the import: ${int(idleRss / 2 ** 20)} MiB; the import added ${per(rss - idleRss)} B/payment)`);
  console.log(`  heap used ${per(heap)} B/payment + external (ArrayBuffers) ${per(external)} B/payment, as /metrics reports them (garbage included)`);
  stop();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
