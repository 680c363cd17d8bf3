import { AppError } from '../errors';
import { createPayment } from '../payments/payment';
import { outboundEventId, outboundMessage, parseInbound, Parsed } from './cloud-events';

const envelope = (overrides: Record<string, unknown> = {}) => ({ specversion: '1.0', id: 'ce-1', source: '/processor', ...overrides });
const read = (value: unknown): Parsed => parseInbound(Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)));
const body = { organizationId: 'org_a', userId: 'user_1', amount: 1000, currency: 'EUR' };

function refusal(parsed: Parsed): { code: string; fields: string[] } {
  if (parsed.ok) throw new Error(`accepted: ${JSON.stringify(parsed.message)}`);
  expect(parsed.error).toBeInstanceOf(AppError);
  return { code: parsed.error.code, fields: (parsed.error.errors ?? []).map((e) => e.field) };
}

describe('parseInbound', () => {
  it('reads a CreatePayment with the paymentId from subject', () => {
    const parsed = read(envelope({ type: 'CreatePayment', subject: 'pay_1', data: body }));
    expect(parsed).toEqual({ ok: true, message: { kind: 'create', id: 'ce-1', type: 'CreatePayment', paymentId: 'pay_1', input: expect.objectContaining({ ...body, paymentId: 'pay_1' }) } });
  });

  it('takes the paymentId from data when there is no subject, and refuses one that disagrees with it', () => {
    expect(read(envelope({ type: 'CreatePayment', data: { ...body, paymentId: 'pay_2' } }))).toMatchObject({ ok: true, message: { paymentId: 'pay_2' } });
    expect(refusal(read(envelope({ type: 'CreatePayment', subject: 'pay_1', data: { ...body, paymentId: 'pay_2' } })))).toEqual({ code: 'VALIDATION_FAILED', fields: ['paymentId'] });
  });

  it('requires a paymentId: a create without one could not be recognised when redelivered', () => {
    expect(refusal(read(envelope({ type: 'CreatePayment', data: body })))).toEqual({ code: 'VALIDATION_FAILED', fields: ['subject'] });
  });

  it('validates the data with the HTTP body rules, naming the field', () => {
    expect(refusal(read(envelope({ type: 'CreatePayment', subject: 'pay_1', data: { ...body, amount: -1 } })))).toEqual({ code: 'VALIDATION_FAILED', fields: ['amount'] });
    expect(refusal(read(envelope({ type: 'CreatePayment', subject: 'pay_1', data: { ...body, currency: 'euro' } })))).toEqual({ code: 'VALIDATION_FAILED', fields: ['currency'] });
    expect(refusal(read(envelope({ type: 'CreatePayment', subject: 'search', data: body })))).toEqual({ code: 'VALIDATION_FAILED', fields: ['paymentId'] });
    expect(refusal(read(envelope({ type: 'CreatePayment', subject: 'pay_1', data: [] })))).toEqual({ code: 'VALIDATION_FAILED', fields: ['data'] });
  });

  it('refuses an organizationid extension that differs from the data organizationId', () => {
    expect(refusal(read(envelope({ type: 'CreatePayment', subject: 'pay_1', organizationid: 'org_b', data: body })))).toEqual({ code: 'VALIDATION_FAILED', fields: ['organizationid'] });
    expect(read(envelope({ type: 'CreatePayment', subject: 'pay_1', organizationid: 'org_a', data: body })).ok).toBe(true);
  });

  it('reads a lifecycle event: the eventId defaults to the CloudEvent id, occurredAt to its time', () => {
    const parsed = read(envelope({ type: 'PaymentRefunded', subject: 'pay_1', organizationid: 'org_a', time: '2026-01-02T03:04:05.000Z', data: { data: { refundAmount: 5 } } }));
    expect(parsed).toEqual({
      ok: true,
      message: {
        kind: 'event',
        id: 'ce-1',
        type: 'PaymentRefunded',
        paymentId: 'pay_1',
        organizationId: 'org_a',
        eventId: 'ce-1',
        event: { type: 'PaymentRefunded', occurredAt: '2026-01-02T03:04:05.000Z', error: undefined, refundAmount: 5 },
      },
    });
    const own = read(envelope({ type: 'PaymentProcessed', subject: 'pay_1', data: { eventId: 'evt-9', occurredAt: '2026-01-01T00:00:00Z' } }));
    expect(own).toMatchObject({ ok: true, message: { eventId: 'evt-9', organizationId: undefined, event: { occurredAt: '2026-01-01T00:00:00.000Z' } } });
  });

  it('applies the event body rules: data.error only and always for PaymentFailed, a type that agrees', () => {
    expect(refusal(read(envelope({ type: 'PaymentFailed', subject: 'pay_1', data: {} })))).toEqual({ code: 'VALIDATION_FAILED', fields: ['data.error'] });
    expect(refusal(read(envelope({ type: 'PaymentProcessed', subject: 'pay_1', data: { data: { refundAmount: 1 } } })))).toEqual({ code: 'VALIDATION_FAILED', fields: ['data.refundAmount'] });
    expect(refusal(read(envelope({ type: 'PaymentProcessed', subject: 'pay_1', data: { type: 'PaymentFailed' } })))).toEqual({ code: 'VALIDATION_FAILED', fields: ['type'] });
    expect(refusal(read(envelope({ type: 'PaymentProcessed', subject: 'x'.repeat(65), data: {} })))).toEqual({ code: 'VALIDATION_FAILED', fields: ['paymentId'] });
  });

  it('refuses what is not a CloudEvent 1.0, naming the attributes', () => {
    expect(refusal(read('{"specversion":'))).toEqual({ code: 'MALFORMED_JSON', fields: [] });
    expect(refusal(read('{"__proto__": {"x": 1}}'))).toEqual({ code: 'MALFORMED_JSON', fields: [] });
    expect(refusal(read([1, 2]))).toEqual({ code: 'VALIDATION_FAILED', fields: ['specversion'] });
    expect(refusal(read({ type: 'CreatePayment', data: body }))).toEqual({ code: 'VALIDATION_FAILED', fields: ['specversion', 'id', 'source'] });
    expect(refusal(read(envelope({ specversion: '0.3', type: 'CreatePayment', subject: 'p' })))).toEqual({ code: 'VALIDATION_FAILED', fields: ['specversion'] });
    expect(refusal(read(envelope({ type: 'CreatePayment', subject: '', data: body })))).toEqual({ code: 'VALIDATION_FAILED', fields: ['subject'] });
    expect(refusal(read(envelope({ type: 'CreatePayment', subject: 'p', datacontenttype: 'text/plain', data: body })))).toEqual({ code: 'VALIDATION_FAILED', fields: ['datacontenttype'] });
  });

  it('refuses an unknown type, naming it', () => {
    const refused = read(envelope({ type: 'PaymentCaptured', subject: 'pay_1', data: {} }));
    expect(refusal(refused)).toEqual({ code: 'UNKNOWN_MESSAGE_TYPE', fields: ['type'] });
    expect(refused).toMatchObject({ type: 'PaymentCaptured' });
  });

  it('refuses data nested deeper than the limit', () => {
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 40; i++) deep = { d: deep };
    expect(refusal(read(envelope({ type: 'CreatePayment', subject: 'pay_1', data: { ...body, metadata: deep } })))).toEqual({ code: 'VALIDATION_FAILED', fields: ['data'] });
  });

  it('reads the distributed-tracing extension (traceparent, tracestate) of a create and of an event', () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const create = read(envelope({ type: 'CreatePayment', subject: 'pay_1', traceparent, tracestate: 'vendor=1', data: body }));
    expect(create).toMatchObject({ ok: true, message: { trace: { traceparent, tracestate: 'vendor=1' } } });
    const event = read(envelope({ type: 'PaymentProcessed', subject: 'pay_1', traceparent, data: {} }));
    expect(event).toMatchObject({ ok: true, message: { kind: 'event', trace: { traceparent } } });
    expect(event.ok && event.message.trace).toEqual({ traceparent });
    // absent, or not a string: no trace (the message is still handled)
    expect(read(envelope({ type: 'PaymentProcessed', subject: 'pay_1', data: {} }))).toMatchObject({ ok: true, message: { trace: undefined } });
    expect(read(envelope({ type: 'PaymentProcessed', subject: 'pay_1', traceparent: 7, data: {} }))).toMatchObject({ ok: true, message: { trace: undefined } });
  });
});

describe('outboundMessage', () => {
  const payment = createPayment({ ...body, organizationId: 'org/a b' }, 'pay:1/x', '2026-03-04T05:06:07.000Z');

  it('publishes the payment after the change as a CloudEvent whose id is stable per version', () => {
    const message = outboundMessage('PaymentCreated', payment, '/payments-service');
    expect(message.id).toBe('org%2Fa%20b/pay%3A1%2Fx/1');
    expect(outboundMessage('PaymentCreated', payment, '/payments-service')).toEqual(message); // the same when sent again
    expect(JSON.parse(message.body)).toEqual({
      specversion: '1.0',
      id: message.id,
      source: '/payments-service',
      type: 'PaymentCreated',
      subject: 'pay:1/x',
      time: payment.updatedAt,
      datacontenttype: 'application/json',
      organizationid: 'org/a b',
      data: payment,
    });
  });

  it('carries the trace of the change in the distributed-tracing extension, and nothing without one', () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const traced = JSON.parse(outboundMessage('PaymentCreated', payment, '/s', { traceparent, tracestate: 'vendor=1' }).body);
    expect(traced).toMatchObject({ traceparent, tracestate: 'vendor=1', data: payment });
    expect(JSON.parse(outboundMessage('PaymentCreated', payment, '/s', { traceparent }).body)).not.toHaveProperty('tracestate');
    expect(JSON.parse(outboundMessage('PaymentCreated', payment, '/s').body)).not.toHaveProperty('traceparent');
  });

  it('gives two organizations with the same paymentId different ids', () => {
    const other = createPayment({ ...body, organizationId: 'org' }, 'a/b', '2026-03-04T05:06:07.000Z');
    const same = createPayment({ ...body, organizationId: 'org/a' }, 'b', '2026-03-04T05:06:07.000Z');
    expect(outboundEventId(other)).not.toBe(outboundEventId(same));
  });
});
