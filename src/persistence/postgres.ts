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
  const client = await pool.connect();
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
 * True when an error means "the database cannot be reached or cannot serve now" (a 503 and a
 * retry), as opposed to a statement the database refused or a bug (a 500). Network errors
 * and node-postgres' connection errors have no SQLSTATE; the server's own unavailability
 * classes are 08 (connection), 53 (resources) and 57 (operator intervention: shutdown,
 * statement timeout).
 */
export function isUnavailable(error: unknown): boolean {
  if (error instanceof DatabaseError) {
    const code = error.code ?? '';
    return code.startsWith('08') || code.startsWith('53') || code.startsWith('57');
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
