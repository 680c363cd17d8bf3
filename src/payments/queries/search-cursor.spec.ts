import { createHash } from 'node:crypto';
import { canonicalFilter } from '../payment-filter';
import { decodeCursor, encodeCursor, queryFingerprint } from './search-cursor';

describe('search cursors', () => {
  const filter = canonicalFilter({ organizationId: 'org-1', statuses: ['refunded', 'completed'], minAmount: 100 });

  it('fingerprints a query as the first 16 characters of the base64url SHA-256 of its filters and sort (cursors issued before stay valid)', () => {
    const expected = createHash('sha256').update(`${filter}|-createdAt`).digest('base64url').slice(0, 16);

    expect(queryFingerprint(filter, '-createdAt')).toBe(expected);
    expect(queryFingerprint(filter, 'amount')).not.toBe(expected);
  });

  it('reads back the position it wrote, for the same query only', () => {
    const fingerprint = queryFingerprint(filter, '-createdAt');
    const cursor = encodeCursor(fingerprint, { key: '2026-03-01T12:00:00.000Z', tie: 'pay-1', page: 2 });

    expect(decodeCursor(cursor, fingerprint, '-createdAt')).toEqual({ key: '2026-03-01T12:00:00.000Z', tie: 'pay-1', page: 2 });
    expect(() => decodeCursor(cursor, queryFingerprint(canonicalFilter({}), '-createdAt'), '-createdAt')).toThrow(/other filters/);
    expect(() => decodeCursor('not-a-cursor', fingerprint, '-createdAt')).toThrow(/not a cursor/);
  });
});
