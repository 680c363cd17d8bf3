import type { Channel } from 'amqplib';
import { AppConfig } from '../config';

/** Every exchange and queue the service uses, named from BROKER_PREFIX. */
export interface BrokerNames {
  /** Topic exchange the service consumes commands from (routing key: the CloudEvent type). */
  commands: string;
  /** The command queue: quorum, single active consumer, bound to `commands` with '#'. */
  commandsQueue: string;
  /** Fanout exchange for messages that can never succeed, with their problem document. */
  deadLetter: string;
  deadLetterQueue: string;
  /** Topic exchange the service publishes its committed changes to (routing key: the type). */
  events: string;
}

export function brokerNames(prefix: string): BrokerNames {
  return {
    commands: `${prefix}.commands`,
    commandsQueue: `${prefix}.commands`,
    deadLetter: `${prefix}.dead-letter`,
    deadLetterQueue: `${prefix}.commands.dead-letter`,
    events: `${prefix}.events`,
  };
}

/**
 * Declares the topology (idempotent: every instance does it on every connection).
 * - Durable exchanges; the command queue is a quorum queue (replicated, durable, with a delivery
 *   limit), the dead-letter queue a durable classic one (kept until someone takes them).
 * - The command queue has a single active consumer: of several instances one consumes, in
 *   queue order, and another takes over when it goes (so a payment's events are applied in the
 *   order they were published; see README "Messaging").
 * - A message redelivered more than BROKER_DELIVERY_LIMIT times (it crashed its consumers) is
 *   dead-lettered by the broker itself.
 */
export async function assertTopology(channel: Channel, names: BrokerNames, config: AppConfig): Promise<void> {
  await channel.assertExchange(names.commands, 'topic', { durable: true });
  await channel.assertExchange(names.deadLetter, 'fanout', { durable: true });
  await channel.assertExchange(names.events, 'topic', { durable: true });
  // classic, not quorum: a quorum queue has a delivery limit (20 by default from RabbitMQ 4.0),
  // and a dead letter looked at and returned that often must not be dropped
  await channel.assertQueue(names.deadLetterQueue, { durable: true, arguments: { 'x-queue-type': 'classic' } });
  await channel.bindQueue(names.deadLetterQueue, names.deadLetter, '');
  await channel.assertQueue(names.commandsQueue, {
    durable: true,
    arguments: {
      'x-queue-type': 'quorum',
      'x-single-active-consumer': true,
      'x-dead-letter-exchange': names.deadLetter,
      'x-delivery-limit': config.brokerDeliveryLimit,
    },
  });
  // every routing key: a message of an unknown type is dead-lettered with a reason, not dropped
  await channel.bindQueue(names.commandsQueue, names.commands, '#');
}
