import { FieldError, RequestValidationError } from './errors';
import { CreatePaymentDto } from './payments/create-payment.dto';
import { PaymentEventDto } from './payments/payment-event.dto';
import { PaymentStatsQueryDto, SearchPaymentsQueryDto } from './payments/payment-query.dto';
import { ProblemValidationPipe, validateDto, validateDtoWithDecorators } from './validation.pipe';

const valid = { organizationId: 'org-456', userId: 'user-789', amount: 10_000, currency: 'EUR' };

function fieldsOf(result: ReturnType<typeof validateDto>): string[] {
  if (result.ok) throw new Error('expected the value to be refused');
  return result.errors.map((e) => e.field).sort();
}

function errorsOf(result: ReturnType<typeof validateDto>): FieldError[] {
  if (result.ok) throw new Error('expected the value to be refused');
  return result.errors;
}

function accepted<T extends object>(result: { ok: true; value: T } | { ok: false; errors: FieldError[] }): T {
  if (!result.ok) throw new Error(`expected the value to be accepted, got ${JSON.stringify(result.errors)}`);
  return result.value;
}

describe('validateDto', () => {
  describe('on anything but an object', () => {
    it.each([null, undefined, 'text', 42, true, [valid]])('refuses %j as the body', (value) => {
      expect(errorsOf(validateDto(CreatePaymentDto, value))).toEqual([{ field: 'body', message: 'the body must be a JSON object' }]);
    });

    it('names the query when the query is not an object', () => {
      expect(fieldsOf(validateDto(SearchPaymentsQueryDto, 'x', 'query'))).toEqual(['query']);
    });
  });

  describe('CreatePaymentDto', () => {
    it('accepts a minimal valid body and returns an instance of the DTO', () => {
      const value = accepted(validateDto(CreatePaymentDto, valid));
      expect(value).toBeInstanceOf(CreatePaymentDto);
      expect({ ...value }).toEqual(valid);
    });

    it('accepts every optional field at its limits', () => {
      const metadata = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`.padEnd(40, 'x'), 'v'.repeat(500)]));
      const value = accepted(
        validateDto(CreatePaymentDto, {
          ...valid,
          organizationId: 'o'.repeat(64),
          amount: 99_999_999_999,
          paymentId: 'Pay_0.1:2-3'.padEnd(64, '0'),
          description: 'd'.repeat(1000),
          metadata,
          createdAt: '2026-03-01T12:00:00+01:00',
        }),
      );
      expect(value.amount).toBe(99_999_999_999);
      expect(value.metadata).toEqual(metadata);
    });

    it('normalizes createdAt to the canonical UTC form', () => {
      expect(accepted(validateDto(CreatePaymentDto, { ...valid, createdAt: '2026-03-01T12:00:00+01:00' })).createdAt).toBe(
        '2026-03-01T11:00:00.000Z',
      );
    });

    it('names every missing required field', () => {
      expect(fieldsOf(validateDto(CreatePaymentDto, {}))).toEqual(['amount', 'currency', 'organizationId', 'userId']);
    });

    it('names every bad field of one body at once', () => {
      const fields = fieldsOf(
        validateDto(CreatePaymentDto, {
          organizationId: '',
          userId: 'u'.repeat(65),
          amount: 1.5,
          currency: 'EURO',
          paymentId: 'has space',
          description: 'd'.repeat(1001),
          metadata: { k: 1 },
          createdAt: 'yesterday',
        }),
      );
      expect(fields).toEqual(['amount', 'createdAt', 'currency', 'description', 'metadata', 'organizationId', 'paymentId', 'userId']);
    });

    it.each<[string, Record<string, unknown>]>([
      ['amount', { amount: 0 }],
      ['amount', { amount: -1 }],
      ['amount', { amount: 100_000_000_000 }],
      ['amount', { amount: '100' }],
      ['amount', { amount: 10.5 }],
      ['currency', { currency: 'XXY' }],
      ['currency', { currency: 'eur' }], // the contract asks for upper case: 'eur' would be stored as it is
      ['currency', { currency: 'Usd' }],
      ['currency', { currency: 'EURO' }],
      ['currency', { currency: 978 }],
      ['organizationId', { organizationId: 'o'.repeat(65) }],
      ['organizationId', { organizationId: 7 }],
      ['paymentId', { paymentId: '' }],
      ['paymentId', { paymentId: 'p'.repeat(65) }],
      ['paymentId', { paymentId: 'pay/1' }],
      ['description', { description: 5 }],
      ['metadata', { metadata: 'source=test' }],
      ['metadata', { metadata: ['a'] }],
      ['metadata', { metadata: { '': 'empty key' } }],
      ['metadata', { metadata: { ['k'.repeat(41)]: 'long key' } }],
      ['metadata', { metadata: { k: 'v'.repeat(501) } }],
      ['metadata', { metadata: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])) }],
      ['metadata', { metadata: { nested: { a: 'b' } } }],
      ['createdAt', { createdAt: '2026-03-01T12:00:00' }],
      ['createdAt', { createdAt: '2026-02-30T12:00:00Z' }],
      ['createdAt', { createdAt: 1772366400000 }],
      ['createdAt', { createdAt: new Date(Date.now() + 10 * 60_000).toISOString() }],
    ])('names %s alone when it is bad (case %#)', (field, change) => {
      expect(fieldsOf(validateDto(CreatePaymentDto, { ...valid, ...change }))).toEqual([field]);
    });

    it('accepts a createdAt a little in the future (clock skew) but not past five minutes', () => {
      accepted(validateDto(CreatePaymentDto, { ...valid, createdAt: new Date(Date.now() + 60_000).toISOString() }));
      expect(fieldsOf(validateDto(CreatePaymentDto, { ...valid, createdAt: new Date(Date.now() + 6 * 60_000).toISOString() }))).toEqual([
        'createdAt',
      ]);
    });

    it.each(['status', 'version', 'refundedAmount', 'updatedAt', 'error', 'somethingElse'])(
      'rejects the unknown or server-owned property %s by name',
      (field) => {
        const errors = errorsOf(validateDto(CreatePaymentDto, { ...valid, [field]: 'x' }));
        expect(errors).toEqual([{ field, message: `${field} is not an allowed property` }]);
      },
    );

    it('names an unknown property beside the bad fields', () => {
      expect(fieldsOf(validateDto(CreatePaymentDto, { ...valid, amount: 0, status: 'completed' }))).toEqual(['amount', 'status']);
    });
  });

  describe('PaymentEventDto', () => {
    it('accepts each event type with the data it may carry', () => {
      accepted(validateDto(PaymentEventDto, { type: 'PaymentProcessed' }));
      accepted(validateDto(PaymentEventDto, { type: 'PaymentFailed', data: { error: 'card declined' } }));
      accepted(validateDto(PaymentEventDto, { type: 'PaymentRefunded' }));
      const refund = accepted(
        validateDto(PaymentEventDto, { eventId: 'evt-1', type: 'PaymentRefunded', occurredAt: '2026-03-01T13:00:00+01:00', data: { refundAmount: 500 } }),
      );
      expect(refund.occurredAt).toBe('2026-03-01T12:00:00.000Z');
      expect(refund.data?.refundAmount).toBe(500);
    });

    it.each<[string, Record<string, unknown>]>([
      ['type', { type: 'PaymentCancelled' }],
      ['type', {}],
      ['eventId', { type: 'PaymentProcessed', eventId: '' }],
      ['eventId', { type: 'PaymentProcessed', eventId: 'e'.repeat(65) }],
      ['occurredAt', { type: 'PaymentProcessed', occurredAt: 'now' }],
      ['data', { type: 'PaymentProcessed', data: 'x' }],
      ['data.refundAmount', { type: 'PaymentRefunded', data: { refundAmount: 0 } }],
      ['data.refundAmount', { type: 'PaymentRefunded', data: { refundAmount: 1.5 } }],
      ['data.refundAmount', { type: 'PaymentRefunded', data: { refundAmount: 100_000_000_000 } }],
      ['data.error', { type: 'PaymentFailed', data: { error: '' } }],
      ['data.foo', { type: 'PaymentProcessed', data: { foo: 1 } }],
      ['status', { type: 'PaymentProcessed', status: 'completed' }],
    ])('names %s when it is bad (%j)', (field, body) => {
      expect(fieldsOf(validateDto(PaymentEventDto, body))).toEqual([field]);
    });

    it('says an unknown nested property is not allowed, under its full path', () => {
      expect(errorsOf(validateDto(PaymentEventDto, { type: 'PaymentProcessed', data: { foo: 1 } }))).toEqual([
        { field: 'data.foo', message: 'data.foo is not an allowed property' },
      ]);
    });

    it('requires data.error for PaymentFailed', () => {
      expect(fieldsOf(validateDto(PaymentEventDto, { type: 'PaymentFailed' }))).toEqual(['data.error']);
      expect(fieldsOf(validateDto(PaymentEventDto, { type: 'PaymentFailed', data: {} }))).toEqual(['data.error']);
    });

    it('allows data.error only for PaymentFailed', () => {
      expect(fieldsOf(validateDto(PaymentEventDto, { type: 'PaymentProcessed', data: { error: 'x' } }))).toEqual(['data.error']);
      expect(fieldsOf(validateDto(PaymentEventDto, { type: 'PaymentRefunded', data: { error: 'x' } }))).toEqual(['data.error']);
    });

    it('allows data.refundAmount only for PaymentRefunded', () => {
      expect(fieldsOf(validateDto(PaymentEventDto, { type: 'PaymentProcessed', data: { refundAmount: 5 } }))).toEqual(['data.refundAmount']);
      expect(fieldsOf(validateDto(PaymentEventDto, { type: 'PaymentFailed', data: { error: 'x', refundAmount: 5 } }))).toEqual([
        'data.refundAmount',
      ]);
    });
  });

  describe('SearchPaymentsQueryDto', () => {
    const query = (q: Record<string, unknown>) => validateDto(SearchPaymentsQueryDto, q, 'query');

    it('turns query text into typed filters', () => {
      const value = accepted(
        query({
          organizationId: 'org-1',
          userId: 'u-1',
          status: 'completed, refunded',
          currency: 'EUR,USD',
          minAmount: '100',
          maxAmount: '2000',
          from: '2026-03-01T00:00:00+01:00',
          to: '2026-03-02',
          sort: '-amount',
          page: '2',
          size: '50',
        }),
      );
      expect({ ...value }).toEqual({
        organizationId: 'org-1',
        userId: 'u-1',
        status: ['completed', 'refunded'],
        currency: ['EUR', 'USD'],
        minAmount: 100,
        maxAmount: 2000,
        from: '2026-02-28T23:00:00.000Z',
        to: '2026-03-02T00:00:00.000Z',
        sort: '-amount',
        page: 2,
        size: 50,
      });
    });

    it('accepts an empty query', () => {
      expect({ ...accepted(query({})) }).toEqual({});
    });

    it.each<[string, Record<string, unknown>]>([
      ['status', { status: 'done' }],
      ['status', { status: 'completed,done' }],
      ['status', { status: '' }],
      ['currency', { currency: 'eur' }],
      ['currency', { currency: 'EUR,' }],
      ['minAmount', { minAmount: '-1' }],
      ['minAmount', { minAmount: '1.5' }],
      ['minAmount', { minAmount: '1e3' }],
      ['minAmount', { minAmount: '' }],
      ['maxAmount', { maxAmount: 'lots' }],
      ['maxAmount', { maxAmount: '99999999999999999' }],
      ['from', { from: '2026-03-01T00:00:00' }],
      ['to', { to: 'tomorrow' }],
      ['sort', { sort: 'userId' }],
      ['page', { page: '-1' }],
      ['page', { page: 'first' }],
      ['size', { size: '0' }],
      ['size', { size: '101' }],
      ['cursor', { cursor: '' }],
      ['organizationId', { organizationId: 'o'.repeat(65) }],
    ])('names %s when it is bad (%j)', (field, q) => {
      expect(fieldsOf(query(q))).toEqual([field]);
    });

    it('names every bad parameter at once', () => {
      expect(fieldsOf(query({ status: 'x', size: '0', sort: 'x' }))).toEqual(['size', 'sort', 'status']);
    });

    it('rejects unknown query parameters by name', () => {
      expect(errorsOf(query({ colour: 'red' }))).toEqual([{ field: 'colour', message: 'colour is not an allowed property' }]);
    });

    it('rejects a parameter that is not a list given more than once, naming each', () => {
      expect(errorsOf(query({ status: ['completed', 'failed'], size: ['1', '2'], sort: ['amount', 'amount'], cursor: 'c' }))).toEqual([
        { field: 'size', message: 'size must be given at most once' },
        { field: 'sort', message: 'sort must be given at most once' },
      ]);
    });

    it.each([
      ['repeated', { status: ['completed', 'refunded'], currency: ['EUR', 'USD'] }],
      ['comma-separated', { status: 'completed,refunded', currency: 'EUR,USD' }],
      ['both', { status: ['completed', 'refunded'], currency: ['EUR,USD'] }],
      ['both, mixed within one list', { status: ['completed,refunded'], currency: ['EUR', 'USD'] }],
    ])('takes status and currency as lists: %s', (_, q) => {
      const value = accepted(query({ organizationId: 'org-1', ...q }));
      expect({ ...value }).toEqual({ organizationId: 'org-1', status: ['completed', 'refunded'], currency: ['EUR', 'USD'] });
      expect(validateDtoWithDecorators(SearchPaymentsQueryDto, { organizationId: 'org-1', ...q }, 'query')).toEqual({ ok: true, value });
    });

    it('names a bad item of a repeated list as it names one of a comma-separated list', () => {
      expect(errorsOf(query({ status: ['completed', 'done'] }))).toEqual(errorsOf(query({ status: 'completed,done' })));
      expect(fieldsOf(query({ status: ['completed', ''], currency: ['EUR', 'eur'] }))).toEqual(['currency', 'status']);
    });


    it('refuses maxAmount below minAmount, but allows them equal', () => {
      expect(fieldsOf(query({ minAmount: '200', maxAmount: '100' }))).toEqual(['maxAmount']);
      accepted(query({ minAmount: '100', maxAmount: '100' }));
    });

    it('refuses `to` before `from`, comparing instants, but allows an empty range', () => {
      expect(fieldsOf(query({ from: '2026-03-02T00:00:00Z', to: '2026-03-01T00:00:00Z' }))).toEqual(['to']);
      expect(fieldsOf(query({ from: '2026-03-01T10:00:00Z', to: '2026-03-01T10:30:00+01:00' }))).toEqual(['to']);
      accepted(query({ from: '2026-03-01T00:00:00Z', to: '2026-03-01T00:00:00Z' }));
    });

    it('refuses a cursor together with page', () => {
      expect(fieldsOf(query({ cursor: 'abc', page: '0' }))).toEqual(['cursor']);
      accepted(query({ cursor: 'abc' }));
    });

    it('refuses page * size past 10,000 and allows it at 10,000', () => {
      accepted(query({ page: '100', size: '100' }));
      accepted(query({ page: '500' }));
      expect(fieldsOf(query({ page: '101', size: '100' }))).toEqual(['page']);
      expect(fieldsOf(query({ page: '501' }))).toEqual(['page']);
    });

    it('runs the cross-field checks only once every field is valid', () => {
      expect(fieldsOf(query({ minAmount: '200', maxAmount: '100', size: '0' }))).toEqual(['size']);
    });
  });

  describe('PaymentStatsQueryDto', () => {
    const query = (q: Record<string, unknown>) => validateDto(PaymentStatsQueryDto, q, 'query');

    it('accepts an interval with from and to', () => {
      expect(accepted(query({ interval: 'day', from: '2026-03-01', to: '2026-03-08' })).interval).toBe('day');
    });

    it('requires both from and to for an interval', () => {
      expect(fieldsOf(query({ interval: 'hour' }))).toEqual(['interval']);
      expect(fieldsOf(query({ interval: 'hour', from: '2026-03-01' }))).toEqual(['interval']);
      expect(fieldsOf(query({ interval: 'hour', to: '2026-03-01' }))).toEqual(['interval']);
    });

    it('allows at most 1,000 buckets', () => {
      accepted(query({ interval: 'hour', from: '2026-03-01T00:00:00Z', to: new Date(Date.UTC(2026, 2, 1) + 1000 * 3_600_000).toISOString() }));
      expect(
        fieldsOf(query({ interval: 'hour', from: '2026-03-01T00:00:00Z', to: new Date(Date.UTC(2026, 2, 1) + 1000 * 3_600_000 + 1).toISOString() })),
      ).toEqual(['interval']);
    });

    it('rejects an unknown interval and search-only parameters', () => {
      expect(fieldsOf(query({ interval: 'week', from: '2026-03-01', to: '2026-03-08' }))).toEqual(['interval']);
      expect(fieldsOf(query({ sort: 'amount', page: '1' }))).toEqual(['page', 'sort']);
    });
  });
});

describe('ProblemValidationPipe', () => {
  const pipe = new ProblemValidationPipe();

  it('returns the validated DTO instance of a body', () => {
    const value = pipe.transform(valid, { type: 'body', metatype: CreatePaymentDto });
    expect(value).toBeInstanceOf(CreatePaymentDto);
  });

  it('throws a RequestValidationError naming every bad field', () => {
    let thrown: unknown;
    try {
      pipe.transform({ ...valid, amount: 0, currency: 'x' }, { type: 'body', metatype: CreatePaymentDto });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(RequestValidationError);
    const err = thrown as RequestValidationError;
    expect(err.status).toBe(400);
    expect(err.code).toBe('VALIDATION_FAILED');
    expect(err.errors?.map((e) => e.field).sort()).toEqual(['amount', 'currency']);
  });

  it('validates queries as queries, refusing repeated parameters', () => {
    expect(() => pipe.transform({ size: ['1', '2'] }, { type: 'query', metatype: SearchPaymentsQueryDto })).toThrow(RequestValidationError);
  });

  it('passes route parameters and primitive types through untouched', () => {
    expect(pipe.transform('pay_1', { type: 'param', metatype: String })).toBe('pay_1');
    expect(pipe.transform('x', { type: 'body', metatype: String })).toBe('x');
    const raw = { anything: 1 };
    expect(pipe.transform(raw, { type: 'body', metatype: Object })).toBe(raw);
  });
});

describe('validateDto with objects where scalars are declared (found by the fuzz suite)', () => {
  it.each([
    [PaymentEventDto, { type: { constructor: true } }, 'type'],
    [PaymentEventDto, { type: 'PaymentFailed', data: { error: { constructor: 1 } } }, 'data.error'],
    [PaymentEventDto, { type: 'PaymentProcessed', occurredAt: { toString: 'x' } }, 'occurredAt'],
    [CreatePaymentDto, { organizationId: { constructor: 1 }, userId: 'u', amount: 5, currency: 'EUR' }, 'organizationId'],
    [CreatePaymentDto, { organizationId: 'o', userId: ['u'], amount: 5, currency: 'EUR' }, 'userId'],
  ] as const)('%p %j is refused naming %s, never thrown', (cls, body, field) => {
    const result = validateDto(cls as new () => object, body);
    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.errors.map((e) => e.field)).toContain(field);
  });

  it('keeps metadata keys that name Object.prototype methods as sent', () => {
    const result = validateDto(CreatePaymentDto, {
      organizationId: 'o',
      userId: 'u',
      amount: 5,
      currency: 'EUR',
      metadata: { toString: 'a', valueOf: 'b' },
    });
    expect(result.ok && result.value.metadata).toEqual({ toString: 'a', valueOf: 'b' });
  });
});
