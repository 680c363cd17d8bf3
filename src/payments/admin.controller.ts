import { Controller, Get } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../auth/scopes.guard';
import { ApiProblems } from '../openapi';
import { StoreInfoResponse } from './payment.responses';
import { GetStoreInfoQuery } from './queries/get-store-info.query';

@ApiTags('admin')
@ApiBearerAuth()
@ApiProblems('UNAUTHORIZED', 'MISSING_SCOPE', 'RATE_LIMITED')
@RequireScope('admin')
@Controller('admin')
export class AdminController {
  constructor(private readonly queryBus: QueryBus) {}

  @Get('store')
  @ApiOperation({ summary: 'Size of the in-memory store, distinct values per index, process memory' })
  @ApiOkResponse({ type: StoreInfoResponse })
  store() {
    return this.queryBus.execute(new GetStoreInfoQuery());
  }
}
