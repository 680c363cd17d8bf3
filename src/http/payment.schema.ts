/**
 * The JSON schema of a payment answer, for Fastify's response serializer (fast-json-stringify):
 * the fields of `Payment` in the order `createPayment()` writes them, so an answer is the same
 * bytes JSON.stringify would give (payment.schema.spec.ts checks it on generated payments).
 * Numbers are `number`, not `integer`: fast-json-stringify would truncate a fraction silently.
 */
const nullableString = { type: ['string', 'null'] } as const;

export const PAYMENT_SCHEMA = {
  type: 'object',
  properties: {
    paymentId: { type: 'string' },
    organizationId: { type: 'string' },
    userId: { type: 'string' },
    amount: { type: 'number' },
    currency: { type: 'string' },
    status: { type: 'string' },
    description: nullableString,
    metadata: { type: 'object', additionalProperties: { type: 'string' } },
    refundedAmount: { type: 'number' },
    error: nullableString,
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
    completedAt: nullableString,
    failedAt: nullableString,
    refundedAt: nullableString,
    version: { type: 'number' },
  },
} as const;

/** The fields the schema serializes: a payment holding any other field must not use it. */
export const PAYMENT_FIELDS: readonly string[] = Object.keys(PAYMENT_SCHEMA.properties);

/** A search answer (SearchPaymentsHandler's SearchResult): one page of payments and where it is. */
export const SEARCH_RESULT_SCHEMA = {
  type: 'object',
  properties: {
    items: { type: 'array', items: PAYMENT_SCHEMA },
    total: { type: 'number' },
    page: { type: 'number' },
    size: { type: 'number' },
    nextCursor: nullableString,
  },
} as const;
