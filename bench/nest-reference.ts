/**
 * The "plain NestJS + QueryBus" reference, as a third server of the HTTP GET case:
 * NestJS 11 on the Fastify adapter, one controller whose GET /payments/:id asks the QueryBus,
 * one query handler reading a Map. No hooks, guards, pipes, filters, logs, metrics or headers:
 * what the framework alone costs against bare Fastify on this machine, in the same run. It is
 * a reference row in the table, not a baseline any goal is measured against.
 */
import 'reflect-metadata';
import { Controller, Get, Module, NotFoundException, Param } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CqrsModule, IQueryHandler, Query, QueryBus, QueryHandler } from '@nestjs/cqrs';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Payment } from '../src/payments/payment';

const byId = new Map<string, Payment>();

class ReadPayment extends Query<Payment> {
  constructor(readonly id: string) {
    super();
  }
}

@QueryHandler(ReadPayment)
class ReadPaymentHandler implements IQueryHandler<ReadPayment, Payment> {
  async execute(q: ReadPayment): Promise<Payment> {
    const p = byId.get(q.id);
    if (p === undefined) throw new NotFoundException();
    return p;
  }
}

@Controller('payments')
class ReferenceController {
  constructor(private readonly queryBus: QueryBus) {}

  @Get(':id')
  read(@Param('id') id: string): Promise<Payment> {
    return this.queryBus.execute(new ReadPayment(id));
  }
}

@Module({ imports: [CqrsModule.forRoot()], controllers: [ReferenceController], providers: [ReadPaymentHandler] })
class ReferenceModule {}

/** Listens on a free port of 127.0.0.1 and answers from `payments`; returns the port. */
export async function startNestReference(payments: readonly Payment[]): Promise<number> {
  for (const p of payments) byId.set(p.paymentId, p);
  const app = await NestFactory.create<NestFastifyApplication>(ReferenceModule, new FastifyAdapter(), { logger: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.getHttpServer().address();
  return typeof address === 'object' && address ? address.port : 0;
}
