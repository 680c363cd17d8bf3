import { DatabaseError } from 'pg';
import { isUnavailable } from './postgres';

function dbError(code: string): DatabaseError {
  const e = new DatabaseError('refused', 0, 'error');
  e.code = code;
  return e;
}

describe('isUnavailable (503 and retry, or a 500)', () => {
  it('counts lost connections, timeouts and the server\'s unavailability classes as unavailable', () => {
    expect(isUnavailable(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isUnavailable(Object.assign(new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })]), {}))).toBe(true);
    expect(isUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isUnavailable(new Error('timeout exceeded when trying to connect'))).toBe(true);
    expect(isUnavailable(new Error('Query read timeout'))).toBe(true);
    expect(isUnavailable(dbError('57P01'))).toBe(true); // admin shutdown
    expect(isUnavailable(dbError('57014'))).toBe(true); // statement timeout
    expect(isUnavailable(dbError('08006'))).toBe(true);
    expect(isUnavailable(dbError('53300'))).toBe(true); // too many connections
  });

  it('counts refused statements and bugs as errors, not as unavailability', () => {
    expect(isUnavailable(dbError('23505'))).toBe(false); // unique violation
    expect(isUnavailable(dbError('22021'))).toBe(false); // bad byte sequence
    expect(isUnavailable(new TypeError("Cannot read properties of null (reading 'includes')"))).toBe(false);
    expect(isUnavailable(undefined)).toBe(false);
  });
});
