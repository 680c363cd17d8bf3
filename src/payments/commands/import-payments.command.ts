import { Command } from '@nestjs/cqrs';
import type { AppError } from '../../errors';
import type { ProblemBody } from '../../problem.filter';

export interface ImportItemResult {
  index: number;
  paymentId: string | null;
  status: 201 | 200 | 400 | 403 | 409 | 503 | 507;
  /** The problem the item would have had alone (see toProblem). */
  error?: ProblemBody;
}

export interface ImportResult {
  created: number;
  replayed: number;
  failed: number;
  results: ImportItemResult[];
}

/** Imports many payments; each item succeeds or fails as it would alone. */
export class ImportPaymentsCommand extends Command<ImportResult> {
  /**
   * `refused`: items the edge refused before validation, by index (with auth on, an item for
   * another organization: see applyTenancy); each fails alone with its error.
   */
  constructor(
    readonly items: readonly unknown[],
    readonly refused?: ReadonlyMap<number, AppError>,
  ) {
    super();
  }
}
