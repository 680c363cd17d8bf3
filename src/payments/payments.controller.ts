import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { RouteSchema } from '@nestjs/platform-fastify';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiBody, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiProduces, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { callerKey } from '../auth/protection';
import { RequireScope } from '../auth/scopes.guard';
import { ActsForCaller, addressedOrganization, RefusedItems } from '../auth/tenancy';
import type { OrganizationForbiddenError } from '../errors';
import { heavyLane } from '../http/heavy-lane';
import { PAYMENT_SCHEMA, SEARCH_RESULT_SCHEMA } from '../http/payment.schema';
import { ApiProblems } from '../openapi';
import { ApplyPaymentEventCommand } from './commands/apply-payment-event.command';
import { CreatePaymentCommand } from './commands/create-payment.command';
import { ImportPaymentsCommand } from './commands/import-payments.command';
import { CreatePaymentDto, ImportPaymentsDto } from './create-payment.dto';
import { PaymentEventDto } from './payment-event.dto';
import { PaymentStatsQueryDto, SearchPaymentsQueryDto, toPaymentFilter } from './payment-query.dto';
import { ImportResponse, PaymentResponse, SearchResponse, StatsResponse } from './payment.responses';
import { GetPaymentStatsQuery } from './queries/get-payment-stats.query';
import { GetPaymentQuery } from './queries/get-payment.query';
import { SearchPaymentsQuery } from './queries/search-payments.query';
import { StatsStreams } from './queries/stats-streams';

const BODY_ERRORS = ['VALIDATION_FAILED', 'MALFORMED_JSON', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'] as const;
/** With auth on: 401 without a valid token, 403 without the scope, 429 past the rate limit. */
const AUTH_ERRORS = ['UNAUTHORIZED', 'MISSING_SCOPE', 'RATE_LIMITED', 'OVERLOADED', 'STORE_LOADING'] as const;
/** The 503s of a write: overload, loading, and (PostgreSQL mode) an unreachable database. */
const WRITE_UNAVAILABLE = ['OVERLOADED', 'STORE_LOADING', 'DATABASE_UNAVAILABLE'] as const;

/** How GET /payments/:id and its events address a payment (see addressedOrganization). */
const ADDRESSING =
  'paymentIds are unique per organization. With auth on, the payment is the token\'s organization\'s (organizationId may be ' +
  'omitted; another one is a 403). Without auth, organizationId names the organization; without it the paymentId must be ' +
  'unique (409 PAYMENT_ID_AMBIGUOUS when several organizations use it).';
const ORGANIZATION_QUERY = {
  name: 'organizationId',
  required: false,
  description: 'The payment\'s organization (see the description)',
  schema: { type: 'string', minLength: 1, maxLength: 64 },
} as const;

/**
 * Each route builds a command or a query and hands it to its bus; the one exception is
 * GET /payments/stats/stream, which also frames the Server-Sent Events itself (a hijacked
 * reply: the first document, then StatsStreams' pushes and pings).
 */
@ApiTags('payments')
@ApiBearerAuth()
@ApiProblems(...AUTH_ERRORS)
@Controller('payments')
export class PaymentsController {
  constructor(
    private readonly commandBus: CommandBus,
    private readonly queryBus: QueryBus,
    private readonly streams: StatsStreams,
  ) {}

  @Post()
  @RouteSchema({ response: { 200: PAYMENT_SCHEMA, 201: PAYMENT_SCHEMA } })
  @RequireScope('payments:write')
  @ActsForCaller()
  @ApiOperation({
    summary: 'Create a payment (a retry with the same paymentId and fields replays it)',
    description: 'With auth on, organizationId may be omitted (it is the token\'s org); another org is a 403.',
  })
  @ApiCreatedResponse({ type: PaymentResponse, description: 'Stored; Location names it', headers: { Location: { schema: { type: 'string' } } } })
  @ApiOkResponse({ type: PaymentResponse, description: 'The same paymentId and fields again: the stored payment, unchanged' })
  @ApiProblems(...BODY_ERRORS, 'ORGANIZATION_FORBIDDEN', 'PAYMENT_ID_CONFLICT', 'STORE_FULL', 'ORGANIZATION_QUOTA_EXCEEDED', ...WRITE_UNAVAILABLE)
  async create(@Body() body: CreatePaymentDto, @Res({ passthrough: true }) reply: FastifyReply) {
    const { payment, created } = await this.commandBus.execute(new CreatePaymentCommand(body));
    // paymentId only holds path-safe characters (see CreatePaymentDto), so it needs no escaping
    reply.status(created ? 201 : 200).header('Location', `/payments/${payment.paymentId}`);
    return payment;
  }

  @Post('bulk')
  @HttpCode(200)
  @RequireScope('payments:write')
  @ActsForCaller()
  @ApiOperation({ summary: 'Import many payments; each item stands or fails alone' })
  @ApiOkResponse({ type: ImportResponse })
  @ApiProblems(...BODY_ERRORS, ...WRITE_UNAVAILABLE)
  import(@Body() body: ImportPaymentsDto, @RefusedItems() refused: ReadonlyMap<number, OrganizationForbiddenError> | null) {
    return this.commandBus.execute(new ImportPaymentsCommand(body.payments, refused ?? undefined));
  }

  @Get('search')
  @RequireScope('payments:read')
  @ActsForCaller()
  @ApiOperation({ summary: 'Search payments (filters combine with AND; page or cursor)' })
  @ApiOkResponse({ type: SearchResponse })
  @ApiProblems('VALIDATION_FAILED', 'ORGANIZATION_FORBIDDEN')
  @RouteSchema({ response: { 200: SEARCH_RESULT_SCHEMA } })
  async search(@Query() q: SearchPaymentsQueryDto) {
    await heavyLane.turn(); // one heavy read per event-loop turn (see HeavyLane)
    return this.queryBus.execute(
      new SearchPaymentsQuery({ filter: toPaymentFilter(q), sort: q.sort ?? '-createdAt', size: q.size ?? 20, page: q.page, cursor: q.cursor }),
    );
  }

  @Get('stats')
  @RequireScope('payments:read')
  @ActsForCaller()
  @ApiOperation({ summary: 'Counts and exact sums per status and currency, optionally per hour or day' })
  @ApiOkResponse({ type: StatsResponse })
  @ApiProblems('VALIDATION_FAILED', 'ORGANIZATION_FORBIDDEN')
  async stats(@Query() q: PaymentStatsQueryDto) {
    await heavyLane.turn();
    return this.queryBus.execute(new GetPaymentStatsQuery({ filter: toPaymentFilter(q), interval: q.interval }));
  }

  @Get('stats/stream')
  @RequireScope('payments:read')
  @ActsForCaller()
  @ApiOperation({
    summary: 'Live stats: Server-Sent Events of the GET /payments/stats document for these filters',
    description:
      'The same filters as GET /payments/stats. `text/event-stream`: an event `stats` whose data is the stats document, ' +
      'at once, then at most one per second while payments of the filter\'s organization change (driven by the writes, ' +
      'not by polling); a comment line `: ping` every 15 s. Bad filters get the same 400 problem as GET /payments/stats. ' +
      'Streams are capped per caller (token subject, else client address: STATS_STREAMS_PER_CALLER, then 429 ' +
      'TOO_MANY_STREAMS) and in all (STATS_STREAMS_MAX, then 503 STREAMS_FULL), both with Retry-After; a closed stream frees its place.',
  })
  @ApiProduces('text/event-stream')
  @ApiOkResponse({
    description: 'A stream of `event: stats` / `data: <StatsResponse JSON>` messages',
    content: { 'text/event-stream': { schema: { type: 'string', example: 'event: stats\ndata: {"total":3,...}\n\n' } } },
  })
  @ApiProblems('VALIDATION_FAILED', 'ORGANIZATION_FORBIDDEN', 'RATE_LIMITED', 'TOO_MANY_STREAMS', 'OVERLOADED', 'STORE_LOADING', 'STREAMS_FULL')
  async statsStream(@Query() q: PaymentStatsQueryDto, @Req() request: FastifyRequest, @Res() reply: FastifyReply) {
    const query = new GetPaymentStatsQuery({ filter: toPaymentFilter(q), interval: q.interval });
    // past a cap: a 429 or 503 problem answer, before anything is computed or the reply hijacked
    const slot = this.streams.reserve(callerKey(request));
    let first: unknown;
    try {
      first = await this.queryBus.execute(query); // a failure here is an ordinary problem answer
    } catch (error) {
      slot.release();
      throw error;
    }
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
    });
    const write = (text: string) => {
      if (!raw.writableEnded) raw.write(text);
    };
    write(`event: stats\ndata: ${JSON.stringify(first)}\n\n`);
    const close = this.streams.open(
      query,
      {
        send: (stats) => write(`event: stats\ndata: ${JSON.stringify(stats)}\n\n`),
        ping: () => write(': ping\n\n'),
        end: () => raw.end(),
      },
      slot,
    );
    // the response closes when the client goes (or the stream ends); a client gone while the
    // first document was computed closed it already, and its slot must not stay taken
    if (raw.destroyed) close();
    else raw.on('close', close);
  }

  @Get(':id')
  @RouteSchema({ response: { 200: PAYMENT_SCHEMA } })
  @RequireScope('payments:read')
  @ApiOperation({
    summary: 'Read one payment',
    description: ADDRESSING,
  })
  @ApiParam({ name: 'id', description: 'paymentId' })
  @ApiQuery(ORGANIZATION_QUERY)
  @ApiOkResponse({ type: PaymentResponse })
  @ApiProblems('VALIDATION_FAILED', 'ORGANIZATION_FORBIDDEN', 'PAYMENT_NOT_FOUND', 'PAYMENT_ID_AMBIGUOUS')
  get(@Req() request: FastifyRequest<{ Params: { id: string } }>) {
    // the id and the organization straight from the request: no parameter of this hot route needs a pipe
    return this.queryBus.execute(new GetPaymentQuery(request.params.id, addressedOrganization(request)));
  }

  @Post(':id/events')
  @HttpCode(200)
  @RouteSchema({ response: { 200: PAYMENT_SCHEMA } })
  @RequireScope('payments:write')
  @ApiOperation({ summary: 'Apply a lifecycle event: PaymentProcessed, PaymentFailed or PaymentRefunded', description: ADDRESSING })
  @ApiParam({ name: 'id', description: 'paymentId' })
  @ApiQuery(ORGANIZATION_QUERY)
  @ApiBody({ type: PaymentEventDto })
  @ApiOkResponse({ type: PaymentResponse, description: 'The payment after the event (or unchanged, for a repeated eventId)' })
  @ApiProblems(
    ...BODY_ERRORS,
    'ORGANIZATION_FORBIDDEN',
    'PAYMENT_NOT_FOUND',
    'PAYMENT_ID_AMBIGUOUS',
    'INVALID_TRANSITION',
    'REFUND_EXCEEDS_AMOUNT',
    'STORE_FULL',
    ...WRITE_UNAVAILABLE,
  )
  applyEvent(@Param('id') id: string, @Body() body: PaymentEventDto, @Req() request: FastifyRequest) {
    return this.commandBus.execute(
      new ApplyPaymentEventCommand(
        id,
        body.eventId,
        {
          type: body.type,
          occurredAt: body.occurredAt ?? new Date().toISOString(),
          error: body.data?.error,
          refundAmount: body.data?.refundAmount,
        },
        addressedOrganization(request),
      ),
    );
  }
}
