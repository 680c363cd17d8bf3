import amqplib, { Channel, ChannelModel, GetMessage } from 'amqplib';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import request, { Response } from 'supertest';
import { cloudEvent, COMMAND_TYPES, ORGANIZATION_ATTRIBUTE as SCRIPT_ORGANIZATION_ATTRIBUTE, parseArgs } from '../scripts/publish';
import { INBOUND_TYPES, ORGANIZATION_ATTRIBUTE, parseInbound } from '../src/messaging/cloud-events';
import { TEST_BROKER_URL, TestBroker, uniquePrefix, until } from './broker-helpers';
import { Payment, paymentPath, uniqueId } from './e2e-helpers';
import { startTestApp, TestApp } from './test-app';

/**
 * scripts/publish.ts (npm run publish) as a user runs it: a real process, against the service
 * consuming a broker prefix of this file's own. What it publishes is read back twice: by the
 * service (GET /payments/:id shows the change) and by a queue of the test's own bound to the
 * command exchange (every message the script sent, as it sent it).
 */

const ROOT = join(__dirname, '..');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the script as `npm run publish` does (ts-node, transpile only), over a minimal environment. */
async function runScript(args: string[], env: Record<string, string>): Promise<Run> {
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'scripts/publish.ts', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b) => (stdout += b));
  child.stderr.on('data', (b) => (stderr += b));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

/** The CloudEvent a successful run printed after its summary line. */
function printedEvent(run: Run): Record<string, unknown> {
  return JSON.parse(run.stdout.slice(run.stdout.indexOf('{'))) as Record<string, unknown>;
}

/** Reads GET /payments/:id until `done` holds (the message is consumed asynchronously; no deadline but jest's). */
function pollPayment(url: string, paymentId: string, organizationId: string, done: (payment: Payment) => boolean): Promise<Payment> {
  return until(async () => {
    const res: Response = await request(url).get(paymentPath(paymentId)).query({ organizationId });
    if (res.status !== 200 && res.status !== 404) throw new Error(`GET ${paymentPath(paymentId)} answered ${res.status}: ${res.text}`);
    return res.status === 200 && done(res.body as Payment) && (res.body as Payment);
  });
}

describe('scripts/publish.ts builds what the service reads', () => {
  it('uses the service\'s types and organization attribute', () => {
    expect([...COMMAND_TYPES]).toEqual([...INBOUND_TYPES]);
    expect(SCRIPT_ORGANIZATION_ATTRIBUTE).toBe(ORGANIZATION_ATTRIBUTE);
  });

  it.each([
    [['CreatePayment', 'pay_1', '--organization', 'org-1', '--user', 'user-1', '--amount', '10000', '--currency', 'EUR'], 'create'],
    [['CreatePayment', 'pay_1', '--data', '{"organizationId":"org-1","userId":"u","amount":5,"currency":"JPY","metadata":{"a":"b"}}'], 'create'],
    [['PaymentProcessed', 'pay_1'], 'event'],
    [['PaymentProcessed', 'pay_1', '--organization', 'org-1', '--event-id', 'evt-1'], 'event'],
    [['PaymentFailed', 'pay_1', '--error', 'card_declined'], 'event'],
    [['PaymentRefunded', 'pay_1', '--refund', '2500', '--data', '{"occurredAt":"2026-03-01T10:05:00Z"}'], 'event'],
  ])('%j is a valid %s message', (args, kind) => {
    const parsed = parseInbound(Buffer.from(JSON.stringify(cloudEvent(parseArgs(args)))));
    expect(parsed).toMatchObject({ ok: true, message: { kind, paymentId: 'pay_1' } });
  });
});

describe('npm run publish (scripts/publish.ts) against the service', () => {
  let testApp: TestApp;
  let broker: TestBroker;
  let prefix: string;
  let tapConnection: ChannelModel;
  let tap: Channel;
  let tapQueue: string;
  const env = (): Record<string, string> => ({ BROKER_URL: TEST_BROKER_URL, BROKER_PREFIX: prefix });

  beforeAll(async () => {
    prefix = uniquePrefix();
    broker = await TestBroker.open(prefix);
    testApp = await startTestApp({ brokerUrl: TEST_BROKER_URL, brokerPrefix: prefix });
    await broker.waitForConsumer();
    // every message published to the command exchange, copied to a queue the service does not consume
    tapConnection = await amqplib.connect(TEST_BROKER_URL);
    tapConnection.on('error', () => undefined);
    tap = await tapConnection.createChannel();
    tap.on('error', () => undefined);
    tapQueue = `${prefix}.test-commands-tap`;
    await tap.assertQueue(tapQueue, { durable: false, exclusive: true });
    await tap.bindQueue(tapQueue, broker.names.commands, '#');
  });

  afterAll(async () => {
    await tap?.deleteQueue(tapQueue).catch(() => undefined);
    await tapConnection?.close().catch(() => undefined);
    await testApp?.close();
    await broker?.remove();
  });

  /** Everything the tap queue holds now, taken off it. */
  async function tapped(): Promise<GetMessage[]> {
    const out: GetMessage[] = [];
    for (;;) {
      const message = await tap.get(tapQueue, { noAck: true });
      if (message === false) return out;
      out.push(message);
    }
  }

  it('bad arguments: exit code 2 with the usage, and nothing is published', async () => {
    const organizationId = uniqueId('org');
    const runs = await Promise.all([
      runScript(['PaymentCaptured', uniqueId('pay')], env()),
      runScript(['CreatePayment', uniqueId('pay'), '--organization', organizationId, '--user', 'u', '--amount', '12.50', '--currency', 'EUR'], env()),
      runScript(['CreatePayment', uniqueId('pay'), '--organization', organizationId], env()),
      runScript(['PaymentProcessed'], env()),
      runScript(['PaymentProcessed', uniqueId('pay'), '--refund', '100'], env()),
      runScript(['PaymentFailed', uniqueId('pay')], env()),
      runScript(['PaymentProcessed', uniqueId('pay'), '--data', '{not json'], env()),
    ]);
    for (const run of runs) {
      expect(run).toMatchObject({ code: 2, stdout: '' });
      expect(run.stderr).toContain('Usage: npm run publish -- <type> <paymentId> [options]');
    }
    expect(runs.map((run) => run.stderr.split('\n')[0])).toEqual([
      expect.stringContaining("type 'PaymentCaptured' is not one of"),
      expect.stringContaining('--amount must be a whole number'),
      expect.stringContaining('CreatePayment needs --user, --amount, --currency'),
      expect.stringContaining('a type and a paymentId are required'),
      expect.stringContaining('--refund applies to PaymentRefunded only'),
      expect.stringContaining('PaymentFailed needs --error'),
      expect.stringContaining('--data is not valid JSON'),
    ]);
    // every run has exited: a message it had sent would be in the tap queue by now
    expect(await tapped()).toEqual([]);
  });

  it('CreatePayment, then PaymentProcessed and PaymentRefunded: the payment is created, completed and refunded', async () => {
    const paymentId = uniqueId('pay');
    const organizationId = uniqueId('org');

    const create = await runScript(
      ['CreatePayment', paymentId, '--organization', organizationId, '--user', 'user-789', '--amount', '10000', '--currency', 'EUR'],
      env(),
    );
    expect(create).toMatchObject({ code: 0, stderr: '' });
    const createEvent = printedEvent(create);
    expect(create.stdout).toContain(`published CreatePayment ${paymentId} to ${prefix}.commands (confirmed): CloudEvent id ${String(createEvent.id)}`);
    const created = await pollPayment(testApp.url, paymentId, organizationId, () => true);
    expect(created).toMatchObject({ paymentId, organizationId, userId: 'user-789', amount: 10000, currency: 'EUR', status: 'pending' });

    // as the walk-through does: the paymentId alone (this paymentId is in one organization)
    const processed = await runScript(['PaymentProcessed', paymentId], env());
    expect(processed).toMatchObject({ code: 0, stderr: '' });
    const completed = await pollPayment(testApp.url, paymentId, organizationId, (p) => p.status === 'completed');
    expect(completed).toMatchObject({ status: 'completed', version: created.version + 1 });
    expect(completed.completedAt).not.toBeNull();

    const refund = await runScript(['PaymentRefunded', paymentId, '--organization', organizationId, '--refund', '2500', '--event-id', 'evt-refund-1'], env());
    expect(refund).toMatchObject({ code: 0, stderr: '' });
    const refunded = await pollPayment(testApp.url, paymentId, organizationId, (p) => p.refundedAmount > 0);
    expect(refunded).toMatchObject({ refundedAmount: 2500, version: completed.version + 1 });

    // exactly what the script printed went to the command exchange: persistent, structured mode, routing key = type
    const sent = await tapped();
    expect(sent.map((m) => m.fields.routingKey)).toEqual(['CreatePayment', 'PaymentProcessed', 'PaymentRefunded']);
    expect(sent.map((m) => JSON.parse(m.content.toString()))).toEqual([createEvent, printedEvent(processed), printedEvent(refund)]);
    for (const message of sent) {
      expect(message.properties).toMatchObject({ deliveryMode: 2, contentType: 'application/cloudevents+json' });
    }
    expect(printedEvent(processed)).toMatchObject({ type: 'PaymentProcessed', subject: paymentId, data: {} });
    expect(printedEvent(processed)).not.toHaveProperty(ORGANIZATION_ATTRIBUTE);
    expect(printedEvent(refund)).toMatchObject({
      [ORGANIZATION_ATTRIBUTE]: organizationId,
      data: { eventId: 'evt-refund-1', data: { refundAmount: 2500 } },
    });
    // none of them was refused
    expect(await broker.count(broker.names.deadLetterQueue)).toBe(0);
  });

  it('exit code 1 with a clear message when the broker cannot be reached, or has no such exchange', async () => {
    const [unreachable, unknownPrefix] = await Promise.all([
      // port 1 on the loopback: nothing listens there, the connection is refused at once
      runScript(['PaymentProcessed', uniqueId('pay')], { BROKER_URL: 'amqp://guest:guest@127.0.0.1:1', BROKER_PREFIX: prefix }),
      runScript(['PaymentProcessed', uniqueId('pay')], { BROKER_URL: TEST_BROKER_URL, BROKER_PREFIX: uniquePrefix() }),
    ]);
    expect(unreachable).toMatchObject({ code: 1, stdout: '' });
    expect(unreachable.stderr).toContain('cannot connect to the broker at amqp://guest:***@127.0.0.1:1');
    expect(unknownPrefix).toMatchObject({ code: 1, stdout: '' });
    expect(unknownPrefix.stderr).toMatch(/the exchange 'test-[^']+\.commands' does not exist/);
    expect(await tapped()).toEqual([]);
  });
});
