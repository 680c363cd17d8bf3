import { AppError, RequestValidationError } from './errors';
import { parseJsonBody } from './json-body';

const parse = (text: string | Buffer, depth = 32) => parseJsonBody(Buffer.isBuffer(text) ? text : Buffer.from(text), depth);

function failure(text: string | Buffer, depth = 32): AppError {
  try {
    parse(text, depth);
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    return e as AppError;
  }
  throw new Error(`parsed: ${String(text)}`);
}

describe('parseJsonBody', () => {
  it('parses ordinary JSON, strings that look like numbers and escaped quotes included', () => {
    expect(parse('{"amount": 12345, "description": "1e3 \\"-0\\" 99999999999999999", "n": [1, -2, 0.5]}')).toEqual({
      amount: 12345,
      description: '1e3 "-0" 99999999999999999',
      n: [1, -2, 0.5],
    });
  });

  it('rejects an exponent and names the field it belongs to', () => {
    const e = failure('{"currency": "EUR", "amount": 1e3}');
    expect(e).toBeInstanceOf(RequestValidationError);
    expect(e.errors).toEqual([{ field: 'amount', message: expect.stringContaining('plain integer') }]);
  });

  it('rejects the NUL character in a value or a key, naming the field, and accepts an escaped backslash before u0000', () => {
    const value = failure('{"userId": "u", "description": "a\\u0000b"}');
    expect(value).toBeInstanceOf(RequestValidationError);
    expect(value.errors).toEqual([{ field: 'description', message: expect.stringContaining('NUL') }]);
    expect(failure('{"metadata": {"k\\u0000": "v"}}').errors).toEqual([{ field: 'body', message: expect.stringContaining('keys must not contain') }]);
    expect(parse('{"description": "a\\\\u0000"}')).toEqual({ description: 'a\\u0000' });
  });

  it.each([
    ['a lone high surrogate', '"x\\ud800y"'],
    ['a lone high surrogate at the end', '"x\\udbff"'],
    ['a lone low surrogate', '"\\udc00"'],
    ['two high surrogates', '"\\ud800\\ud800"'],
    ['a high surrogate before an escaped letter', '"\\ud800\\u0041"'],
  ])('rejects %s, naming the field', (_, value) => {
    const e = failure(`{"description": ${value}}`);
    expect(e.errors).toEqual([{ field: 'description', message: expect.stringContaining('unpaired surrogate') }]);
  });

  it('accepts surrogate pairs, escaped or raw, and other escapes', () => {
    expect(parse('{"d": "\\ud83d\\udcb6 💶 \\u00e9 \\n \\\\ud800"}')).toEqual({ d: '💶 💶 é \n \\ud800' });
  });

  it('rejects negative zero and integers past 2^53 - 1, naming the field', () => {
    expect(failure('{"amount": -0}').errors?.[0].field).toBe('amount');
    expect(failure('{"data": {"refundAmount": 9007199254740993}}').errors?.[0]).toEqual({
      field: 'refundAmount',
      message: expect.stringContaining('2^53'),
    });
    expect(parse('{"amount": 9007199254740991}')).toEqual({ amount: 9007199254740991 });
  });

  it('leaves fractions to the validator, which names the field with its own message', () => {
    expect(parse('{"amount": 1.5}')).toEqual({ amount: 1.5 });
  });

  it('rejects nesting deeper than the limit, and accepts it at the limit', () => {
    expect(parse('[[[1]]]', 3)).toEqual([[[1]]]);
    expect(failure('[[[[1]]]]', 3).detail).toContain('deeper than 3');
  });

  it('rejects bytes that are not UTF-8', () => {
    expect(failure(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d])).detail).toContain('UTF-8');
  });

  it('rejects prototype keys instead of honouring them', () => {
    expect(failure('{"metadata": {"__proto__": {"polluted": "yes"}}}').code).toBe('MALFORMED_JSON');
    expect(failure('{"constructor": {"prototype": {"x": 1}}}').code).toBe('MALFORMED_JSON');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('rejects empty and malformed bodies as MALFORMED_JSON', () => {
    expect(failure('  ').detail).toContain('empty');
    expect(failure('{"a":').code).toBe('MALFORMED_JSON');
  });
});
