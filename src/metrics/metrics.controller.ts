import { Controller, Get, Header, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { RequireScope } from '../auth/scopes.guard';
import { ApiProblems } from '../openapi';
import { MetricsService } from './metrics.service';

@ApiTags('operations')
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get()
  @RequireScope('admin', 'metricsRequireAdmin')
  @ApiOperation({
    summary: 'Prometheus metrics: request counts and latencies per route, store size, cache hits and misses',
    description:
      'Public unless METRICS_REQUIRE_ADMIN=true with AUTH_JWT_SECRET set: then a bearer token with the admin scope ' +
      'is needed (401 without a valid token, 403 without the scope).',
    // either no credentials or the bearer token, depending on METRICS_REQUIRE_ADMIN (see above)
    security: [{}, { bearer: [] }],
  })
  @ApiProblems('UNAUTHORIZED', 'MISSING_SCOPE')
  @ApiProduces('text/plain')
  @ApiOkResponse({ description: 'Prometheus text exposition format', schema: { type: 'string' } })
  @Header('Cache-Control', 'no-store')
  async scrape(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    reply.type(this.metrics.registry.contentType);
    return this.metrics.registry.metrics();
  }
}
