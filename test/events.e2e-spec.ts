import request from 'supertest';
import {
  applyEvent,
  Body,
  createPayment,
  expectInvalidFields,
  expectProblem,
  expectStatus,
  getPayment,
  ISO_UTC,
  moveTo,
  Payment,
  PaymentStatus,
  paymentPath,
  sendEvent,
  uniqueId,
  withoutKeys,
} from './e2e-helpers';
import { startTestApp, TestApp } from './test-app';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});

afterAll(async () => {
  await t.close();
});

/** A payment with every optional field set, so "nothing else changed" is a strong check. */
function newPayment(amount = 1000): Promise<Payment> {
  return createPayment(t.url, {
    amount,
    description: 'Order 42',
    metadata: { source: 'test', order: '42' },
    createdAt: '2026-03-01T12:00:00.000Z',
  });
}

/** The payment after an event equals the one before except in `changed`, updatedAt and version + 1. */
function expectOnlyChanged(before: Payment, after: Payment, changed: string[]): void {
  const moving = [...changed, 'updatedAt', 'version'];
  expect(withoutKeys(after, moving)).toEqual(withoutKeys(before, moving));
  expect(after.version).toBe(before.version + 1);
  expect(after.updatedAt).toMatch(ISO_UTC);
  expect(Date.parse(after.updatedAt)).toBeGreaterThanOrEqual(Date.parse(before.updatedAt));
}

describe('PaymentProcessed', () => {
  it('completes a pending payment, records occurredAt as completedAt and changes nothing else', async () => {
    const before = await newPayment();

    const res = await sendEvent(t.url, before.paymentId, { type: 'PaymentProcessed', occurredAt: '2026-03-01T12:05:00.000Z' });

    expectStatus(res, 200);
    expect(res.body).toMatchObject({ status: 'completed', completedAt: '2026-03-01T12:05:00.000Z', version: 2 });
    expectOnlyChanged(before, res.body, ['status', 'completedAt']);
    expect(await getPayment(t.url, before.paymentId)).toEqual(res.body);
  });

  it('records now as completedAt when occurredAt is absent', async () => {
    const { paymentId } = await newPayment();
    const from = Date.now();

    const after = await applyEvent(t.url, paymentId, { type: 'PaymentProcessed' });

    expect(after.completedAt).toMatch(ISO_UTC);
    expect(Date.parse(after.completedAt as string)).toBeGreaterThanOrEqual(from - 5);
    expect(Date.parse(after.completedAt as string)).toBeLessThanOrEqual(Date.now() + 5);
  });

  it('records occurredAt in UTC when it is given with an offset', async () => {
    const { paymentId } = await newPayment();

    const after = await applyEvent(t.url, paymentId, { type: 'PaymentProcessed', occurredAt: '2026-03-01T14:00:00+02:00' });

    expect(after.completedAt).toBe('2026-03-01T12:00:00.000Z');
  });
});

describe('PaymentFailed', () => {
  it('fails a pending payment with data.error, records failedAt and changes nothing else', async () => {
    const before = await newPayment();

    const res = await sendEvent(t.url, before.paymentId, {
      type: 'PaymentFailed',
      occurredAt: '2026-03-01T12:06:00.000Z',
      data: { error: 'card declined' },
    });

    expectStatus(res, 200);
    expect(res.body).toMatchObject({ status: 'failed', error: 'card declined', failedAt: '2026-03-01T12:06:00.000Z', version: 2 });
    expectOnlyChanged(before, res.body, ['status', 'error', 'failedAt']);
    expect(await getPayment(t.url, before.paymentId)).toEqual(res.body);
  });
});

describe('PaymentRefunded', () => {
  it('refunds part of a completed payment, records refundedAt and changes nothing else', async () => {
    const { paymentId } = await newPayment(1000);
    const before = await applyEvent(t.url, paymentId, { type: 'PaymentProcessed', occurredAt: '2026-03-01T12:05:00.000Z' });

    const res = await sendEvent(t.url, paymentId, {
      type: 'PaymentRefunded',
      occurredAt: '2026-03-02T09:00:00.000Z',
      data: { refundAmount: 300 },
    });

    expectStatus(res, 200);
    expect(res.body).toMatchObject({ status: 'refunded', refundedAmount: 300, refundedAt: '2026-03-02T09:00:00.000Z', version: 3 });
    expectOnlyChanged(before, res.body, ['status', 'refundedAmount', 'refundedAt']);
  });

  it('adds further partial refunds of a refunded payment, one version each', async () => {
    const { paymentId } = await newPayment(1000);
    await moveTo(t.url, paymentId, 'completed');
    const first = await applyEvent(t.url, paymentId, { type: 'PaymentRefunded', data: { refundAmount: 300 } });

    const second = await applyEvent(t.url, paymentId, {
      type: 'PaymentRefunded',
      occurredAt: '2026-03-03T10:00:00.000Z',
      data: { refundAmount: 200 },
    });

    expect(second).toMatchObject({ status: 'refunded', refundedAmount: 500, refundedAt: '2026-03-03T10:00:00.000Z' });
    expectOnlyChanged(first, second, ['refundedAmount', 'refundedAt']);
  });

  it('refunds all of a completed payment when refundAmount is absent', async () => {
    const { paymentId } = await newPayment(1000);
    await moveTo(t.url, paymentId, 'completed');

    const after = await applyEvent(t.url, paymentId, { type: 'PaymentRefunded' });

    expect(after).toMatchObject({ status: 'refunded', refundedAmount: 1000 });
  });

  it('refunds all that remains of a partly refunded payment when refundAmount is absent', async () => {
    const { paymentId } = await newPayment(1000);
    await moveTo(t.url, paymentId, 'completed');
    await applyEvent(t.url, paymentId, { type: 'PaymentRefunded', data: { refundAmount: 350 } });

    const after = await applyEvent(t.url, paymentId, { type: 'PaymentRefunded', data: {} });

    expect(after).toMatchObject({ status: 'refunded', refundedAmount: 1000 });
  });

  it('accepts a refund of exactly what remains', async () => {
    const { paymentId } = await newPayment(1000);
    await moveTo(t.url, paymentId, 'completed');
    await applyEvent(t.url, paymentId, { type: 'PaymentRefunded', data: { refundAmount: 600 } });

    const after = await applyEvent(t.url, paymentId, { type: 'PaymentRefunded', data: { refundAmount: 400 } });

    expect(after.refundedAmount).toBe(1000);
  });

  it.each<[string, number[], number]>([
    ['more than the amount of a completed payment', [], 1001],
    ['more than what remains after a partial refund', [600], 401],
    ['anything once the payment is fully refunded', [1000], 1],
  ])('answers 422 and changes nothing for a refund of %s', async (_case, earlier, refundAmount) => {
    const { paymentId } = await newPayment(1000);
    await moveTo(t.url, paymentId, 'completed');
    for (const amount of earlier) await applyEvent(t.url, paymentId, { type: 'PaymentRefunded', data: { refundAmount: amount } });
    const before = await getPayment(t.url, paymentId);

    const res = await sendEvent(t.url, paymentId, { type: 'PaymentRefunded', data: { refundAmount } });

    expectProblem(res, 422);
    expect(await getPayment(t.url, paymentId)).toEqual(before);
  });
});

describe('a transition not in the lifecycle table', () => {
  it.each<[PaymentStatus, string]>([
    ['pending', 'PaymentRefunded'],
    ['completed', 'PaymentProcessed'],
    ['completed', 'PaymentFailed'],
    ['failed', 'PaymentProcessed'],
    ['failed', 'PaymentFailed'],
    ['failed', 'PaymentRefunded'],
    ['refunded', 'PaymentProcessed'],
    ['refunded', 'PaymentFailed'],
  ])('answers 409 naming the current status (%s) for %s and changes nothing', async (status, type) => {
    const { paymentId } = await newPayment();
    const before = await moveTo(t.url, paymentId, status);
    const event: Body = type === 'PaymentFailed' ? { type, data: { error: 'late failure' } } : { type };

    const res = await sendEvent(t.url, paymentId, event);

    expectProblem(res, 409);
    expect(res.body.detail).toContain(status);
    expect(await getPayment(t.url, paymentId)).toEqual(before);
  });
});

describe('a repeated eventId', () => {
  it('answers 200 with the payment unchanged when the same event is delivered again', async () => {
    const { paymentId } = await newPayment();
    const first = await applyEvent(t.url, paymentId, { eventId: 'evt-processed', type: 'PaymentProcessed' });

    const again = await sendEvent(t.url, paymentId, { eventId: 'evt-processed', type: 'PaymentProcessed' });

    expectStatus(again, 200);
    expect(again.body).toEqual(first);
    expect(again.body.version).toBe(2);
    expect(await getPayment(t.url, paymentId)).toEqual(first);
  });

  it('does not refund twice when a refund is delivered twice', async () => {
    const { paymentId } = await newPayment(1000);
    await moveTo(t.url, paymentId, 'completed');
    const first = await applyEvent(t.url, paymentId, { eventId: 'evt-refund-1', type: 'PaymentRefunded', data: { refundAmount: 100 } });

    const again = await sendEvent(t.url, paymentId, { eventId: 'evt-refund-1', type: 'PaymentRefunded', data: { refundAmount: 100 } });

    expectStatus(again, 200);
    expect(again.body).toEqual(first);
    expect(again.body.refundedAmount).toBe(100);
  });

  it('answers with the current payment when an old event is delivered again after later ones', async () => {
    const { paymentId } = await newPayment(1000);
    await applyEvent(t.url, paymentId, { eventId: 'evt-a', type: 'PaymentProcessed' });
    const current = await applyEvent(t.url, paymentId, { eventId: 'evt-b', type: 'PaymentRefunded', data: { refundAmount: 10 } });

    const again = await sendEvent(t.url, paymentId, { eventId: 'evt-a', type: 'PaymentProcessed' });

    expectStatus(again, 200);
    expect(again.body).toEqual(current);
    expect(again.body).toMatchObject({ status: 'refunded', version: 3 });
  });

  it('applies the same eventId to another payment: ids are scoped to one payment', async () => {
    const eventId = uniqueId('evt');
    const a = await newPayment();
    const b = await newPayment();
    await applyEvent(t.url, a.paymentId, { eventId, type: 'PaymentProcessed' });

    const res = await sendEvent(t.url, b.paymentId, { eventId, type: 'PaymentProcessed' });

    expectStatus(res, 200);
    expect(res.body).toMatchObject({ status: 'completed', version: 2 });
  });

  it('applies distinct eventIds each once, the version growing by one per event', async () => {
    const { paymentId } = await newPayment(1000);

    const versions: number[] = [];
    for (const event of [
      { eventId: 'e1', type: 'PaymentProcessed' },
      { eventId: 'e2', type: 'PaymentRefunded', data: { refundAmount: 100 } },
      { eventId: 'e3', type: 'PaymentRefunded', data: { refundAmount: 100 } },
      { eventId: 'e2', type: 'PaymentRefunded', data: { refundAmount: 100 } },
    ]) {
      versions.push((await applyEvent(t.url, paymentId, event)).version);
    }

    expect(versions).toEqual([2, 3, 4, 4]);
    expect((await getPayment(t.url, paymentId)).refundedAmount).toBe(200);
  });
});

describe('POST /payments/:id/events errors', () => {
  it('answers 404 for an unknown payment', async () => {
    const res = await sendEvent(t.url, uniqueId('missing'), { type: 'PaymentProcessed' });

    expectProblem(res, 404);
  });

  it.each<[string, Body, string]>([
    ['type is unknown', { type: 'PaymentCaptured' }, 'type'],
    ['type is missing', { occurredAt: '2026-03-01T12:00:00.000Z' }, 'type'],
    ['type is lower case', { type: 'paymentprocessed' }, 'type'],
    ['occurredAt is not a date', { type: 'PaymentProcessed', occurredAt: 'now' }, 'occurredAt'],
    ['occurredAt is 2026-02-30', { type: 'PaymentProcessed', occurredAt: '2026-02-30T00:00:00Z' }, 'occurredAt'],
    ['eventId is empty', { type: 'PaymentProcessed', eventId: '' }, 'eventId'],
    ['eventId has 65 chars', { type: 'PaymentProcessed', eventId: 'e'.repeat(65) }, 'eventId'],
    ['eventId is a number', { type: 'PaymentProcessed', eventId: 7 }, 'eventId'],
    ['an unknown property is present', { type: 'PaymentProcessed', status: 'completed' }, 'status'],
    ['data is not an object', { type: 'PaymentProcessed', data: 'x' }, 'data'],
  ])('answers 400 naming the field when %s, and changes nothing', async (_case, event, field) => {
    const before = await newPayment();

    const res = await sendEvent(t.url, before.paymentId, event);

    expectInvalidFields(res, [field]);
    expect(await getPayment(t.url, before.paymentId)).toEqual(before);
  });

  it.each<[string, PaymentStatus, Body, RegExp]>([
    ['PaymentFailed has no data.error', 'pending', { type: 'PaymentFailed' }, /error/],
    ['PaymentFailed has data without error', 'pending', { type: 'PaymentFailed', data: {} }, /error/],
    ['refundAmount is 0', 'completed', { type: 'PaymentRefunded', data: { refundAmount: 0 } }, /refundAmount/],
    ['refundAmount is negative', 'completed', { type: 'PaymentRefunded', data: { refundAmount: -5 } }, /refundAmount/],
    ['refundAmount is 1.5', 'completed', { type: 'PaymentRefunded', data: { refundAmount: 1.5 } }, /refundAmount/],
    ['refundAmount is a string', 'completed', { type: 'PaymentRefunded', data: { refundAmount: '100' } }, /refundAmount/],
    ['data holds an unknown property', 'completed', { type: 'PaymentRefunded', data: { reason: 'asked' } }, /reason/],
  ])('answers 400 naming the data field when %s, and changes nothing', async (_case, status, event, field) => {
    const { paymentId } = await newPayment();
    const before = await moveTo(t.url, paymentId, status);

    const res = await sendEvent(t.url, paymentId, event);

    expectProblem(res, 400);
    const fields = ((res.body.errors ?? []) as { field: string }[]).map((e) => e.field);
    expect(fields).toHaveLength(1);
    expect(fields[0]).toMatch(field);
    expect(await getPayment(t.url, paymentId)).toEqual(before);
  });

  it('answers 400 for malformed JSON and 415 for a body that is not JSON', async () => {
    const before = await newPayment();

    const malformed = await request(t.url)
      .post(`${paymentPath(before.paymentId)}/events`)
      .set('Content-Type', 'application/json')
      .send('{"type": ');
    const text = await request(t.url)
      .post(`${paymentPath(before.paymentId)}/events`)
      .set('Content-Type', 'text/plain')
      .send('{"type": "PaymentProcessed"}');

    expectProblem(malformed, 400);
    expectProblem(text, 415);
    expect(await getPayment(t.url, before.paymentId)).toEqual(before);
  });

  it('answers 400 for a JSON body that is not an object', async () => {
    const before = await newPayment();

    const res = await request(t.url)
      .post(`${paymentPath(before.paymentId)}/events`)
      .set('Content-Type', 'application/json')
      .send('["PaymentProcessed"]');

    expectProblem(res, 400);
    expect(await getPayment(t.url, before.paymentId)).toEqual(before);
  });
});
