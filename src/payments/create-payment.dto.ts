import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  ArrayMinSize,
  IsArray,
  isInt,
  IsInt,
  isISO4217CurrencyCode,
  IsISO4217CurrencyCode,
  IsNotIn,
  IsOptional,
  isString,
  IsString,
  length,
  Length,
  matches,
  Matches,
  max,
  Max,
  maxLength,
  MaxLength,
  min,
  Min,
} from 'class-validator';
import { Satisfies } from '../validation.pipe';
import { CURRENCY_PATTERN, isIsoTime, isMetadata, notFarInFuture, PAYMENT_ID_PATTERN, toIsoTime } from './field-checks';
import { DESCRIPTION_MAX_LENGTH, ID_MAX_LENGTH, MAX_AMOUNT, METADATA_MAX_KEYS, METADATA_VALUE_MAX_LENGTH, RESERVED_PAYMENT_IDS } from './payment';

const RESERVED_MESSAGE = `paymentId may not be ${RESERVED_PAYMENT_IDS.join(', ')} (reserved: they name routes or path segments)`;

/** POST /payments. */
export class CreatePaymentDto {
  /** metadata is checked as sent (see DtoStatics): its keys are the client's, not ours. */
  static readonly opaque = ['metadata'];

  @ApiProperty({ minLength: 1, maxLength: ID_MAX_LENGTH, example: 'org-456' })
  @IsString()
  @Length(1, ID_MAX_LENGTH)
  organizationId!: string;

  @ApiProperty({ minLength: 1, maxLength: ID_MAX_LENGTH, example: 'user-789' })
  @IsString()
  @Length(1, ID_MAX_LENGTH)
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
    maxLength: ID_MAX_LENGTH,
    pattern: PAYMENT_ID_PATTERN.source,
    example: 'pay_0001',
    description:
      'Unique within the organization (another organization may use the same id). A UUID is generated when absent. ' +
      'Reserved: search, stats, bulk, . and ..',
  })
  @IsOptional()
  @IsString()
  @Length(1, ID_MAX_LENGTH)
  @Matches(PAYMENT_ID_PATTERN, { message: 'paymentId may only hold letters, digits and _ . : -' })
  @IsNotIn(RESERVED_PAYMENT_IDS as string[], { message: RESERVED_MESSAGE })
  paymentId?: string;

  @ApiPropertyOptional({ maxLength: DESCRIPTION_MAX_LENGTH, example: 'Test payment' })
  @IsOptional()
  @IsString()
  @MaxLength(DESCRIPTION_MAX_LENGTH)
  description?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string', maxLength: METADATA_VALUE_MAX_LENGTH },
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
   * decide and name the bad fields. create-payment.dto.spec.ts checks on generated bodies that
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
          if (!isString(v) || !length(v, 1, ID_MAX_LENGTH)) return undefined;
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
          if (!isString(v) || !length(v, 1, ID_MAX_LENGTH) || !matches(v, PAYMENT_ID_PATTERN) || RESERVED_PAYMENT_IDS.includes(v)) return undefined;
          out[key] = v;
          break;
        case 'description':
          if (!isString(v) || !maxLength(v, DESCRIPTION_MAX_LENGTH)) return undefined;
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

/** POST /payments/bulk. */
export class ImportPaymentsDto {
  /** Items are validated one by one, as sent, by the import handler (see DtoStatics). */
  static readonly opaque = ['payments'];

  @ApiProperty({ type: [CreatePaymentDto], minItems: 1, maxItems: 1000, description: 'At most BULK_MAX_ITEMS (default 1000) items.' })
  @IsArray({ message: 'payments must be an array of payments' })
  @ArrayMinSize(1, { message: 'payments must hold at least one payment' })
  payments!: unknown[];
}
