import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, length, Length, Matches, Max, Min } from 'class-validator';
import { FieldError } from '../errors';
import { timeMs } from '../iso-time';
import { CrossFieldChecks, Satisfies } from '../validation.pipe';
import { CURRENCY_PATTERN, isIsoTime, toInteger, toIsoTime, toList } from './field-checks';
import { ID_MAX_LENGTH, PAYMENT_STATUSES, PaymentStatus } from './payment';
import { PaymentFilter } from './payment-filter';
import { bucketCount, Interval, INTERVALS, MAX_BUCKETS, SEARCH_SORTS, SEARCH_WINDOW, SearchSort } from './payment-query';
import { FILTER_CHECKS, fastQuery, oneOf, QueryCheck, REFUSED, wholeNumber } from './query-checks';

const STATUS_LIST_MESSAGE = `status must be one or more of ${PAYMENT_STATUSES.join(', ')}, comma-separated`;

/**
 * How a list parameter is declared: OpenAPI's default for a query array (form style, exploded),
 * which generated clients send as a repeated parameter. The comma-separated form is accepted
 * too (see DtoStatics.lists).
 */
const LIST_STYLE = { style: 'form', explode: true } as const;

/** The filters shared by search and stats. */
export class PaymentFilterQueryDto implements CrossFieldChecks {
  /** Repeated, comma-separated, or both (see DtoStatics.lists). */
  static readonly lists = ['status', 'currency'];

  @ApiPropertyOptional({ minLength: 1, maxLength: ID_MAX_LENGTH })
  @IsOptional()
  @IsString()
  @Length(1, ID_MAX_LENGTH)
  organizationId?: string;

  @ApiPropertyOptional({ minLength: 1, maxLength: ID_MAX_LENGTH })
  @IsOptional()
  @IsString()
  @Length(1, ID_MAX_LENGTH)
  userId?: string;

  @ApiPropertyOptional({
    isArray: true,
    enum: PAYMENT_STATUSES,
    ...LIST_STYLE,
    description: `Any of ${PAYMENT_STATUSES.join(', ')}: repeated (status=completed&status=refunded), comma-separated (status=completed,refunded) or both`,
  })
  @IsOptional()
  @Transform(toList)
  @IsIn(PAYMENT_STATUSES, { each: true, message: STATUS_LIST_MESSAGE })
  status?: PaymentStatus[];

  @ApiPropertyOptional({
    isArray: true,
    type: String,
    pattern: CURRENCY_PATTERN.source,
    ...LIST_STYLE,
    description: 'ISO 4217 codes, upper case: repeated (currency=EUR&currency=USD), comma-separated (currency=EUR,USD) or both',
  })
  @IsOptional()
  @Transform(toList)
  @Matches(CURRENCY_PATTERN, { each: true, message: 'currency must be one or more upper-case ISO 4217 codes, comma-separated' })
  currency?: string[];

  @ApiPropertyOptional({ type: 'integer', minimum: 0, description: 'Inclusive lower bound on amount' })
  @IsOptional()
  @Transform(toInteger)
  @IsInt({ message: 'minAmount must be a whole number' })
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  minAmount?: number;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, description: 'Inclusive upper bound on amount' })
  @IsOptional()
  @Transform(toInteger)
  @IsInt({ message: 'maxAmount must be a whole number' })
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  maxAmount?: number;

  @ApiPropertyOptional({ format: 'date-time', description: 'createdAt >= from' })
  @IsOptional()
  @Transform(toIsoTime)
  @Satisfies(isIsoTime, 'from must be an ISO-8601 date-time with a time zone')
  from?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'createdAt < to' })
  @IsOptional()
  @Transform(toIsoTime)
  @Satisfies(isIsoTime, 'to must be an ISO-8601 date-time with a time zone')
  to?: string;

  crossFieldErrors(): FieldError[] {
    const errors: FieldError[] = [];
    if (this.minAmount !== undefined && this.maxAmount !== undefined && this.minAmount > this.maxAmount) {
      errors.push({ field: 'maxAmount', message: 'maxAmount must not be below minAmount' });
    }
    if (this.from !== undefined && this.to !== undefined && this.from > this.to) {
      errors.push({ field: 'to', message: 'to must not be before from' });
    }
    return errors;
  }
}

export class SearchPaymentsQueryDto extends PaymentFilterQueryDto {
  static readonly #checks = new Map<string, QueryCheck>([
    ...FILTER_CHECKS,
    ['sort', oneOf(SEARCH_SORTS)],
    ['page', wholeNumber(0, Infinity)],
    ['size', wholeNumber(1, 100)],
    ['cursor', (v) => (length(v, 1, 1024) ? v : REFUSED)],
  ]);

  /** The fast path of validateDto (see fastQuery). */
  static fast(query: Readonly<Record<string, unknown>>): SearchPaymentsQueryDto | undefined {
    return fastQuery(SearchPaymentsQueryDto, SearchPaymentsQueryDto.#checks, query);
  }

  @ApiPropertyOptional({ enum: SEARCH_SORTS, default: '-createdAt', description: 'Ties are broken by paymentId ascending.' })
  @IsOptional()
  @IsIn(SEARCH_SORTS, { message: `sort must be one of ${SEARCH_SORTS.join(', ')}` })
  sort?: SearchSort;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, default: 0, description: '0-based; page * size may not exceed 10000 (use cursor beyond)' })
  @IsOptional()
  @Transform(toInteger)
  @IsInt({ message: 'page must be a whole number' })
  @Min(0)
  page?: number;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 100, default: 20 })
  @IsOptional()
  @Transform(toInteger)
  @IsInt({ message: 'size must be a whole number' })
  @Min(1)
  @Max(100)
  size?: number;

  @ApiPropertyOptional({ description: 'The nextCursor of the previous page; not with page' })
  @IsOptional()
  @IsString()
  @Length(1, 1024)
  cursor?: string;

  override crossFieldErrors(): FieldError[] {
    const errors = super.crossFieldErrors();
    if (this.cursor !== undefined && this.page !== undefined) {
      errors.push({ field: 'cursor', message: 'cursor cannot be combined with page' });
    }
    if ((this.page ?? 0) * (this.size ?? 20) > SEARCH_WINDOW) {
      errors.push({ field: 'page', message: `page * size may not exceed ${SEARCH_WINDOW}; use cursor to go deeper` });
    }
    return errors;
  }
}

export class PaymentStatsQueryDto extends PaymentFilterQueryDto {
  static readonly #checks = new Map<string, QueryCheck>([...FILTER_CHECKS, ['interval', oneOf(INTERVALS)]]);

  /** The fast path of validateDto (see fastQuery). */
  static fast(query: Readonly<Record<string, unknown>>): PaymentStatsQueryDto | undefined {
    return fastQuery(PaymentStatsQueryDto, PaymentStatsQueryDto.#checks, query);
  }

  @ApiPropertyOptional({ enum: INTERVALS, description: `Requires from and to; at most ${MAX_BUCKETS} buckets` })
  @IsOptional()
  @IsIn(INTERVALS, { message: 'interval must be hour or day' })
  interval?: Interval;

  override crossFieldErrors(): FieldError[] {
    const errors = super.crossFieldErrors();
    if (this.interval !== undefined) {
      if (this.from === undefined || this.to === undefined) {
        errors.push({ field: 'interval', message: 'interval requires both from and to' });
      } else if (bucketCount(timeMs(this.from), timeMs(this.to), this.interval) > MAX_BUCKETS) {
        errors.push({ field: 'interval', message: `from..to holds more than ${MAX_BUCKETS} ${this.interval} buckets` });
      }
    }
    return errors;
  }
}

/** The use cases' filter (the domain's PaymentFilter) of the shared query parameters. */
export function toPaymentFilter(q: PaymentFilterQueryDto): PaymentFilter {
  return {
    organizationId: q.organizationId,
    userId: q.userId,
    statuses: q.status,
    currencies: q.currency,
    minAmount: q.minAmount,
    maxAmount: q.maxAmount,
    from: q.from,
    to: q.to,
  };
}
