import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { PAYMENT_STATUSES } from './payment';

/** OpenAPI shapes of the answers (documentation only; the handlers return plain objects). */
export class PaymentResponse {
  @ApiProperty({ example: 'pay_0001' }) paymentId!: string;
  @ApiProperty({ example: 'org-456' }) organizationId!: string;
  @ApiProperty({ example: 'user-789' }) userId!: string;
  @ApiProperty({ type: 'integer', example: 10000, description: 'Minor units of currency' }) amount!: number;
  @ApiProperty({ example: 'EUR' }) currency!: string;
  @ApiProperty({ enum: PAYMENT_STATUSES }) status!: string;
  @ApiProperty({ type: 'string', nullable: true, example: 'Test payment' }) description!: string | null;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' }, example: { source: 'test' } })
  metadata!: Record<string, string>;
  @ApiProperty({ type: 'integer', example: 0 }) refundedAmount!: number;
  @ApiProperty({ type: 'string', nullable: true, example: null }) error!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true }) completedAt!: string | null;
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true }) failedAt!: string | null;
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true }) refundedAt!: string | null;
  @ApiProperty({ type: 'integer', minimum: 1, example: 1 }) version!: number;
}

export class FieldErrorResponse {
  @ApiProperty({ example: 'amount' }) field!: string;
  @ApiProperty({ example: 'amount must be an integer number' }) message!: string;
}

export class ProblemResponse {
  @ApiProperty({ example: '/problems/validation-failed' }) type!: string;
  @ApiProperty({ example: 'Your request is not valid' }) title!: string;
  @ApiProperty({ type: 'integer', example: 400 }) status!: number;
  @ApiProperty({ example: 'Invalid amount: amount must be an integer number' }) detail!: string;
  @ApiProperty({ example: 'VALIDATION_FAILED', description: 'Stable error code from the catalogue' }) code!: string;
  @ApiProperty({ example: '/payments' }) instance!: string;
  @ApiPropertyOptional({ type: [FieldErrorResponse], description: 'Validation errors only: one per bad field' })
  errors?: FieldErrorResponse[];
}

export class SearchResponse {
  @ApiProperty({ type: [PaymentResponse] }) items!: PaymentResponse[];
  @ApiProperty({ type: 'integer', description: 'All matches, not only this page' }) total!: number;
  @ApiProperty({ type: 'integer' }) page!: number;
  @ApiProperty({ type: 'integer' }) size!: number;
  @ApiProperty({ type: 'string', nullable: true, description: 'Opaque; null on the last page' }) nextCursor!: string | null;
}

const MONEY: { type: 'object'; additionalProperties: SchemaObject; description: string } = {
  type: 'object',
  additionalProperties: { oneOf: [{ type: 'integer' }, { type: 'string', pattern: '^[0-9]+$' }] },
  description: 'Per currency, exact; a string of digits past 2^53 - 1',
};

export class StatsBucketResponse {
  @ApiProperty({ format: 'date-time' }) start!: string;
  @ApiProperty({ type: 'integer' }) total!: number;
  @ApiProperty(MONEY) amountByCurrency!: Record<string, number | string>;
}

export class StatsResponse {
  @ApiProperty({ type: 'integer', example: 3 }) total!: number;
  @ApiProperty({
    type: 'object',
    properties: Object.fromEntries(PAYMENT_STATUSES.map((s) => [s, { type: 'integer' }])),
    example: { pending: 2, completed: 1, failed: 0, refunded: 0 },
  })
  byStatus!: Record<string, number>;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'integer' }, example: { EUR: 2, USD: 1 } })
  byCurrency!: Record<string, number>;
  @ApiProperty({ ...MONEY, example: { EUR: 40000, USD: 20000 } }) amountByCurrency!: Record<string, number | string>;
  @ApiProperty({ ...MONEY, example: { EUR: 0, USD: 0 } }) refundedAmountByCurrency!: Record<string, number | string>;
  @ApiPropertyOptional({ type: [StatsBucketResponse], description: 'Only with interval' }) series?: StatsBucketResponse[];
}

export class ImportItemResponse {
  @ApiProperty({ type: 'integer' }) index!: number;
  @ApiProperty({ type: 'string', nullable: true }) paymentId!: string | null;
  @ApiProperty({
    enum: [201, 200, 400, 403, 409, 503, 507],
    description:
      'The status the item would have had alone; 507 is /problems/store-full or /problems/organization-quota-exceeded (error.type); 503 (PostgreSQL mode) /problems/database-unavailable: the item was not stored, send it again',
  })
  status!: number;
  @ApiPropertyOptional({ type: ProblemResponse }) error?: ProblemResponse;
}

export class ImportResponse {
  @ApiProperty({ type: 'integer' }) created!: number;
  @ApiProperty({ type: 'integer' }) replayed!: number;
  @ApiProperty({ type: 'integer' }) failed!: number;
  @ApiProperty({ type: [ImportItemResponse] }) results!: ImportItemResponse[];
}

export class StoreInfoResponse {
  @ApiProperty({ type: 'integer' }) payments!: number;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'integer' },
    description: 'Distinct values per indexed field',
    example: { organizationId: 3, userId: 10, status: 2, currency: 2, amount: 40, createdAt: 40 },
  })
  indexes!: Record<string, number>;
  @ApiProperty({
    type: 'object',
    required: ['payments', 'maxPayments', 'bytes', 'maxBytes'],
    properties: {
      payments: { type: 'integer' },
      maxPayments: { type: 'integer', description: 'MAX_PAYMENTS, or ORG_MAX_PAYMENTS in an organization\'s view' },
      bytes: { type: 'integer', description: 'Estimated bytes of the payments held (see MAX_STORE_BYTES)' },
      maxBytes: { type: 'integer', description: 'MAX_STORE_BYTES, or ORG_MAX_STORE_BYTES in an organization\'s view' },
    },
    description: 'Usage against the limits: the store\'s, or in an organization admin\'s view its quota (past it: 507)',
  })
  capacity!: { payments: number; maxPayments: number; bytes: number; maxBytes: number };
  @ApiPropertyOptional({
    type: 'object',
    properties: { heapUsed: { type: 'integer' }, rss: { type: 'integer' } },
    description: 'The process\'s memory: for the platform operator (and open mode) only, absent from an organization\'s view',
  })
  memory?: { heapUsed: number; rss: number };
}

export class SynchronizeResponse {
  @ApiProperty({ type: 'integer', description: 'Payments reloaded from the primary repository' }) synchronized!: number;
}

export class SyncCheckResponse {
  @ApiProperty() paymentId!: string;
  @ApiProperty({ description: 'The payment\'s organization (paymentIds are unique per organization)' }) organizationId!: string;
  @ApiProperty({ description: 'Memory and the primary repository hold the same payment' }) inSync!: boolean;
  @ApiProperty({ type: [String], description: 'Fields that differ (all of them when one side lacks the payment)' })
  differingFields!: string[];
  @ApiProperty({ type: 'integer', nullable: true, description: 'Version in memory; null when absent' }) memoryVersion!: number | null;
  @ApiProperty({ type: 'integer', nullable: true, description: 'Version in the primary repository; null when absent' })
  primaryVersion!: number | null;
}
