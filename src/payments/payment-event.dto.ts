import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsIn, IsInt, IsObject, IsOptional, IsString, Length, Max, Min, ValidateNested } from 'class-validator';
import { FieldError } from '../errors';
import { CrossFieldChecks, Satisfies } from '../validation.pipe';
import { isIsoTime, toIsoTime } from './field-checks';
import { EVENT_ERROR_MAX_LENGTH, ID_MAX_LENGTH, MAX_AMOUNT, PAYMENT_EVENT_TYPES, PaymentEventType } from './payment';

/** POST /payments/:id/events (and an inbound event message's data). */
export class PaymentEventDataDto {
  @ApiPropertyOptional({ minLength: 1, maxLength: EVENT_ERROR_MAX_LENGTH, description: 'Required for PaymentFailed.' })
  @IsOptional()
  @IsString()
  @Length(1, EVENT_ERROR_MAX_LENGTH)
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

  @ApiPropertyOptional({ minLength: 1, maxLength: ID_MAX_LENGTH, description: 'Delivering the same eventId again is a no-op.' })
  @IsOptional()
  @IsString()
  @Length(1, ID_MAX_LENGTH)
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
