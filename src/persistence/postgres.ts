import { Client, ClientConfig, DatabaseError, Pool, PoolClient, types } from 'pg';
import { AppConfig } from '../config';

/** NOTIFY channel of the change feed: woken after every commit that changed payments. */
export const CHANGES_CHANNEL = 'payments_changed';

/**
 * Transaction-scoped advisory lock every writing transaction takes before it assigns change
 * sequence numbers: sequence order is then commit order, so a reader that has seen sequence
 * n has seen everything at or below n (a catch-up by `seq > n` never skips a late commit).
 */
export const COMMIT_LOCK = 0x7061796d; // 'paym'

/** Session-scoped advisory lock held while migrations run (several instances may start at once). */
export const MIGRATION_LOCK = 0x6d696772; // 'migr'
/** Session advisory lock of the instance that relays the outbox to the broker (one at a time). */
export const OUTBOX_LOCK = 0x6f757462; // 'outb'

// bigint (int8) columns as numbers: money is validated below 2^53, sequences stay far below.
const parsers = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === types.builtins.INT8 ? (value: string) => Number(value) : types.getTypeParser(oid, format)) as typeof types.getTypeParser,
};

function clientConfig(config: AppConfig): ClientConfig {
  return {
    connectionString: config.databaseUrl,
    connectionTimeoutMillis: config.databaseTimeoutMs,
    query_timeout: config.databaseTimeoutMs,
    statement_timeout: config.databaseTimeoutMs,
    // A transaction whose client vanished (network partition during COMMIT) must not keep
    // COMMIT_LOCK: the server ends such a session, and the other instances write again.
    idle_in_transaction_session_timeout: 2 * config.databaseTimeoutMs,
    keepAlive: true,
    application_name: 'payments-cqs',
    types: parsers,
  };
}

export function createPool(config: AppConfig): Pool {
  const pool = new Pool({ ...clientConfig(config), max: config.databasePoolSize, idleTimeoutMillis: 30_000 });
  // An idle connection that dies (database restarted) must not crash the process; the next
  // checkout opens a new one.
  pool.on('error', () => undefined);
  return pool;
}

export interface CheckedOut {
  client: PoolClient;
  /** Returns the connection to the pool; with an error, discards it. */
  release(error?: Error): void;
}

/**
 * A pooled connection for a multi-statement unit of work. While it is checked out the pool
 * does not listen to its errors, and a connection that dies would emit an unhandled 'error'
 * (a crash): a listener is attached until release. The failure itself reaches the caller
 * through the pending query, which rejects.
 */
export async function checkout(pool: Pool): Promise<CheckedOut> {
  const client = await pool.connect().catch((error: unknown) => {
    throw failedToConnect(error);
  });
  const ignore = () => undefined;
  client.on('error', ignore);
  return {
    client,
    release(error?: Error) {
      client.off('error', ignore);
      client.release(error);
    },
  };
}

/** A dedicated connection (LISTEN needs one that stays open, outside the pool). */
export function createClient(config: AppConfig): Client {
  return new Client({ ...clientConfig(config), query_timeout: undefined, statement_timeout: undefined });
}

const NETWORK_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED']);
// what node-postgres says when a connection is lost, cannot be made in time, or is gone
const CLIENT_ERRORS = /Connection terminated|timeout exceeded when trying to connect|Query read timeout|not queryable|Cannot use a pool after calling end/i;

/**
 * SQLSTATE classes (PostgreSQL manual, appendix A) in which every code means "not now", never
 * "not this statement": 08 connection exception, 53 insufficient resources (53300
 * too_many_connections, out of memory, disk full), 57 operator intervention (57014 statement
 * timeout, 57P01 admin_shutdown, 57P03 cannot_connect_now, ...).
 */
const UNAVAILABLE_CLASSES = new Set(['08', '53', '57']);
/**
 * Codes of other classes that mean the same: 25006 read_only_sql_transaction (a standby after a
 * failover, or a primary put in read-only mode) and 55P03 lock_not_available (a lock_timeout).
 * The rest of classes 25 and 55 are refusals of the statement itself (55000, as an ERROR, is a
 * statement used out of order), and class 40 (deadlock, serialization) is left to the writer,
 * which retries such a batch one write at a time.
 */
const UNAVAILABLE_CODES = new Set(['25006', '55P03']);
/**
 * Severities with which the server ends the session. Every refusal of a new connection is one
 * (55000 "database is not currently accepting connections", 53300, 28000 "role is not permitted
 * to log in", 3D000 ...), and a session ended mid-statement ran nothing more. `severity` is the
 * server's localized field: checkout() also marks whatever fails while connecting, so the write
 * path holds under any lc_messages.
 */
const SESSION_ENDING = new Set(['FATAL', 'PANIC']);

/** Errors raised while a connection was being opened: nothing was sent, nothing ran. */
const connectFailures = new WeakSet<object>();

function failedToConnect(error: unknown): unknown {
  if (typeof error === 'object' && error !== null) connectFailures.add(error);
  return error;
}

/**
 * True when an error means "the database cannot be reached or cannot serve now" (a 503 with
 * Retry-After: the write was not acknowledged, and a retry can succeed), as opposed to a
 * statement the database refused or a bug (a 500). Network errors and node-postgres'
 * connection errors have no SQLSTATE; a server error is classified by its SQLSTATE class and
 * code, and by a severity that ends the session.
 */
export function isUnavailable(error: unknown): boolean {
  if (typeof error === 'object' && error !== null && connectFailures.has(error)) return true;
  if (error instanceof DatabaseError) {
    const code = error.code ?? '';
    return UNAVAILABLE_CLASSES.has(code.slice(0, 2)) || UNAVAILABLE_CODES.has(code) || SESSION_ENDING.has(error.severity ?? '');
  }
  const e = error as { code?: unknown; message?: unknown; errors?: unknown };
  if (typeof e?.code === 'string' && NETWORK_ERRORS.has(e.code)) return true;
  if (Array.isArray(e?.errors) && e.errors.some((inner) => isUnavailable(inner))) return true; // AggregateError of a dual-stack connect
  return typeof e?.message === 'string' && CLIENT_ERRORS.test(e.message);
}

/** A short reason for logs and 503 details, without connection strings. */
export function reasonOf(error: unknown): string {
  if (error instanceof DatabaseError) return `${error.code ?? 'error'}: ${error.message}`;
  const e = error as { code?: string; message?: string };
  return e.code ?? e.message ?? String(error);
}
