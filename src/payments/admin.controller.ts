import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequestValidationError } from '../errors';
import { validateDto } from '../validation.pipe';
import { RequireScope } from '../auth/scopes.guard';
import { ApiProblems } from '../openapi';
import { SynchronizeStoreCommand } from './commands/synchronize-store.command';
import { SynchronizeStoreDto } from './payment.dto';
import { StoreInfoResponse, SyncCheckResponse, SynchronizeResponse } from './payment.responses';
import { CheckSyncQuery } from './queries/check-sync.query';
import { GetStoreInfoQuery } from './queries/get-store-info.query';

/** Operator routes (the admin scope acts for the whole service, not one organization). */
@ApiTags('admin')
@ApiBearerAuth()
@ApiProblems('UNAUTHORIZED', 'MISSING_SCOPE', 'RATE_LIMITED', 'STORE_LOADING')
@RequireScope('admin')
@Controller('admin')
export class AdminController {
  constructor(
    private readonly queryBus: QueryBus,
    private readonly commandBus: CommandBus,
  ) {}

  @Get('store')
  @ApiOperation({ summary: 'Size of the in-memory store, distinct values per index, process memory' })
  @ApiOkResponse({ type: StoreInfoResponse })
  store() {
    return this.queryBus.execute(new GetStoreInfoQuery());
  }

  @Post('sync')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Rebuild the in-memory store from the primary repository',
    description:
      'All payments, or one organization\'s. Reads keep being served from the current state until the new one is complete, then it is swapped in at once. In memory mode the store is the primary repository and nothing is reloaded.',
  })
  @ApiOkResponse({ type: SynchronizeResponse })
  @ApiProblems('VALIDATION_FAILED', 'MALFORMED_JSON', 'STORE_LOADING', 'DATABASE_UNAVAILABLE')
  @ApiBody({ type: SynchronizeStoreDto, required: false })
  synchronize(@Body() body: unknown) {
    // The body is optional (no body: everything); when there is one it is validated as usual.
    let organizationId: string | undefined;
    if (body !== undefined) {
      const valid = validateDto(SynchronizeStoreDto, body);
      if (!valid.ok) throw new RequestValidationError(valid.errors);
      organizationId = valid.value.organizationId;
    }
    return this.commandBus.execute(new SynchronizeStoreCommand(organizationId));
  }

  @Get('sync/:paymentId')
  @ApiOperation({ summary: 'Whether memory and the primary repository agree on one payment' })
  @ApiOkResponse({ type: SyncCheckResponse })
  @ApiProblems('PAYMENT_NOT_FOUND', 'STORE_LOADING', 'DATABASE_UNAVAILABLE')
  checkSync(@Param('paymentId') paymentId: string) {
    return this.queryBus.execute(new CheckSyncQuery(paymentId));
  }
}
