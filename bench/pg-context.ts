/**
 * The context every case of the PostgreSQL section (bench/postgres.ts) runs in: the settings, the
 * bench's database and its maintenance connection, the instances' cores, the log.
 */
import { Client } from 'pg';
import { urlOf, withClient } from './pg-database';
import type { PgSettings } from './pg-settings';

export interface Ctx {
  n: number;
  smoke: boolean;
  s: PgSettings;
  base: string;
  db: string;
  dbUrl: string;
  /** cores of the instances (undefined: not pinned) */
  core: (i: number) => number | undefined;
  log: (msg: string) => void;
  /** a connection to the maintenance database (not counted among the bench database's backends) */
  admin: Client;
}

export async function createSchema(ctx: Ctx, schema: string): Promise<string> {
  await withClient(ctx.dbUrl, (c) => c.query(`CREATE SCHEMA ${schema}`));
  return urlOf(ctx.base, ctx.db, schema);
}

export function log(ctx: Ctx, msg: string): void {
  ctx.log(msg);
}
