import { CommandBus, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { AppConfig } from '../../config';
import { AppError, OrganizationForbiddenError, problemType, RequestValidationError } from '../../errors';
import { validateDto } from '../../validation.pipe';
import { CreatePaymentDto } from '../payment.dto';
import { CreatePaymentCommand } from './create-payment.command';
import { ImportItemResult, ImportPaymentsCommand, ImportResult } from './import-payments.command';

@CommandHandler(ImportPaymentsCommand)
export class ImportPaymentsHandler implements ICommandHandler<ImportPaymentsCommand> {
  constructor(
    private readonly commandBus: CommandBus,
    private readonly config: AppConfig,
  ) {}

  async execute({ items, organizationId }: ImportPaymentsCommand): Promise<ImportResult> {
    if (items.length > this.config.bulkMaxItems) {
      throw RequestValidationError.field('payments', `payments may hold at most ${this.config.bulkMaxItems} items`);
    }
    // All items are submitted at once, in order: in PostgreSQL mode the group commit then
    // writes them in a few transactions instead of one round trip each. Each item still
    // succeeds or fails alone, and a paymentId repeated in the file is created once.
    const results = await Promise.all(items.map((item, index) => this.#importOne(index, item, organizationId)));
    return {
      created: results.filter((r) => r.status === 201).length,
      replayed: results.filter((r) => r.status === 200).length,
      failed: results.filter((r) => r.status >= 400).length,
      results,
    };
  }

  async #importOne(index: number, item: unknown, organizationId: string | undefined): Promise<ImportItemResult> {
    const claimedId = (item as { paymentId?: unknown } | null)?.paymentId;
    const paymentId = typeof claimedId === 'string' ? claimedId : null;
    const valid = validateDto(CreatePaymentDto, item);
    if (!valid.ok) return { index, paymentId, status: 400, error: problemOf(new RequestValidationError(valid.errors)) };
    if (organizationId !== undefined && valid.value.organizationId !== organizationId) {
      return { index, paymentId, status: 403, error: problemOf(new OrganizationForbiddenError('organizationId')) };
    }
    try {
      const { payment, created } = await this.commandBus.execute(new CreatePaymentCommand(valid.value));
      return { index, paymentId: payment.paymentId, status: created ? 201 : 200 };
    } catch (e) {
      if (!(e instanceof AppError)) throw e;
      return { index, paymentId, status: e.status as ImportItemResult['status'], error: problemOf(e) };
    }
  }
}

function problemOf(e: AppError): NonNullable<ImportItemResult['error']> {
  return {
    type: problemType(e.code),
    title: e.title,
    status: e.status,
    detail: e.detail,
    ...(e.errors ? { errors: e.errors } : {}),
  };
}
