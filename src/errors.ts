/**
 * The one error catalogue. Handlers and pipes throw an `AppError` (or a subclass) carrying a
 * code from here; `toProblem` (problem.filter.ts) is the one function that turns one into a
 * body (RFC 9457 problem details): every problem+json answer (ProblemFilter's and the hooks'),
 * a bulk item's `error`, a dead-lettered message's `x-problem`. Adding an error means adding a
 * line here.
 */
export const ERROR_CATALOGUE = {
  VALIDATION_FAILED: { status: 400, title: 'Your request is not valid' },
  MALFORMED_JSON: { status: 400, title: 'The request body is not valid JSON' },
  BAD_REQUEST: { status: 400, title: 'Bad request' },
  UNKNOWN_MESSAGE_TYPE: { status: 400, title: 'The message type is not one this service accepts' },
  UNAUTHORIZED: { status: 401, title: 'A valid bearer token is required' },
  MISSING_SCOPE: { status: 403, title: 'The token lacks the scope this route needs' },
  ORGANIZATION_FORBIDDEN: { status: 403, title: 'The token does not act for this organization' },
  PAYMENT_NOT_FOUND: { status: 404, title: 'Payment not found' },
  ROUTE_NOT_FOUND: { status: 404, title: 'Route not found' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed' },
  REQUEST_TIMEOUT: { status: 408, title: 'The request was not received in time' },
  PAYMENT_ID_CONFLICT: { status: 409, title: 'A different payment already has this paymentId' },
  PAYMENT_ID_AMBIGUOUS: { status: 409, title: 'Several organizations have a payment with this paymentId; name the organizationId' },
  INVALID_TRANSITION: { status: 409, title: 'This event is not allowed in the payment\'s current status' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'The request body is too large' },
  URI_TOO_LONG: { status: 414, title: 'The request URL is too long' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'The request body must be application/json' },
  REFUND_EXCEEDS_AMOUNT: { status: 422, title: 'The refund exceeds what remains of the payment' },
  RATE_LIMITED: { status: 429, title: 'Too many requests' },
  TOO_MANY_STREAMS: { status: 429, title: 'This caller has as many live stats streams open as it may' },
  HEADERS_TOO_LARGE: { status: 431, title: 'The request headers are too large' },
  STORE_FULL: { status: 507, title: 'The payment store is full' },
  ORGANIZATION_QUOTA_EXCEEDED: { status: 507, title: 'The organization holds as much as its quota allows' },
  SERVICE_UNAVAILABLE: { status: 503, title: 'The service is unavailable' },
  DATABASE_UNAVAILABLE: { status: 503, title: 'The primary repository is unreachable; nothing was acknowledged' },
  STORE_LOADING: { status: 503, title: 'The store is still loading from the primary repository' },
  OVERLOADED: { status: 503, title: 'The service is overloaded; retry later' },
  STREAMS_FULL: { status: 503, title: 'The service has as many live stats streams open as it holds' },
  INTERNAL_ERROR: { status: 500, title: 'Internal server error' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export interface FieldError {
  field: string;
  message: string;
}

/** The `type` URI of a problem: a relative reference, documented in the README's catalogue. */
export function problemType(code: ErrorCode): string {
  return `/problems/${code.toLowerCase().replace(/_/g, '-')}`;
}

export class AppError extends Error {
  readonly status: number;
  readonly title: string;

  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    readonly errors?: FieldError[],
    /** Response headers that belong to the error (WWW-Authenticate, Retry-After). */
    readonly headers?: Record<string, string>,
  ) {
    super(detail);
    this.name = new.target.name;
    this.status = ERROR_CATALOGUE[code].status;
    this.title = ERROR_CATALOGUE[code].title;
  }
}

export class RequestValidationError extends AppError {
  constructor(errors: FieldError[]) {
    super(
      'VALIDATION_FAILED',
      `Invalid ${errors.map((e) => e.field).join(', ')}: ${errors.map((e) => e.message).join('; ')}`,
      errors,
    );
  }

  static field(field: string, message: string): RequestValidationError {
    return new RequestValidationError([{ field, message }]);
  }
}

export class PaymentNotFoundError extends AppError {
  constructor(paymentId: string) {
    super('PAYMENT_NOT_FOUND', `No payment with paymentId '${paymentId}'`);
  }
}

/** Open mode only: a paymentId without organizationId that several organizations use. */
export class PaymentIdAmbiguousError extends AppError {
  constructor(paymentId: string, organizations: number) {
    super(
      'PAYMENT_ID_AMBIGUOUS',
      `${organizations} organizations have a payment '${paymentId}' (paymentIds are unique per organization); add ?organizationId= to name one`,
      [{ field: 'organizationId', message: 'required: the paymentId alone names payments of several organizations' }],
    );
  }
}

export class PaymentIdConflictError extends AppError {
  constructor(paymentId: string, fields: string[]) {
    super(
      'PAYMENT_ID_CONFLICT',
      `Payment '${paymentId}' already exists with different ${fields.join(', ')}; a retry must repeat the same fields`,
    );
  }
}

export class InvalidTransitionError extends AppError {
  constructor(eventType: string, currentStatus: string) {
    super('INVALID_TRANSITION', `${eventType} is not allowed: the payment's current status is ${currentStatus}`);
  }
}

export class RefundExceedsAmountError extends AppError {
  constructor(requested: number, remaining: number) {
    super(
      'REFUND_EXCEEDS_AMOUNT',
      remaining === 0
        ? 'Nothing remains to refund: the payment is fully refunded'
        : `A refund of ${requested} exceeds the ${remaining} that remains to refund`,
    );
  }
}

export class StoreFullError extends AppError {
  /** `limit`: what is full, e.g. '5000000 payments (MAX_PAYMENTS)'. */
  constructor(limit: string) {
    super('STORE_FULL', `The store holds its maximum of ${limit}; nothing was stored`);
  }
}

/** A create past its organization's share of the store (ORG_MAX_PAYMENTS, ORG_MAX_STORE_BYTES). */
export class OrganizationQuotaExceededError extends AppError {
  constructor(organizationId: string, quota: string) {
    super('ORGANIZATION_QUOTA_EXCEEDED', `Organization '${organizationId}' holds its quota of ${quota}; nothing was stored`);
  }
}

export class DatabaseUnavailableError extends AppError {
  constructor(reason: string, consequence = 'The write was not acknowledged; retrying it with the same paymentId or eventId is safe') {
    super(
      'DATABASE_UNAVAILABLE',
      `PostgreSQL could not be reached or cannot serve now (${reason}). ${consequence}`,
      undefined,
      { 'Retry-After': '1' },
    );
  }
}

export class StoreLoadingError extends AppError {
  constructor() {
    super('STORE_LOADING', 'The in-memory store is loading from PostgreSQL; retry in a moment', undefined, { 'Retry-After': '1' });
  }
}

export class UnauthorizedError extends AppError {
  constructor(detail: string) {
    super('UNAUTHORIZED', detail, undefined, { 'WWW-Authenticate': 'Bearer realm="payments", error="invalid_token"' });
  }
}

export class DuplicateHeaderError extends AppError {
  constructor(header: string, times: number) {
    super('BAD_REQUEST', `The ${header} header is sent ${times} times; send it once`);
  }
}

export class MissingScopeError extends AppError {
  constructor(scope: string) {
    super('MISSING_SCOPE', `This route needs a token with the '${scope}' scope`);
  }
}

export class OrganizationForbiddenError extends AppError {
  constructor(field: string) {
    super('ORGANIZATION_FORBIDDEN', `${field} must be the token's own organization (or omitted)`);
  }
}

export class RateLimitedError extends AppError {
  constructor(retryAfterSeconds: number) {
    super('RATE_LIMITED', `Too many requests; retry in ${retryAfterSeconds} s`, undefined, {
      'Retry-After': String(retryAfterSeconds),
    });
  }
}

/** A live stats stream is long-lived: a slot frees when a client goes, which no one can foresee. */
const STREAM_RETRY_AFTER_SECONDS = '5';

export class TooManyStreamsError extends AppError {
  constructor(perCaller: number) {
    super('TOO_MANY_STREAMS', `This caller has ${perCaller} live stats streams open, its most; close one or retry later`, undefined, {
      'Retry-After': STREAM_RETRY_AFTER_SECONDS,
    });
  }
}

export class StreamsFullError extends AppError {
  constructor(max: number) {
    super('STREAMS_FULL', `The service has ${max} live stats streams open, its most; retry later`, undefined, {
      'Retry-After': STREAM_RETRY_AFTER_SECONDS,
    });
  }
}
