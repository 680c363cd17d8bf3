import { Controller, Get, Optional, Req, Res, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheck, HealthCheckResult, HealthCheckService, HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { SchemaObject, SecurityRequirementObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { OPERATOR } from '../auth/caller';
import { AppConfig } from '../config';
import { BrokerHealth } from '../messaging/broker.health';
import { PrimaryRepository } from '../payments/primary.repository';
import { PaymentStore } from '../payments/store/payment.store';

const HEALTH_SCHEMA: SchemaObject = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['ok', 'error', 'shutting_down'] },
    info: { type: 'object', additionalProperties: true },
    error: { type: 'object', additionalProperties: true },
    details: { type: 'object', additionalProperties: true },
  },
};

/** No token, in every mode: a probe has none (and no rate limit nor load shedding: see protection.ts). */
const PUBLIC: SecurityRequirementObject[] = [];


/** Terminus-format health: 200 when up, 503 with the same body shape when not. */
@ApiTags('operations')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly store: PaymentStore,
    private readonly primary: PrimaryRepository,
    private readonly config: AppConfig,
    @Optional() private readonly broker?: BrokerHealth,
  ) {}

  @Get('live')
  @HealthCheck({ swaggerDocumentation: false })
  @ApiOperation({ summary: 'Liveness: the process is up', security: PUBLIC })
  @ApiOkResponse({ schema: HEALTH_SCHEMA })
  live(@Res({ passthrough: true }) reply: FastifyReply) {
    return this.#run(reply, []);
  }

  @Get('ready')
  @HealthCheck({ swaggerDocumentation: false })
  @ApiOperation({
    summary: 'Readiness: the store is loaded and, with PostgreSQL, the database is reachable',
    description:
      'Each check says up or down. Its figures (payments in the store, the change feed\'s position, why it is down) ' +
      'are shown to the platform operator (the operator scope) only, to anyone when auth is off; /metrics has the counts too.',
    security: PUBLIC,
  })
  @ApiOkResponse({ schema: HEALTH_SCHEMA })
  @ApiServiceUnavailableResponse({ schema: HEALTH_SCHEMA })
  async ready(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    const result = await this.#run(reply, [
      async () => {
        const check = this.indicators.check('store');
        return this.store.loaded ? check.up({ payments: this.store.size }) : check.down({ message: 'loading' });
      },
      async () => {
        const check = this.indicators.check('primary');
        const { up, details } = await this.primary.health();
        return up ? check.up(details) : check.down(details);
      },
      // with messaging on: the broker's state, which never fails readiness (the outbox holds the events)
      ...(this.broker === undefined
        ? []
        : [
            async () => {
              const { connected, ...details } = await this.broker!.status();
              return this.indicators.check('broker').up({ connected, ...details });
            },
          ]),
    ]);
    // the figures span every tenant (payments in the store, the change feed's position): the
    // platform operator's, as /admin/store's totals are (anyone's when auth is off, as /admin)
    const seesCounts = this.config.authJwtSecret === undefined || request.auth?.caller?.scopes.has(OPERATOR) === true;
    return seesCounts ? result : statusOnly(result);
  }

  async #run(reply: FastifyReply, checks: Parameters<HealthCheckService['check']>[0]): Promise<HealthCheckResult> {
    try {
      return await this.health.check(checks);
    } catch (e) {
      if (!(e instanceof ServiceUnavailableException)) throw e;
      reply.status(503);
      return e.getResponse() as HealthCheckResult;
    }
  }
}

/** The same answer with each check's status only: what a caller other than the operator sees. */
function statusOnly(result: HealthCheckResult): HealthCheckResult {
  const strip = (checks: Partial<HealthIndicatorResult> | undefined): HealthIndicatorResult | undefined =>
    checks && Object.fromEntries(Object.entries(checks).flatMap(([name, check]) => (check ? [[name, { status: check.status }]] : [])));
  return { status: result.status, info: strip(result.info), error: strip(result.error), details: strip(result.details) ?? {} };
}
