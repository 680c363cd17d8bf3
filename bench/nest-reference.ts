/**
 * The references for NestJS, as a third server of the HTTP GET and POST cases:
 * NestJS 11 on the Fastify adapter, one controller. GET /payments/:id asks the QueryBus, whose
 * handler reads a Map ("plain NestJS + QueryBus"); POST /payments validates the body with
 * Nest's stock ValidationPipe (class-transformer + class-validator) against this project's
 * CreatePaymentDto, then sends a command through the CommandBus, whose handler builds the
 * payment and puts it in the Map ("NestJS + class-validator"). No hooks, guards, filters, logs,
 * metrics or headers: what the framework alone costs against bare Fastify on this machine, in
 * the same run. Reference rows in the table, not baselines any goal is measured against.
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { Body, Controller, Get, Module, NotFoundException, Param, Post, Res, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Command, CommandBus, CommandHandler, CqrsModule, ICommandHandler, IQueryHandler, Query, QueryBus, QueryHandler } from '@nestjs/cqrs';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply } from 'fastify';
import { createPayment, type Payment } from '../src/payments/payment';
import { CreatePaymentDto } from '../src/payments/create-payment.dto';

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

class StorePayment extends Command<{ payment: Payment; created: boolean }> {
  constructor(readonly body: CreatePaymentDto) {
    super();
  }
}

@CommandHandler(StorePayment)
class StorePaymentHandler implements ICommandHandler<StorePayment> {
  async execute({ body }: StorePayment): Promise<{ payment: Payment; created: boolean }> {
    const p = createPayment(body, body.paymentId ?? randomUUID(), new Date().toISOString());
    const stored = byId.get(p.paymentId);
    if (stored !== undefined) return { payment: stored, created: false };
    byId.set(p.paymentId, p);
    return { payment: p, created: true };
  }
}

@Controller('payments')
class ReferenceController {
  constructor(
    private readonly queryBus: QueryBus,
    private readonly commandBus: CommandBus,
  ) {}

  @Get(':id')
  read(@Param('id') id: string): Promise<Payment> {
    return this.queryBus.execute(new ReadPayment(id));
  }

  @Post()
  async create(@Body() body: CreatePaymentDto, @Res({ passthrough: true }) reply: FastifyReply): Promise<Payment> {
    const { payment, created } = await this.commandBus.execute(new StorePayment(body));
    reply.status(created ? 201 : 200).header('Location', `/payments/${payment.paymentId}`);
    return payment;
  }
}

@Module({ imports: [CqrsModule.forRoot()], controllers: [ReferenceController], providers: [ReadPaymentHandler, StorePaymentHandler] })
class ReferenceModule {}

/** Listens on a free port of 127.0.0.1 and answers from `payments`; returns the port. */
export async function startNestReference(payments: readonly Payment[]): Promise<number> {
  for (const p of payments) byId.set(p.paymentId, p);
  const app = await NestFactory.create<NestFastifyApplication>(ReferenceModule, new FastifyAdapter(), { logger: false });
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.getHttpServer().address();
  return typeof address === 'object' && address ? address.port : 0;
}
