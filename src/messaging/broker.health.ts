import { Injectable } from '@nestjs/common';
import { BrokerConnection } from './broker.connection';
import { Outbox } from './outbox';

export interface BrokerStatus {
  connected: boolean;
  /** Committed changes whose event the broker has not confirmed yet (null: not known now). */
  outboxBacklog: number | null;
  message?: string;
}

/**
 * What /health/ready says of the broker. The broker never makes the service unready: HTTP reads
 * and writes go on without it, and the outbox keeps the events until it is back.
 */
@Injectable()
export class BrokerHealth {
  constructor(
    private readonly broker: BrokerConnection,
    private readonly outbox: Outbox,
  ) {}

  async status(): Promise<BrokerStatus> {
    const outboxBacklog = await this.outbox.backlog().catch(() => null);
    const { connected, lastError } = this.broker;
    return { connected, outboxBacklog, ...(connected || lastError === undefined ? {} : { message: lastError }) };
  }
}
