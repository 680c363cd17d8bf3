import { REQUEST_ID, RequestIds } from './request-id';

describe('RequestIds', () => {
  it('gives ids that are distinct within a process and valid as X-Request-Id', () => {
    const ids = new RequestIds();
    const seen = new Set<string>();
    for (let i = 0; i < 100_000; i++) {
      const id = ids.next();
      expect(REQUEST_ID.test(id)).toBe(true);
      seen.add(id);
    }
    expect(seen.size).toBe(100_000);
  });

  it('prefixes them with the process random draw, so that two instances give different ids', () => {
    const a = new RequestIds(Buffer.from('0000000000000001', 'hex'));
    const b = new RequestIds(Buffer.from('ffffffffffffffff', 'hex'));

    expect(a.next()).toBe('1-0');
    expect(b.next()).toBe(`${(2n ** 64n - 1n).toString(36)}-0`);
    expect(new RequestIds().prefix).not.toBe(new RequestIds().prefix);
  });

  it('rejects caller ids with characters outside the allowed set or over 128 characters', () => {
    expect(REQUEST_ID.test('abc DEF')).toBe(false);
    expect(REQUEST_ID.test('a'.repeat(129))).toBe(false);
    expect(REQUEST_ID.test('a'.repeat(128))).toBe(true);
  });
});
