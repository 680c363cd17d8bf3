/**
 * A server process for the HTTP cases, started by bench.ts (pinned to its own core):
 *   service: the real application (createApp) with the cache off and logs silent, its
 *            PaymentStore preloaded with the bench's N payments (write by write, or with
 *            BENCH_PRELOAD=bulk as the load at start does: loadStoreInBulk);
 *   bare:    a bare Fastify serving GET /payments/:id from a Map of the same N payments and
 *            POST /payments with a JSON-schema-validated body (the reference);
 *   nest:    plain NestJS serving GET /payments/:id through the QueryBus from such a Map and
 *            POST /payments through Nest's ValidationPipe and the CommandBus (nest-reference.ts).
 * Prints one line `READY <port> <json>` on stdout once it listens.
 */
// first, as in src/main.ts: with OTEL_* set (the tracing section), instrumentations patch what loads after
import '../src/tracing/register';
import { randomUUID } from 'node:crypto';
import { createPayment, NewPayment, Payment } from '../src/payments/payment';
import { generatePayments, loadStore, loadStoreInBulk } from './dataset';

const MAX_AMOUNT = 99_999_999_999;

/** CreatePaymentDto as a JSON schema: the same fields, bounds and patterns. */
const createPaymentSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['organizationId', 'userId', 'amount', 'currency'],
  properties: {
    organizationId: { type: 'string', minLength: 1, maxLength: 64 },
    userId: { type: 'string', minLength: 1, maxLength: 64 },
    amount: { type: 'integer', minimum: 1, maximum: MAX_AMOUNT },
    currency: { type: 'string', pattern: '^[A-Z]{3}$' },
    paymentId: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.:-]+$' },
    description: { type: 'string', maxLength: 1000 },
    metadata: {
      type: 'object',
      maxProperties: 50,
      propertyNames: { minLength: 1, maxLength: 40, not: { enum: ['__proto__', 'constructor', 'prototype'] } },
      additionalProperties: { type: 'string', maxLength: 500 },
    },
    createdAt: { type: 'string', format: 'date-time' },
  },
} as const;

async function startBare(payments: Payment[]): Promise<number> {
  const { default: fastify } = await import('fastify');
  // reject unknown keys (as the service does) instead of Fastify's default of dropping them
  const app = fastify({ logger: false, ajv: { customOptions: { removeAdditional: false, coerceTypes: false } } });
  const byId = new Map<string, Payment>();
  for (const p of payments) byId.set(p.paymentId, p);
  app.get<{ Params: { id: string } }>('/payments/:id', async (request, reply) => {
    const p = byId.get(request.params.id);
    if (p === undefined) return reply.code(404).send({ code: 'PAYMENT_NOT_FOUND' });
    return p;
  });
  app.post<{ Body: NewPayment }>('/payments', { schema: { body: createPaymentSchema } }, async (request, reply) => {
    const body = request.body;
    const p = createPayment(body, body.paymentId ?? randomUUID(), new Date().toISOString());
    const stored = byId.get(p.paymentId);
    if (stored !== undefined) return reply.code(200).send(stored);
    byId.set(p.paymentId, p);
    return reply.code(201).header('location', `/payments/${p.paymentId}`).send(p);
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

async function startService(payments: Payment[]): Promise<number> {
  const { createApp } = await import('../src/app.setup');
  const { PaymentStore } = await import('../src/payments/store/payment.store');
  const { BENCH_CONFIG } = await import('./project');
  const app = await createApp(BENCH_CONFIG);
  // BENCH_PRELOAD=bulk: as a restart from PostgreSQL loads (bench:stall at 10M), else write by write
  if (process.env.BENCH_PRELOAD === 'bulk') loadStoreInBulk(app.get(PaymentStore), payments);
  else loadStore(app.get(PaymentStore), payments);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : 0;
  // The synchronous load blocked the event loop for seconds: overload shedding (503) reads that
  // delay until its sampler catches up. Ready means the API answers, not just listens.
  const probe = `http://127.0.0.1:${port}/payments/${payments[0].paymentId}`;
  for (let tries = 0; ; tries++) {
    const res = await fetch(probe);
    await res.arrayBuffer();
    if (res.status === 200) break;
    if (tries > 120) throw new Error(`the service still answers ${res.status} after its load`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return port;
}

async function main(): Promise<void> {
  const kind = process.argv[2];
  const n = Number(process.env.BENCH_N ?? 1_000_000);
  const t0 = performance.now();
  let payments: Payment[] | undefined = generatePayments(n);
  const port =
    kind === 'service'
      ? await startService(payments)
      : kind === 'bare'
        ? await startBare(payments)
        : kind === 'nest'
          ? await (await import('./nest-reference')).startNestReference(payments)
          : -1;
  if (port < 0) throw new Error(`usage: http-server.ts service|bare|nest (got ${kind})`);
  payments = undefined;
  (globalThis as { gc?: () => void }).gc?.();
  const info = { kind, n, loadMs: Math.round(performance.now() - t0), heapUsedMB: Math.round(process.memoryUsage().heapUsed / 2 ** 20) };
  process.stdout.write(`READY ${port} ${JSON.stringify(info)}\n`);
}

// a clean exit on SIGTERM (bench.ts stops servers so; --cpu-prof then writes its profile)
process.on('SIGTERM', () => process.exit(0));

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
