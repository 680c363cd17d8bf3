import { Body, Controller, Get, HttpCode, Param, Post, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { Caller } from '../auth/caller';
import { administeredOrganization, CurrentCaller, namedOrganization } from '../auth/tenancy';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiBody, ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { RequestValidationError } from '../errors';
import { validateDto } from '../validation.pipe';
import { RequireScope } from '../auth/scopes.guard';
import { ApiProblems } from '../openapi';
import { SynchronizeStoreCommand } from './commands/synchronize-store.command';
import { SynchronizeStoreDto } from './synchronize-store.dto';
import { StoreInfoResponse, SyncCheckResponse, SynchronizeResponse } from './payment.responses';
import { CheckSyncQuery } from './queries/check-sync.query';
import { GetStoreInfoQuery } from './queries/get-store-info.query';

/**
 * Operations routes. With auth on, an organization's admin (the `admin` scope) acts on its own
 * organization only; the platform operator (the `operator` scope) on any, or all (see
 * administeredOrganization); what spans every tenant (the process's memory) is the operator's alone.
 */
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
  @ApiOperation({
    summary: 'Size of the in-memory store, distinct values per index, process memory',
    description:
      'With auth on, an organization\'s admin sees its own organization\'s payments and distinct values (no process memory: ' +
      'that is the whole service\'s); the platform operator (`operator` scope) and open mode see the whole store.',
  })
  @ApiOkResponse({ type: StoreInfoResponse })
  store(@CurrentCaller() caller?: Caller) {
    return this.queryBus.execute(new GetStoreInfoQuery(administeredOrganization(caller, undefined)));
  }

  @Post('sync')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Rebuild the in-memory store from the primary repository',
    description:
      'All payments, or one organization\'s. Reads keep being served from the current state until the new one is complete, then it is swapped in at once. In memory mode the store is the primary repository and nothing is reloaded. ' +
      'With auth on, an organization\'s admin synchronizes its own organization (organizationId may be omitted; another is a 403); the platform operator (`operator` scope) any organization, or all without one.',
  })
  @ApiOkResponse({ type: SynchronizeResponse })
  @ApiProblems('VALIDATION_FAILED', 'MALFORMED_JSON', 'ORGANIZATION_FORBIDDEN', 'STORE_LOADING', 'DATABASE_UNAVAILABLE')
  @ApiBody({ type: SynchronizeStoreDto, required: false })
  synchronize(@Body() body: unknown, @CurrentCaller() caller?: Caller) {
    // The body is optional (no body: everything); when there is one it is validated as usual.
    let organizationId: string | undefined;
    if (body !== undefined) {
      const valid = validateDto(SynchronizeStoreDto, body);
      if (!valid.ok) throw new RequestValidationError(valid.errors);
      organizationId = valid.value.organizationId;
    }
    return this.commandBus.execute(new SynchronizeStoreCommand(administeredOrganization(caller, organizationId)));
  }

  @Get('sync/:paymentId')
  @ApiOperation({
    summary: 'Whether memory and the primary repository agree on one payment',
    description:
      'paymentIds are unique per organization. An organization\'s admin checks its own organization\'s payments ' +
      '(organizationId may be omitted; another is a 403). The platform operator, and open mode, name the organization, ' +
      'or give a paymentId only one organization uses (else 409 PAYMENT_ID_AMBIGUOUS).',
  })
  @ApiQuery({ name: 'organizationId', required: false, schema: { type: 'string', minLength: 1, maxLength: 64 } })
  @ApiOkResponse({ type: SyncCheckResponse })
  @ApiProblems(
    'VALIDATION_FAILED',
    'ORGANIZATION_FORBIDDEN',
    'PAYMENT_NOT_FOUND',
    'PAYMENT_ID_AMBIGUOUS',
    'STORE_LOADING',
    'DATABASE_UNAVAILABLE',
  )
  checkSync(@Param('paymentId') paymentId: string, @Req() request: FastifyRequest) {
    const organizationId = administeredOrganization(request.auth?.caller, namedOrganization(request));
    return this.queryBus.execute(new CheckSyncQuery(paymentId, organizationId));
  }
}
