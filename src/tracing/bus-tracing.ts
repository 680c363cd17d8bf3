import { Injectable, OnModuleInit } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { Attributes, context, trace, TraceFlags } from '@opentelemetry/api';
import { inSpan, tracingOn } from './tracing';

type Execute = (message: object, ...rest: unknown[]) => Promise<unknown>;

/**
 * One span per command and per query, named after its class (CreatePaymentCommand,
 * SearchPaymentsQuery...): the buses' execute is wrapped once at boot. With tracing off nothing
 * is wrapped, so the buses cost what they cost without tracing.
 */
@Injectable()
export class BusTracing implements OnModuleInit {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
  ) {}

  onModuleInit(): void {
    if (!tracingOn()) return;
    traceExecute(this.commands as unknown as { execute: Execute });
    traceExecute(this.queries as unknown as { execute: Execute });
  }
}

function traceExecute(bus: { execute: Execute }): void {
  const execute = bus.execute.bind(bus);
  bus.execute = (message, ...rest) => {
    const parent = context.active();
    // A request that is not sampled: its children would not be either (the sampler decides per
    // trace), so no span is made at all: no ids drawn, no context switched.
    const flags = trace.getSpanContext(parent)?.traceFlags;
    if (flags !== undefined && (flags & TraceFlags.SAMPLED) === 0) return execute(message, ...rest);
    return inSpan(message.constructor.name, { attributes: attributesOf(message) }, parent, () => execute(message, ...rest));
  };
}

/** Where the messages keep them: the organization and payment a command or query is about, when it names them. */
interface Addressed {
  organizationId?: unknown;
  paymentId?: unknown;
  input?: { organizationId?: unknown; paymentId?: unknown };
  request?: { filter?: { organizationId?: unknown } };
}

export function attributesOf(message: object): Attributes {
  const m = message as Addressed;
  const attributes: Attributes = {};
  const organizationId = m.organizationId ?? m.input?.organizationId ?? m.request?.filter?.organizationId;
  const paymentId = m.paymentId ?? m.input?.paymentId;
  if (typeof organizationId === 'string') attributes['payments.organization_id'] = organizationId;
  if (typeof paymentId === 'string') attributes['payments.payment_id'] = paymentId;
  return attributes;
}
