import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  isIn,
  isInt,
  isISO4217CurrencyCode,
  isString,
  length,
  matches,
  max,
  maxLength,
  min,
  IsIn,
  IsNotIn,
  IsInt,
  IsISO4217CurrencyCode,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
  IsArray,
  ArrayMinSize,
} from 'class-validator';
import { FieldError } from '../errors';
import { normalizeIsoTime, parseIsoTime, timeMs } from '../iso-time';
import { CrossFieldChecks, Satisfies } from '../validation.pipe';
import { PAYMENT_EVENT_TYPES, PAYMENT_STATUSES, PaymentEventType, PaymentStatus } from './payment';
import { PaymentFilter } from './store/payment-filter';
import { bucketCount, Interval } from './store/stats';

export const MAX_AMOUNT = 99_999_999_999;
export const CREATED_AT_MAX_FUTURE_MS = 5 * 60_000;
export const SEARCH_WINDOW = 10_000;
export const MAX_BUCKETS = 1000;
export const SORTS = ['createdAt', '-createdAt', 'amount', '-amount'] as const;
export type SearchSort = (typeof SORTS)[number];

const METADATA_MAX_KEYS = 50;
/** Keys that are refused anywhere: in a JavaScript object they can reach a prototype. */
const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype'];

function isMetadata(value: unknown): boolean {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const entries = Object.entries(value);
  return (
    entries.length <= METADATA_MAX_KEYS &&
    entries.every(
      ([k, v]) => k.length >= 1 && k.length <= 40 && !PROTOTYPE_KEYS.includes(k) && typeof v === 'string' && v.length <= 500,
    )
  );
}

const isIsoTime = (v: unknown): boolean => typeof v === 'string' && parseIsoTime(v) !== undefined;
const notFarInFuture = (v: unknown): boolean => typeof v !== 'string' || (parseIsoTime(v) ?? 0) <= Date.now() + CREATED_AT_MAX_FUTURE_MS;
const CURRENCY_PATTERN = /^[A-Z]{3}$/;
const PAYMENT_ID_PATTERN = /^[A-Za-z0-9_.:-]+$/;
/** paymentIds that name routes (/payments/search, /stats, /bulk) or path segments: never readable by id. */
export const RESERVED_PAYMENT_IDS: readonly string[] = ['search', 'stats', 'bulk', '.', '..'];
const RESERVED_MESSAGE = `paymentId may not be ${RESERVED_PAYMENT_IDS.join(', ')} (reserved: they name routes or path segments)`;
/** Canonical UTC form; leaves anything unparseable as it is for the validator to name. */
const toIsoTime = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' ? (normalizeIsoTime(value) ?? value) : value;
/** Query strings hold text: whole numbers only become numbers (so `1.5`, `1e3`, `` stay invalid). */
const toInteger = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^(?!-0+$)-?\d{1,16}$/.test(value) ? Number(value) : value;
const STATUS_LIST_MESSAGE = `status must be one or more of ${PAYMENT_STATUSES.join(', ')}, comma-separated`;
const INTERVALS = ['hour', 'day'] as const;

/**
 * The fast path of a query DTO (see DtoStatics.fast): per parameter, the decorators' own checks
 * on the transformed value (class-validator's functions, the same transforms), returning that
 * value, or REFUSED to leave the whole query to the decorators. A parameter without a check
 * here (unknown, or repeated: an array) is left to them as well. query.fast.spec.ts compares
 * this with the decorators on generated queries.
 */
const REFUSED = Symbol('refused');
type QueryCheck = (raw: string) => unknown;
const text64: QueryCheck = (v) => (length(v, 1, 64) ? v : REFUSED);
const wholeNumber = (lo: number, hi: number): QueryCheck => (v) => {
  const n = toInteger({ value: v });
  return isInt(n) && min(n, lo) && max(n, hi) ? n : REFUSED;
};
/** toIsoTime + isIsoTime in one parse: a text normalizeIsoTime accepts is canonical and valid. */
const isoTime: QueryCheck = (v) => normalizeIsoTime(v) ?? REFUSED;
const listOf = (ok: (item: string) => boolean): QueryCheck => (v) => {
  const list = toList({ value: v }) as string[];
  return list.every(ok) ? list : REFUSED;
};
const FILTER_CHECKS: [string, QueryCheck][] = [
  ['organizationId', text64],
  ['userId', text64],
  ['status', listOf((s) => isIn(s, PAYMENT_STATUSES))],
  ['currency', listOf((c) => matches(c, CURRENCY_PATTERN))],
  ['minAmount', wholeNumber(0, Number.MAX_SAFE_INTEGER)],
  ['maxAmount', wholeNumber(0, Number.MAX_SAFE_INTEGER)],
  ['from', isoTime],
  ['to', isoTime],
];

function fastQuery<T extends object>(cls: new () => T, checks: ReadonlyMap<string, QueryCheck>, query: Readonly<Record<string, unknown>>): T | undefined {
  const dto = new cls();
  const out = dto as Record<string, unknown>;
  for (const key of Object.keys(query)) {
    const check = checks.get(key);
    const raw = query[key];
    if (check === undefined || typeof raw !== 'string') return undefined;
    const value = check(raw);
    if (value === REFUSED) return undefined;
    out[key] = value;
  }
  return dto;
}

const toList = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' ? value.split(',').map((v) => v.trim()) : value;

export class CreatePaymentDto {
  /** metadata is checked as sent (see DtoStatics): its keys are the client's, not ours. */
  static readonly opaque = ['metadata'];

  @ApiProperty({ minLength: 1, maxLength: 64, example: 'org-456' })
  @IsString()
  @Length(1, 64)
  organizationId!: string;

  @ApiProperty({ minLength: 1, maxLength: 64, example: 'user-789' })
  @IsString()
  @Length(1, 64)
  userId!: string;

  @ApiProperty({ type: 'integer', minimum: 1, maximum: MAX_AMOUNT, example: 10000, description: 'In the currency\'s minor unit (cents for EUR).' })
  @IsInt()
  @Min(1)
  @Max(MAX_AMOUNT)
  amount!: number;

  @ApiProperty({ pattern: '^[A-Z]{3}$', example: 'EUR', description: 'ISO 4217 alpha-3 code, upper case.' })
  @IsString()
  @Matches(CURRENCY_PATTERN, { message: 'currency must be an ISO 4217 alpha-3 code in upper case (e.g. EUR)' })
  @IsISO4217CurrencyCode({ message: 'currency must be an ISO 4217 alpha-3 code in upper case (e.g. EUR)' })
  currency!: string;

  @ApiPropertyOptional({
    minLength: 1,
    maxLength: 64,
    pattern: '^[A-Za-z0-9_.:-]+$',
    example: 'pay_0001',
    description:
      'Unique within the organization (another organization may use the same id). A UUID is generated when absent. ' +
      'Reserved: search, stats, bulk, . and ..',
  })
  @IsOptional()
  @IsString()
  @Length(1, 64)
  @Matches(PAYMENT_ID_PATTERN, { message: 'paymentId may only hold letters, digits and _ . : -' })
  @IsNotIn(RESERVED_PAYMENT_IDS as string[], { message: RESERVED_MESSAGE })
  paymentId?: string;

  @ApiPropertyOptional({ maxLength: 1000, example: 'Test payment' })
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  description?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string', maxLength: 500 },
    maxProperties: METADATA_MAX_KEYS,
    example: { source: 'test' },
    description: 'At most 50 keys of 1-40 chars; values are strings of at most 500 chars.',
  })
  @IsOptional()
  @Satisfies(
    isMetadata,
    'metadata must be an object of at most 50 keys (1-40 chars each, not __proto__, constructor or prototype) with string values of at most 500 chars',
  )
  metadata?: Record<string, string>;

  @ApiPropertyOptional({ format: 'date-time', example: '2026-03-01T12:00:00.000Z', description: 'For imports; at most 5 minutes in the future; defaults to now.' })
  @IsOptional()
  @Transform(toIsoTime)
  @Satisfies(isIsoTime, 'createdAt must be an ISO-8601 date-time with a time zone (e.g. 2026-03-01T12:00:00.000Z)')
  @Satisfies(notFarInFuture, 'createdAt may not be more than 5 minutes in the future')
  createdAt?: string;

  /**
   * The fast path of validateDto (see DtoStatics.fast) for the common case, a body that is
   * valid: the same checks as the decorators above (class-validator's own functions, the same
   * patterns and predicates), without class-transformer and the metadata walk. Any doubt
   * (an invalid or unusual field, a null, an unknown key) returns undefined, and the decorators
   * decide and name the bad fields. create-payment.fast.spec.ts checks on generated bodies that
   * whatever this accepts, class-validator accepts as the same instance.
   */
  static fast(body: Readonly<Record<string, unknown>>): CreatePaymentDto | undefined {
    const dto = new CreatePaymentDto();
    const out = dto as unknown as Record<string, unknown>;
    let metadata: unknown;
    for (const key of Object.keys(body)) {
      const v = body[key];
      switch (key) {
        case 'organizationId':
        case 'userId':
          if (!isString(v) || !length(v, 1, 64)) return undefined;
          out[key] = v;
          break;
        case 'amount':
          if (!isInt(v) || !min(v, 1) || !max(v, MAX_AMOUNT)) return undefined;
          out[key] = v;
          break;
        case 'currency':
          if (!isString(v) || !matches(v, CURRENCY_PATTERN) || !isISO4217CurrencyCode(v)) return undefined;
          out[key] = v;
          break;
        case 'paymentId':
          if (!isString(v) || !length(v, 1, 64) || !matches(v, PAYMENT_ID_PATTERN) || RESERVED_PAYMENT_IDS.includes(v)) return undefined;
          out[key] = v;
          break;
        case 'description':
          if (!isString(v) || !maxLength(v, 1000)) return undefined;
          out[key] = v;
          break;
        case 'metadata':
          // opaque: kept as sent, set after the other fields (as validateDto puts it back)
          if (!isMetadata(v)) return undefined;
          metadata = v;
          break;
        case 'createdAt': {
          const time = toIsoTime({ value: v });
          if (!isIsoTime(time) || !notFarInFuture(time)) return undefined;
          out[key] = time;
          break;
        }
        default:
          return undefined;
      }
    }
    if (out.organizationId === undefined || out.userId === undefined || out.amount === undefined || out.currency === undefined) {
      return undefined;
    }
    if (metadata !== undefined) out.metadata = metadata;
    return dto;
  }
}

export class ImportPaymentsDto {
  /** Items are validated one by one, as sent, by the import handler (see DtoStatics). */
  static readonly opaque = ['payments'];

  @ApiProperty({ type: [CreatePaymentDto], minItems: 1, maxItems: 1000, description: 'At most BULK_MAX_ITEMS (default 1000) items.' })
  @IsArray({ message: 'payments must be an array of payments' })
  @ArrayMinSize(1, { message: 'payments must hold at least one payment' })
  payments!: unknown[];
}

export class PaymentEventDataDto {
  @ApiPropertyOptional({ minLength: 1, maxLength: 1000, description: 'Required for PaymentFailed.' })
  @IsOptional()
  @IsString()
  @Length(1, 1000)
  error?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: MAX_AMOUNT, description: 'PaymentRefunded only; defaults to all that remains.' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_AMOUNT)
  refundAmount?: number;
}

export class PaymentEventDto implements CrossFieldChecks {
  static readonly nested = { data: PaymentEventDataDto };

  @ApiPropertyOptional({ minLength: 1, maxLength: 64, description: 'Delivering the same eventId again is a no-op.' })
  @IsOptional()
  @IsString()
  @Length(1, 64)
  eventId?: string;

  @ApiProperty({ enum: PAYMENT_EVENT_TYPES })
  @IsIn(PAYMENT_EVENT_TYPES, { message: `type must be one of ${PAYMENT_EVENT_TYPES.join(', ')}` })
  type!: PaymentEventType;

  @ApiPropertyOptional({ format: 'date-time', description: 'Defaults to now.' })
  @IsOptional()
  @Transform(toIsoTime)
  @Satisfies(isIsoTime, 'occurredAt must be an ISO-8601 date-time with a time zone')
  occurredAt?: string;

  @ApiPropertyOptional({ type: PaymentEventDataDto })
  @IsOptional()
  @IsObject({ message: 'data must be an object' })
  @ValidateNested()
  @Type(() => PaymentEventDataDto)
  data?: PaymentEventDataDto;

  crossFieldErrors(): FieldError[] {
    const errors: FieldError[] = [];
    if (this.type === 'PaymentFailed' && this.data?.error === undefined) {
      errors.push({ field: 'data.error', message: 'data.error is required for PaymentFailed' });
    }
    if (this.type !== 'PaymentFailed' && this.data?.error !== undefined) {
      errors.push({ field: 'data.error', message: 'data.error is only allowed for PaymentFailed' });
    }
    if (this.type !== 'PaymentRefunded' && this.data?.refundAmount !== undefined) {
      errors.push({ field: 'data.refundAmount', message: 'data.refundAmount is only allowed for PaymentRefunded' });
    }
    return errors;
  }
}

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

  @ApiPropertyOptional({ minLength: 1, maxLength: 64 })
  @IsOptional()
  @IsString()
  @Length(1, 64)
  organizationId?: string;

  @ApiPropertyOptional({ minLength: 1, maxLength: 64 })
  @IsOptional()
  @IsString()
  @Length(1, 64)
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
    ['sort', (v) => (isIn(v, SORTS) ? v : REFUSED)],
    ['page', wholeNumber(0, Infinity)],
    ['size', wholeNumber(1, 100)],
    ['cursor', (v) => (length(v, 1, 1024) ? v : REFUSED)],
  ]);

  /** The fast path of validateDto (see fastQuery). */
  static fast(query: Readonly<Record<string, unknown>>): SearchPaymentsQueryDto | undefined {
    return fastQuery(SearchPaymentsQueryDto, SearchPaymentsQueryDto.#checks, query);
  }

  @ApiPropertyOptional({ enum: SORTS, default: '-createdAt', description: 'Ties are broken by paymentId ascending.' })
  @IsOptional()
  @IsIn(SORTS, { message: `sort must be one of ${SORTS.join(', ')}` })
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
  static readonly #checks = new Map<string, QueryCheck>([...FILTER_CHECKS, ['interval', (v) => (isIn(v, INTERVALS) ? v : REFUSED)]]);

  /** The fast path of validateDto (see fastQuery). */
  static fast(query: Readonly<Record<string, unknown>>): PaymentStatsQueryDto | undefined {
    return fastQuery(PaymentStatsQueryDto, PaymentStatsQueryDto.#checks, query);
  }

  @ApiPropertyOptional({ enum: ['hour', 'day'], description: 'Requires from and to; at most 1000 buckets' })
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

/** The reader's filter form of the shared query parameters. */
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

/** POST /admin/sync: everything, or one organization. */
export class SynchronizeStoreDto {
  @ApiPropertyOptional({ minLength: 1, maxLength: 64, description: 'Only this organization; all when absent.' })
  @IsOptional()
  @IsString()
  @Length(1, 64)
  organizationId?: string;
}
