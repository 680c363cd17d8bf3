/**
 * Publishes one command to the service's command exchange, as a payment processor would: a
 * CloudEvent 1.0 in structured mode (the whole event is the JSON body), persistent, routing key
 * = its type, with publisher confirms. Prints what it sent. Needs only the broker, never the
 * service's Nest app (src/messaging/cloud-events.ts reads what this writes).
 *
 *   npm run publish -- CreatePayment pay_0001 --organization org-456 --user user-789 --amount 10000 --currency EUR
 *   npm run publish -- PaymentProcessed pay_0001
 *   npm run publish -- PaymentFailed pay_0002 --error card_declined
 *   npm run publish -- PaymentRefunded pay_0001 --refund 2500 --event-id evt-2
 *
 * BROKER_URL (default amqp://guest:guest@127.0.0.1:5672) and BROKER_PREFIX (default payments)
 * name the broker and the exchange (<prefix>.commands), as for the service.
 * Exit codes: 0 published and confirmed; 1 the broker is unreachable, refused the message or has
 * no command queue for it (start the service first: it declares the topology); 2 bad arguments.
 *
 * The arguments are checked only as far as building the event needs; the service validates the
 * rest as it validates HTTP bodies, and dead-letters a message it refuses (with the problem).
 */
import amqplib, { ChannelModel } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { PAYMENT_EVENT_TYPES } from '../src/payments/payment';
import { brokerNames } from '../src/messaging/topology';

/** The inbound types (cloud-events.ts INBOUND_TYPES; not imported: that module loads the DTOs). */
export const COMMAND_TYPES = ['CreatePayment', ...PAYMENT_EVENT_TYPES] as const;
export type CommandType = (typeof COMMAND_TYPES)[number];
/** cloud-events.ts ORGANIZATION_ATTRIBUTE: the CloudEvents extension attribute naming the organization. */
export const ORGANIZATION_ATTRIBUTE = 'organizationid';
/** cloud-events.ts CLOUDEVENTS_JSON: the content type of structured mode. */
const CLOUDEVENTS_JSON = 'application/cloudevents+json';
export const SOURCE = '/scripts/publish';
export const DEFAULT_BROKER_URL = 'amqp://guest:guest@127.0.0.1:5672';
export const DEFAULT_PREFIX = 'payments';

export const USAGE = `Usage: npm run publish -- <type> <paymentId> [options]

Publishes one CloudEvent to the exchange <BROKER_PREFIX>.commands (routing key = type) and waits
for the broker's confirm. BROKER_URL (default ${DEFAULT_BROKER_URL}) and BROKER_PREFIX
(default ${DEFAULT_PREFIX}) come from the environment.

  <type>                     ${COMMAND_TYPES.join(' | ')}
  <paymentId>                the payment (the CloudEvent's subject)

  --organization <id>        the organization (CreatePayment: data.organizationId; every type:
                             the organizationid attribute, which addresses the payment)
  --data '<json>'            CreatePayment: the POST /payments body; an event: the
                             POST /payments/:id/events body without "type"
  CreatePayment (these flags override --data's fields):
  --user <id>  --amount <minor units>  --currency <ISO 4217, e.g. EUR>
  Events:
  --event-id <id>            the event's eventId (a repeated one is a no-op); default: the CloudEvent id
  --error <text>             PaymentFailed: data.error (required)
  --refund <minor units>     PaymentRefunded: data.refundAmount (default: all that remains)

Examples:
  npm run publish -- CreatePayment pay_0001 --organization org-456 --user user-789 --amount 10000 --currency EUR
  npm run publish -- PaymentProcessed pay_0001
  npm run publish -- PaymentRefunded pay_0001 --refund 2500`;

export class UsageError extends Error {}

const OPTIONS = ['organization', 'data', 'user', 'amount', 'currency', 'event-id', 'error', 'refund'] as const;
type Option = (typeof OPTIONS)[number];
/** Which type each option belongs to (absent: every type). */
const ONLY_FOR: Partial<Record<Option, readonly CommandType[]>> = {
  user: ['CreatePayment'],
  amount: ['CreatePayment'],
  currency: ['CreatePayment'],
  'event-id': PAYMENT_EVENT_TYPES,
  error: ['PaymentFailed'],
  refund: ['PaymentRefunded'],
};

export interface Command {
  type: CommandType;
  paymentId: string;
  organizationId: string | undefined;
  /** The CloudEvent's data: the HTTP body of the same command. */
  data: Record<string, unknown>;
}

/** Reads the command line (without node and the script); throws UsageError on anything wrong. */
export function parseArgs(argv: readonly string[]): Command {
  const positional: string[] = [];
  const options: Partial<Record<Option, string>> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const [flag, inline] = arg.includes('=') ? [arg.slice(2, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg.slice(2), undefined];
    if (!(OPTIONS as readonly string[]).includes(flag)) throw new UsageError(`unknown option --${flag}`);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`--${flag} needs a value`);
    if (options[flag as Option] !== undefined) throw new UsageError(`--${flag} is given twice`);
    options[flag as Option] = value;
  }
  if (positional.length !== 2) {
    throw new UsageError(positional.length < 2 ? 'a type and a paymentId are required' : `unexpected argument '${positional[2]}'`);
  }
  const [type, paymentId] = positional;
  if (!(COMMAND_TYPES as readonly string[]).includes(type)) throw new UsageError(`type '${type}' is not one of ${COMMAND_TYPES.join(', ')}`);
  const command = type as CommandType;
  if (paymentId.trim() === '') throw new UsageError('the paymentId may not be empty');
  for (const [flag, types] of Object.entries(ONLY_FOR)) {
    if (options[flag as Option] !== undefined && !types.includes(command)) throw new UsageError(`--${flag} applies to ${types.join(', ')} only`);
  }
  const organization = options.organization;
  if (organization !== undefined && organization.trim() === '') throw new UsageError('--organization may not be empty');

  const data = options.data === undefined ? {} : jsonObject(options.data);
  if (data.paymentId !== undefined && data.paymentId !== paymentId) throw new UsageError(`--data names paymentId '${String(data.paymentId)}', not '${paymentId}'`);
  delete data.paymentId; // the subject names the payment

  if (command === 'CreatePayment') {
    if (organization !== undefined) data.organizationId = organization;
    if (options.user !== undefined) data.userId = options.user;
    if (options.amount !== undefined) data.amount = wholeNumber('--amount', options.amount);
    if (options.currency !== undefined) data.currency = options.currency;
    const missing = ['organizationId', 'userId', 'amount', 'currency'].filter((field) => data[field] === undefined);
    if (missing.length > 0) {
      const flags: Record<string, string> = { organizationId: '--organization', userId: '--user', amount: '--amount', currency: '--currency' };
      throw new UsageError(`CreatePayment needs ${missing.map((field) => flags[field]).join(', ')} (or those fields in --data)`);
    }
    const organizationId = typeof data.organizationId === 'string' ? data.organizationId : undefined;
    return { type: command, paymentId, organizationId, data };
  }

  if (data.type !== undefined && data.type !== command) throw new UsageError(`--data says type '${String(data.type)}', not '${command}'`);
  delete data.type; // the CloudEvent's type is the event's
  if (options['event-id'] !== undefined) data.eventId = options['event-id'];
  if (options.error !== undefined || options.refund !== undefined) {
    const inner = data.data === undefined ? {} : data.data;
    if (inner === null || typeof inner !== 'object' || Array.isArray(inner)) throw new UsageError('--data\'s "data" must be an object');
    data.data = {
      ...inner,
      ...(options.error !== undefined ? { error: options.error } : {}),
      ...(options.refund !== undefined ? { refundAmount: wholeNumber('--refund', options.refund) } : {}),
    };
  }
  if (command === 'PaymentFailed' && (data.data as Record<string, unknown> | undefined)?.error === undefined) {
    throw new UsageError('PaymentFailed needs --error <text> (data.error)');
  }
  return { type: command, paymentId, organizationId: organization, data };
}

function jsonObject(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`--data is not valid JSON: ${(e as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new UsageError('--data must be a JSON object');
  return value as Record<string, unknown>;
}

function wholeNumber(flag: string, text: string): number {
  if (!/^\d{1,15}$/.test(text)) throw new UsageError(`${flag} must be a whole number of minor units (e.g. 10000 for 100.00 EUR), got '${text}'`);
  return Number(text);
}

/** The CloudEvent (structured mode) for a command: what cloud-events.ts parseInbound reads. */
export function cloudEvent(command: Command, id: string = randomUUID(), time: string = new Date().toISOString()): Record<string, unknown> {
  return {
    specversion: '1.0',
    id,
    source: SOURCE,
    type: command.type,
    subject: command.paymentId,
    time,
    datacontenttype: 'application/json',
    ...(command.organizationId !== undefined ? { [ORGANIZATION_ATTRIBUTE]: command.organizationId } : {}),
    data: command.data,
  };
}

/** The URL without its password, for messages. */
function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

class BrokerError extends Error {}

/** Publishes `event` to <prefix>.commands and resolves once the broker has confirmed it. */
export async function publish(event: Record<string, unknown>, brokerUrl: string, prefix: string): Promise<string> {
  const exchange = brokerNames(prefix).commands;
  let connection: ChannelModel;
  try {
    connection = await amqplib.connect(brokerUrl, { timeout: 10_000, clientProperties: { connection_name: `publish script ${process.pid}` } });
  } catch (e) {
    throw new BrokerError(`cannot connect to the broker at ${redact(brokerUrl)}: ${(e as Error).message || String(e)}`);
  }
  connection.on('error', () => undefined);
  try {
    const channel = await connection.createConfirmChannel();
    let channelError: Error | undefined;
    channel.on('error', (err: Error) => (channelError = err));
    try {
      await channel.checkExchange(exchange);
    } catch {
      throw new BrokerError(
        `the exchange '${exchange}' does not exist on ${redact(brokerUrl)}: start the service with BROKER_URL set (it declares its exchanges and queues), or check BROKER_PREFIX`,
      );
    }
    // mandatory: a message no queue takes comes back (basic.return, before the confirm) instead of vanishing
    let returned = false;
    channel.on('return', () => (returned = true));
    channel.publish(exchange, String(event.type), Buffer.from(JSON.stringify(event)), {
      persistent: true,
      mandatory: true,
      contentType: CLOUDEVENTS_JSON,
      messageId: String(event.id),
      timestamp: Math.floor(Date.now() / 1000),
    });
    try {
      await channel.waitForConfirms();
    } catch (e) {
      throw new BrokerError(`the broker did not accept the message (nack): ${channelError?.message ?? (e as Error).message ?? String(e)}`);
    }
    if (returned) {
      throw new BrokerError(`no queue is bound to '${exchange}' for routing key '${String(event.type)}': the message was not delivered (is the service's command queue declared?)`);
    }
    await channel.close().catch(() => undefined);
    return exchange;
  } finally {
    await connection.close().catch(() => undefined);
  }
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let command: Command;
  try {
    command = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`publish: ${e.message}\n\n${USAGE}\n`);
    return 2;
  }
  const brokerUrl = process.env.BROKER_URL?.trim() || DEFAULT_BROKER_URL;
  const prefix = process.env.BROKER_PREFIX?.trim() || DEFAULT_PREFIX;
  if (!/^amqps?:\/\/\S+$/.test(brokerUrl)) {
    process.stderr.write(`publish: BROKER_URL must be an amqp:// or amqps:// URL\n`);
    return 2;
  }
  if (!/^[A-Za-z0-9_.-]{1,100}$/.test(prefix)) {
    process.stderr.write(`publish: BROKER_PREFIX may only hold letters, digits and _ . - (at most 100), got '${prefix}'\n`);
    return 2;
  }
  const event = cloudEvent(command);
  let exchange: string;
  try {
    exchange = await publish(event, brokerUrl, prefix);
  } catch (e) {
    process.stderr.write(`publish: ${e instanceof BrokerError ? e.message : ((e as Error)?.stack ?? String(e))}\n`);
    return 1;
  }
  // published: a reader that stops early (| head -1) changes nothing about that
  process.stdout.on('error', () => undefined);
  process.stdout.write(`published ${command.type} ${command.paymentId} to ${exchange} (confirmed): CloudEvent id ${String(event.id)}\n`);
  process.stdout.write(`${JSON.stringify(event, null, 2)}\n`);
  return 0;
}

if (require.main === module) {
  main().then(
    (code) => (process.exitCode = code),
    (e: unknown) => {
      process.stderr.write(`publish: ${(e as Error)?.stack ?? String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
