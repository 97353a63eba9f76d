import type pg from 'pg';
import { PG_MIGRATIONS, PG_SCHEMA_VERSION, PG_VERSION_TABLE } from './pg-schema.js';

/** The migrations' advisory lock (two int4s, beside the write lock of `pg-batch.ts`). */
const MIGRATE_LOCK = [0x6d74, 1] as const;

/** A database of a newer modeltap: refused, never written. */
export class NewerSchemaError extends Error {}

const noop = (): void => undefined;

/** Throws unless the database is at {@link PG_SCHEMA_VERSION} (a store opened read-only never migrates). */
export async function checkPostgresVersion(pool: pg.Pool): Promise<void> {
  const rows = (await pool.query<{ version: number }>('SELECT version FROM modeltap_schema').catch((error: unknown) => {
    if ((error as { code?: unknown }).code === '42P01') return { rows: [] };
    throw error;
  })).rows;
  const version = rows[0]?.version ?? 0;
  if (version > PG_SCHEMA_VERSION) throw new NewerSchemaError(`schema version ${version} is newer than this modeltap's (${PG_SCHEMA_VERSION})`);
  if (version < PG_SCHEMA_VERSION) throw new Error(`schema version ${version} is older than this modeltap's (${PG_SCHEMA_VERSION}): start modeltap serve --store on it once to migrate it`);
}

/** Brings the schema up to {@link PG_SCHEMA_VERSION} in one transaction, under an advisory lock: replicas starting together migrate once. */
export async function migratePostgres(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    try {
      await client.query('SELECT pg_advisory_xact_lock($1, $2)', [...MIGRATE_LOCK]);
      await client.query(PG_VERSION_TABLE);
      const version = (await client.query<{ version: number }>('SELECT version FROM modeltap_schema')).rows[0]?.version ?? 0;
      if (version > PG_SCHEMA_VERSION) throw new NewerSchemaError(`schema version ${version} is newer than this modeltap's (${PG_SCHEMA_VERSION})`);
      for (let v = version; v < PG_SCHEMA_VERSION; v++) for (const statement of PG_MIGRATIONS[v] ?? []) await client.query(statement);
      if (version < PG_SCHEMA_VERSION) await client.query('INSERT INTO modeltap_schema (version) VALUES ($1) ON CONFLICT (singleton) DO UPDATE SET version = excluded.version', [PG_SCHEMA_VERSION]);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(noop);
      throw error;
    }
    client.release();
  } catch (error) {
    client.release(true);
    throw error;
  }
}
