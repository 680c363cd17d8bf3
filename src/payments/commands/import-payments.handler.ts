import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { AppConfig } from '../../config';
import { AppError, RequestValidationError } from '../../errors';
import { ProblemBody, toProblem } from '../../problem.filter';
import { validateDto } from '../../validation.pipe';
import { CreatePaymentDto } from '../create-payment.dto';
import { CreatePaymentCommand } from './create-payment.command';
import { CreatePaymentHandler } from './create-payment.handler';
import { ImportItemResult, ImportPaymentsCommand, ImportResult } from './import-payments.command';

@CommandHandler(ImportPaymentsCommand)
export class ImportPaymentsHandler implements ICommandHandler<ImportPaymentsCommand> {
  /** Each item is the create use case itself, called in process: no second trip through the bus per item. */
  constructor(
    private readonly create: CreatePaymentHandler,
    private readonly config: AppConfig,
  ) {}

  async execute({ items, refused }: ImportPaymentsCommand): Promise<ImportResult> {
    if (items.length > this.config.bulkMaxItems) {
      throw RequestValidationError.field('payments', `payments may hold at most ${this.config.bulkMaxItems} items`);
    }
    // All items are submitted at once, in order: in PostgreSQL mode the group commit then
    // writes them in a few transactions instead of one round trip each. Each item still
    // succeeds or fails alone, and a paymentId repeated in the file is created once.
    const results = await Promise.all(items.map((item, index) => this.#importOne(index, item, refused?.get(index))));
    return {
      created: results.filter((r) => r.status === 201).length,
      replayed: results.filter((r) => r.status === 200).length,
      failed: results.filter((r) => r.status >= 400).length,
      results,
    };
  }

  /** `refusal`: the edge's answer for this item, if it refused it (checked first, as for a single create). */
  async #importOne(index: number, item: unknown, refusal: AppError | undefined): Promise<ImportItemResult> {
    const claimedId = (item as { paymentId?: unknown } | null)?.paymentId;
    const paymentId = typeof claimedId === 'string' ? claimedId : null;
    if (refusal !== undefined) return failed(index, paymentId, refusal);
    const valid = validateDto(CreatePaymentDto, item);
    if (!valid.ok) return failed(index, paymentId, new RequestValidationError(valid.errors));
    try {
      const { payment, created } = await this.create.execute(new CreatePaymentCommand(valid.value));
      return { index, paymentId: payment.paymentId, status: created ? 201 : 200 };
    } catch (e) {
      if (!(e instanceof AppError)) throw e;
      return failed(index, paymentId, e);
    }
  }
}

function failed(index: number, paymentId: string | null, e: AppError): ImportItemResult {
  return { index, paymentId, status: e.status as ImportItemResult['status'], error: problemOf(e) };
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
