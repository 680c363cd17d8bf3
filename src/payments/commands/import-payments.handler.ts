import { CommandBus, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { AppConfig } from '../../config';
import { AppError, OrganizationForbiddenError, RequestValidationError } from '../../errors';
import { ProblemBody, toProblem } from '../../problem.filter';
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

/**
 * The problem a POST /payments of the item alone answers, field for field (its `instance` too).
 * Its headers are left out: they belong to a response, and the bulk answer is one 200.
 */
function problemOf(e: AppError): ProblemBody {
  const { headers: _headers, ...body } = toProblem(e, '/payments');
  void _headers;
  return body;
}
