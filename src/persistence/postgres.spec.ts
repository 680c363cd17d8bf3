import { DatabaseError, Pool } from 'pg';
import { checkout, isUnavailable } from './postgres';

function dbError(code: string, severity = 'ERROR', message = 'refused'): DatabaseError {
  const e = new DatabaseError(message, 0, 'error');
  e.code = code;
  e.severity = severity;
  return e;
}

const network = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), { code });

describe('isUnavailable (503 and retry, or a 500)', () => {
  // the "cannot serve now" table: [what, the error as the server or node-postgres raises it]
  const unavailable: [string, unknown][] = [
    ['network: connection refused', network('ECONNREFUSED')],
    ['network: a dual-stack connect where every address failed', new AggregateError([network('ECONNREFUSED'), network('EHOSTUNREACH')])],
    ['node-postgres: connection lost', new Error('Connection terminated unexpectedly')],
    ['node-postgres: connect timeout', new Error('timeout exceeded when trying to connect')],
    ['node-postgres: query read timeout', new Error('Query read timeout')],
    ['08006 connection_failure', dbError('08006')],
    ['08P01 protocol_violation (class 08)', dbError('08P01', 'FATAL')],
    ['53300 too_many_connections (at connect)', dbError('53300', 'FATAL', 'too many connections for role "app"')],
    ['53100 disk_full', dbError('53100')],
    ['53200 out_of_memory', dbError('53200')],
    ['57014 query_canceled: statement timeout', dbError('57014')],
    ['57P01 admin_shutdown: backend terminated', dbError('57P01', 'FATAL', 'terminating connection due to administrator command')],
    ['57P02 crash_shutdown', dbError('57P02', 'FATAL')],
    ['57P03 cannot_connect_now: starting up, shutting down, in recovery', dbError('57P03', 'FATAL', 'the database system is starting up')],
    ['57P04 database_dropped', dbError('57P04', 'FATAL')],
    ['57P05 idle_session_timeout', dbError('57P05', 'FATAL')],
    ['25006 read_only_sql_transaction: a standby, or a primary in read-only mode', dbError('25006')],
    ['55P03 lock_not_available: lock_timeout', dbError('55P03')],
    ['55000 FATAL: database is not currently accepting connections', dbError('55000', 'FATAL', 'database "payments" is not currently accepting connections')],
    ['28000 FATAL: role is not permitted to log in', dbError('28000', 'FATAL')],
    ['3D000 FATAL: the database does not exist (dropped, renamed)', dbError('3D000', 'FATAL')],
    ['25P03 FATAL: idle-in-transaction timeout ended the session', dbError('25P03', 'FATAL')],
    ['XX000 PANIC', dbError('XX000', 'PANIC')],
  ];

  const refused: [string, unknown][] = [
    ['23505 unique_violation', dbError('23505')],
    ['22021 character_not_in_repertoire', dbError('22021')],
    ['42P01 undefined_table (a schema bug)', dbError('42P01')],
    ['55000 ERROR: a statement out of order (currval before nextval)', dbError('55000', 'ERROR', 'currval of sequence "s" is not yet defined in this session')],
    ['55006 object_in_use', dbError('55006')],
    ['25001 active_sql_transaction', dbError('25001')],
    ['40P01 deadlock_detected (the writer retries its batch write by write)', dbError('40P01')],
    ['XX000 internal_error', dbError('XX000')],
    ['a bug', new TypeError("Cannot read properties of null (reading 'includes')")],
    ['nothing', undefined],
  ];

  it.each(unavailable)('counts %s as unavailable', (_what, error) => {
    expect(isUnavailable(error)).toBe(true);
  });

  it.each(refused)('counts %s as an error, not as unavailability', (_what, error) => {
    expect(isUnavailable(error)).toBe(false);
  });

  it('counts whatever fails while checkout() connects as unavailable, whatever its severity says (a localized server)', async () => {
    const refusal = dbError('55000', 'SCHWERWIEGEND', 'Datenbank »payments« akzeptiert gegenwärtig keine Verbindungen');
    expect(isUnavailable(refusal)).toBe(false); // alone, it reads as a statement's refusal
    const pool = { connect: () => Promise.reject(refusal) } as unknown as Pool;

    await expect(checkout(pool)).rejects.toBe(refusal);

    expect(isUnavailable(refusal)).toBe(true);
  });
});
