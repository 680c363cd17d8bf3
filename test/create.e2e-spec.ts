import request from 'supertest';
import {
  applyEvent,
  Body,
  createPayment,
  expectInvalidFields,
  expectNotStored,
  expectProblem,
  expectStatus,
  getPayment,
  ISO_UTC,
  Payment,
  PAYMENT_FIELDS,
  paymentBody,
  paymentPath,
  storedTotal,
  uniqueId,
  expectEachTestStoresNothing,
} from './e2e-helpers';
import { startTestApp, TestApp } from './test-app';

const BODY_LIMIT = 64 * 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ bodyLimitBytes: BODY_LIMIT });
});

afterAll(async () => {
  await t.close();
});

function metadataOf(keys: number, keyLength = 8, valueLength = 5): Record<string, string> {
  return Object.fromEntries(
    Array.from({ length: keys }, (_, i) => [`${i}`.padStart(keyLength, 'k'), 'v'.repeat(valueLength)]),
  );
}

function minutesFromNow(minutes: number): string {
  return new Date(Date.now() + minutes * 60_000).toISOString();
}

/** An id of exactly `length` chars that no other test uses, holding every allowed kind of char. */
function idOfLength(prefix: string, length: number): string {
  return `${uniqueId(prefix)}_.:-AZaz09`.padEnd(length, 'x');
}

describe('POST /payments creates a payment', () => {
  it('answers 201 with Location and the whole resource: pending, version 1, nothing refunded, nulls', async () => {
    const body = {
      paymentId: uniqueId('pay'),
      organizationId: uniqueId('org'),
      userId: uniqueId('user'),
      amount: 12_345,
      currency: 'EUR',
      description: 'Test payment',
      metadata: { source: 'test', campaign: 'spring' },
      createdAt: '2026-03-01T12:00:00.000Z',
    };
    const before = Date.now();

    const res = await request(t.url).post('/payments').send(body);

    expectStatus(res, 201);
    expect(res.headers['content-type']).toMatch(/^application\/json\b/);
    expect(res.headers.location).toBe(`/payments/${body.paymentId}`);
    expect(Object.keys(res.body).sort()).toEqual([...PAYMENT_FIELDS].sort());
    expect(res.body).toEqual({
      ...body,
      status: 'pending',
      refundedAmount: 0,
      error: null,
      updatedAt: expect.stringMatching(ISO_UTC),
      completedAt: null,
      failedAt: null,
      refundedAt: null,
      version: 1,
    });
    expect(Date.parse(res.body.updatedAt)).toBeGreaterThanOrEqual(before - 1000);
  });

  it('serves the created payment, unchanged, from GET /payments/:id', async () => {
    const created = await createPayment(t.url, { description: 'read me back', metadata: { a: 'b' } });

    const res = await request(t.url).get(paymentPath(created.paymentId));

    expectStatus(res, 200);
    expect(res.headers['content-type']).toMatch(/^application\/json\b/);
    expect(res.body).toEqual(created);
  });

  it('sets createdAt and updatedAt to now when createdAt is absent', async () => {
    const before = Date.now();
    const created = await createPayment(t.url);
    const after = Date.now();

    expect(created.createdAt).toMatch(ISO_UTC);
    expect(Date.parse(created.createdAt)).toBeGreaterThanOrEqual(before - 5);
    expect(Date.parse(created.createdAt)).toBeLessThanOrEqual(after + 5);
    expect(created.updatedAt).toBe(created.createdAt);
  });

  it('stores createdAt in UTC when it is given with an offset', async () => {
    const created = await createPayment(t.url, { createdAt: '2026-03-01T13:30:00+01:00' });

    expect(created.createdAt).toBe('2026-03-01T12:30:00.000Z');
  });

  it('generates a UUID paymentId when none is given and names it in Location', async () => {
    const body = paymentBody();
    delete body.paymentId;

    const res = await request(t.url).post('/payments').send(body);

    expectStatus(res, 201);
    expect(res.body.paymentId).toMatch(UUID);
    expect(res.headers.location).toBe(`/payments/${res.body.paymentId}`);
    expect(await getPayment(t.url, res.body.paymentId)).toEqual(res.body);
  });

  it('generates a different paymentId for every create without one', async () => {
    const body = paymentBody();
    delete body.paymentId;

    const first = await request(t.url).post('/payments').send(body);
    const second = await request(t.url).post('/payments').send(body);

    expect([first.status, second.status]).toEqual([201, 201]);
    expect(first.body.paymentId).not.toBe(second.body.paymentId);
  });

  it('makes the payment visible to search and stats as soon as the 201 is sent', async () => {
    const organizationId = uniqueId('org');
    const created = await createPayment(t.url, { organizationId });

    const search = await request(t.url).get('/payments/search').query({ organizationId });
    const stats = await request(t.url).get('/payments/stats').query({ organizationId });

    expect(search.body.items).toEqual([created]);
    expect(stats.body.total).toBe(1);
  });

  it.each<[string, () => Body]>([
    ['amount is 1', () => ({ amount: 1 })],
    ['amount is 99,999,999,999', () => ({ amount: 99_999_999_999 })],
    ['currency is another ISO 4217 code', () => ({ currency: 'JPY' })],
    ['paymentId has 64 chars of letters, digits and _ . : -', () => ({ paymentId: idOfLength('pay', 64) })],
    ['organizationId and userId have 64 chars', () => ({ organizationId: idOfLength('org', 64), userId: idOfLength('u', 64) })],
    ['organizationId and userId have 1 char', () => ({ organizationId: 'o', userId: 'u' })],
    ['description has 1000 chars', () => ({ description: 'd'.repeat(1000) })],
    ['description is empty', () => ({ description: '' })],
    ['metadata is empty', () => ({ metadata: {} })],
    ['metadata has 50 keys of 40 chars with 500-char values', () => ({ metadata: metadataOf(50, 40, 500) })],
    ['metadata has a 1-char key', () => ({ metadata: { k: 'v' } })],
    ['createdAt is 4 minutes in the future', () => ({ createdAt: minutesFromNow(4) })],
    ['createdAt is years in the past', () => ({ createdAt: '2001-09-09T01:46:40.000Z' })],
  ])('accepts a body where %s', async (_case, patch) => {
    const body = paymentBody(patch());

    const res = await request(t.url).post('/payments').send(body);

    expectStatus(res, 201);
    expect(res.body).toMatchObject(body);
    expect(await getPayment(t.url, res.body.paymentId)).toEqual(res.body);
  });
});

describe('POST /payments with a paymentId that exists', () => {
  it('answers a retry with the same fields 200 with the stored payment, and changes nothing', async () => {
    const body = paymentBody({ description: 'retry me', metadata: { a: '1', b: '2' }, createdAt: '2026-01-15T08:00:00.000Z' });
    const first = await request(t.url).post('/payments').send(body);
    const total = await storedTotal(t.url);

    const retry = await request(t.url).post('/payments').send(body);

    expectStatus(first, 201);
    expectStatus(retry, 200);
    expect(retry.body).toEqual(first.body);
    expect(await getPayment(t.url, first.body.paymentId)).toEqual(first.body);
    expect(await storedTotal(t.url)).toBe(total);
  });

  it('treats a retry with the same fields in another order (and metadata keys reordered) as the same', async () => {
    const body = paymentBody({ metadata: { a: '1', b: '2' } });
    const first = await request(t.url).post('/payments').send(body);
    const reordered = Object.fromEntries(Object.entries({ ...body, metadata: { b: '2', a: '1' } }).reverse());

    const retry = await request(t.url).post('/payments').send(reordered);

    expectStatus(retry, 200);
    expect(retry.body).toEqual(first.body);
  });

  it('accepts a retry without createdAt when the first create had none', async () => {
    const body = paymentBody();
    const first = await request(t.url).post('/payments').send(body);

    const retry = await request(t.url).post('/payments').send(body);

    expectStatus(retry, 200);
    expect(retry.body).toEqual(first.body);
  });

  it('answers a retry after a lifecycle event with the payment as it is now, untouched', async () => {
    const body = paymentBody();
    await request(t.url).post('/payments').send(body);
    const processed = await applyEvent(t.url, body.paymentId as string, { type: 'PaymentProcessed' });

    const retry = await request(t.url).post('/payments').send(body);

    expectStatus(retry, 200);
    expect(retry.body).toEqual(processed);
    expect(retry.body).toMatchObject({ status: 'completed', version: 2 });
    expect(await getPayment(t.url, body.paymentId as string)).toEqual(processed);
  });

  it.each<[string, Body]>([
    ['amount', { amount: 10_001 }],
    ['currency', { currency: 'USD' }],
    ['userId', { userId: 'someone-else' }],
    ['description', { description: 'another description' }],
    ['description (left out)', { description: undefined }],
    ['metadata', { metadata: { source: 'other' } }],
    ['createdAt', { createdAt: '2026-01-15T08:00:00.001Z' }],
  ])('answers 409 and keeps the stored payment when the retry has a different %s', async (_field, change) => {
    const body = paymentBody({ description: 'original', metadata: { source: 'test' }, createdAt: '2026-01-15T08:00:00.000Z' });
    const first = await request(t.url).post('/payments').send(body);
    const total = await storedTotal(t.url);

    const res = await request(t.url).post('/payments').send({ ...body, ...change });

    expectStatus(first, 201);
    expectProblem(res, 409);
    expect(await getPayment(t.url, body.paymentId as string)).toEqual(first.body);
    expect(await storedTotal(t.url)).toBe(total);
  });

  it("stores the same paymentId of another organization as that organization's own payment (paymentIds are unique per organization)", async () => {
    const body = paymentBody({ description: 'original' });
    const first = await request(t.url).post('/payments').send(body);
    const other = { ...body, organizationId: uniqueId('another-org'), amount: 1 };

    const res = await request(t.url).post('/payments').send(other);

    expectStatus(first, 201);
    expectStatus(res, 201);
    expect(res.body).toMatchObject({ paymentId: body.paymentId, organizationId: other.organizationId, amount: 1 });
    const path = `/payments/${body.paymentId as string}`;
    expect((await request(t.url).get(path).query({ organizationId: body.organizationId })).body).toEqual(first.body);
    expect((await request(t.url).get(path).query({ organizationId: other.organizationId })).body).toEqual(res.body);
  });
});

describe('POST /payments rejects an invalid body with 400 and stores nothing', () => {
  expectEachTestStoresNothing(() => t.url);

  it('names every missing required field of an empty object', async () => {
    const res = await request(t.url).post('/payments').send({});

    expectInvalidFields(res, ['amount', 'currency', 'organizationId', 'userId']);
  });

  it.each<[string, Body, string]>([
    ['organizationId is missing', { organizationId: undefined }, 'organizationId'],
    ['userId is missing', { userId: undefined }, 'userId'],
    ['amount is missing', { amount: undefined }, 'amount'],
    ['currency is missing', { currency: undefined }, 'currency'],
    ['organizationId is empty', { organizationId: '' }, 'organizationId'],
    ['organizationId has 65 chars', { organizationId: 'o'.repeat(65) }, 'organizationId'],
    ['organizationId is a number', { organizationId: 456 }, 'organizationId'],
    ['userId is empty', { userId: '' }, 'userId'],
    ['userId has 65 chars', { userId: 'u'.repeat(65) }, 'userId'],
    ['amount is 0', { amount: 0 }, 'amount'],
    ['amount is negative', { amount: -100 }, 'amount'],
    ['amount is 1.5', { amount: 1.5 }, 'amount'],
    ['amount is the string "100"', { amount: '100' }, 'amount'],
    ['amount is 100,000,000,000', { amount: 100_000_000_000 }, 'amount'],
    ['amount is null', { amount: null }, 'amount'],
    ['currency is lower case', { currency: 'eur' }, 'currency'],
    ['currency is not an ISO 4217 code', { currency: 'QQQ' }, 'currency'],
    ['currency has four letters', { currency: 'EURO' }, 'currency'],
    ['currency is a number', { currency: 978 }, 'currency'],
    ['paymentId holds a space', { paymentId: 'pay 1' }, 'paymentId'],
    ['paymentId holds a slash', { paymentId: 'pay/1' }, 'paymentId'],
    ['paymentId holds a non-ASCII letter', { paymentId: 'payé-1' }, 'paymentId'],
    ['paymentId is empty', { paymentId: '' }, 'paymentId'],
    ['paymentId has 65 chars', { paymentId: 'p'.repeat(65) }, 'paymentId'],
    ['paymentId is a number', { paymentId: 1 }, 'paymentId'],
    ['description has 1001 chars', { description: 'd'.repeat(1001) }, 'description'],
    ['description is not a string', { description: 7 }, 'description'],
    ['metadata has 51 keys', { metadata: metadataOf(51) }, 'metadata'],
    ['metadata holds a number value', { metadata: { attempt: 1 } }, 'metadata'],
    ['metadata holds an object value', { metadata: { nested: { a: 'b' } } }, 'metadata'],
    ['metadata has a 41-char key', { metadata: { ['k'.repeat(41)]: 'v' } }, 'metadata'],
    ['metadata has an empty key', { metadata: { '': 'v' } }, 'metadata'],
    ['metadata holds a 501-char value', { metadata: { note: 'v'.repeat(501) } }, 'metadata'],
    ['metadata is an array', { metadata: ['source', 'test'] }, 'metadata'],
    ['metadata is a string', { metadata: 'source=test' }, 'metadata'],
    ['createdAt is 10 minutes in the future', { createdAt: minutesFromNow(10) }, 'createdAt'],
    ['createdAt is 2026-02-30T00:00:00Z', { createdAt: '2026-02-30T00:00:00Z' }, 'createdAt'],
    ['createdAt is 2026-03-01T24:00:00Z', { createdAt: '2026-03-01T24:00:00Z' }, 'createdAt'],
    ['createdAt is not a date', { createdAt: 'yesterday' }, 'createdAt'],
    ['createdAt has no time zone', { createdAt: '2026-03-01T12:00:00' }, 'createdAt'],
    ['createdAt is a number', { createdAt: 1_767_225_600_000 }, 'createdAt'],
  ])('names the one bad field when %s', async (_case, patch, field) => {
    const body = paymentBody(patch);

    const res = await request(t.url).post('/payments').send(body);

    expectInvalidFields(res, [field]);
    if (typeof body.paymentId === 'string' && body.paymentId !== '') await expectNotStored(t.url, body.paymentId);
  });

  it('names every bad field of a body with many', async () => {
    const body = {
      paymentId: 'not ok!',
      organizationId: '',
      userId: 'u'.repeat(65),
      amount: 1.5,
      currency: 'eur',
      description: 'd'.repeat(1001),
      metadata: ['a'],
      createdAt: '2026-02-30T00:00:00Z',
    };

    const res = await request(t.url).post('/payments').send(body);

    expectInvalidFields(res, ['amount', 'createdAt', 'currency', 'description', 'metadata', 'organizationId', 'paymentId', 'userId']);
  });

  it('names bad fields and unknown properties together', async () => {
    const body = paymentBody({ amount: 0, status: 'completed' });

    const res = await request(t.url).post('/payments').send(body);

    expectInvalidFields(res, ['amount', 'status']);
    await expectNotStored(t.url, body.paymentId as string);
  });

  it.each<[string, unknown]>([
    ['status', 'completed'],
    ['version', 7],
    ['refundedAmount', 0],
    ['error', null],
    ['updatedAt', '2026-03-01T12:00:00.000Z'],
    ['completedAt', '2026-03-01T12:00:00.000Z'],
    ['failedAt', null],
    ['refundedAt', null],
    ['merchantReference', 'abc'],
  ])('rejects the unknown property %s and names it', async (property, value) => {
    const body = paymentBody({ [property]: value });

    const res = await request(t.url).post('/payments').send(body);

    expectInvalidFields(res, [property]);
    await expectNotStored(t.url, body.paymentId as string);
  });

  it.each<[string, string]>([
    ['truncated JSON', '{"organizationId": "org-1", "amount": '],
    ['an empty body', ''],
    ['a JSON body with a trailing comma', '{"amount": 1,}'],
    ['single-quoted pseudo-JSON', "{'amount': 1}"],
  ])('answers 400 for malformed JSON: %s', async (_case, raw) => {
    const res = await request(t.url).post('/payments').set('Content-Type', 'application/json').send(raw);

    expectProblem(res, 400);
  });

  it('answers 400 for a body that sets __proto__', async () => {
    const body = paymentBody();
    const raw = JSON.stringify(body).replace(/^\{/, '{"__proto__": {"status": "completed"}, ');

    const res = await request(t.url).post('/payments').set('Content-Type', 'application/json').send(raw);

    expectProblem(res, 400);
    await expectNotStored(t.url, body.paymentId as string);
  });

  it.each<[string, string]>([
    ['an empty array', '[]'],
    ['an array holding a valid payment', JSON.stringify([paymentBody()])],
    ['a string', '"a payment"'],
    ['null', 'null'],
    ['a number', '42'],
    ['a boolean', 'true'],
  ])('answers 400 when the JSON body is %s', async (_case, raw) => {
    const res = await request(t.url).post('/payments').set('Content-Type', 'application/json').send(raw);

    expectProblem(res, 400);
  });
});

describe('POST /payments rejects a body that is not JSON or too large, and stores nothing', () => {
  it.each<[string]>([['text/plain'], ['application/x-www-form-urlencoded'], ['application/xml']])(
    'answers 415 for a %s body, even when it holds valid JSON text',
    async (contentType) => {
      const body = paymentBody();
      const total = await storedTotal(t.url);

      const res = await request(t.url).post('/payments').set('Content-Type', contentType).send(JSON.stringify(body));

      expectProblem(res, 415);
      await expectNotStored(t.url, body.paymentId as string);
      expect(await storedTotal(t.url)).toBe(total);
    },
  );

  it('accepts application/json with a charset parameter', async () => {
    const body = paymentBody();

    const res = await request(t.url).post('/payments').set('Content-Type', 'application/json; charset=utf-8').send(JSON.stringify(body));

    expectStatus(res, 201);
    expect(await getPayment(t.url, body.paymentId as string)).toMatchObject(body);
  });

  it('answers 415 for a body sent without a Content-Type', async () => {
    const body = paymentBody();

    const res = await request(t.url).post('/payments').unset('Content-Type').send(Buffer.from(JSON.stringify(body)));

    expectProblem(res, 415);
    await expectNotStored(t.url, body.paymentId as string);
  });

  it('answers 413 for a body over the configured limit', async () => {
    const body = paymentBody({ metadata: metadataOf(50, 40, 2000) });
    const total = await storedTotal(t.url);

    const res = await request(t.url).post('/payments').send(body);

    expect(JSON.stringify(body).length).toBeGreaterThan(BODY_LIMIT);
    expectProblem(res, 413);
    await expectNotStored(t.url, body.paymentId as string);
    expect(await storedTotal(t.url)).toBe(total);
  });
});

describe('GET /payments/:id', () => {
  it('answers 404 problem details for a paymentId that was never created', async () => {
    const res = await request(t.url).get(paymentPath(uniqueId('missing')));

    expectProblem(res, 404);
  });

  it('does not serve one payment under another id that differs only in case', async () => {
    const created: Payment = await createPayment(t.url, { paymentId: uniqueId('CaseSensitive') });

    const res = await request(t.url).get(paymentPath(created.paymentId.toLowerCase()));

    expectProblem(res, 404);
  });
});
