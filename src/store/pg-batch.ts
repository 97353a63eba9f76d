import type pg from 'pg';
import { MAX_EVENTS, type EventRow, type OperationRow } from './operation-row.js';
import { isStatementError } from './pg-errors.js';
import { PG_TYPES } from './pg-schema.js';
import { COLUMNS, columnValue, FIELDS } from './store-columns.js';

const noop = (): void => undefined;

/** The channel each committed batch is announced on (its payload: the batch's newest id). */
export const PG_CHANNEL = 'modeltap_operations';
/** The write lock's keys, for `pg_advisory_xact_lock(a, b)` (tests hold it to make the database slow). */
export const PG_WRITE_LOCK = [0x6d74, 2] as const;

/**
 * Writes one batch in one transaction and returns its newest id. The transaction takes the write
 * lock before its ids, so ids are committed in the order they were taken (a reader that has seen
 * id N has seen every id below it), and announces the batch on {@link PG_CHANNEL} when it commits.
 */
export async function writeBatch(pool: pg.Pool, batch: readonly OperationRow[]): Promise<number> {
  const client = await pool.connect();
  let failed = false;
  try {
    await client.query('BEGIN');
    try {
      await client.query('SELECT pg_advisory_xact_lock($1, $2)', [...PG_WRITE_LOCK]);
      const ids = (await client.query<{ id: number }>("SELECT nextval(pg_get_serial_sequence('operations', 'id')) AS id FROM generate_series(1, $1::int)", [batch.length])).rows.map((r) => r.id).sort((a, b) => a - b);
      const columns: unknown[][] = [ids, ...FIELDS.map((f) => batch.map((r) => columnValue(r, f) ?? null))];
      await client.query(`INSERT INTO operations (id, ${COLUMNS.join(', ')}) SELECT * FROM unnest($1::int8[], ${FIELDS.map((f, i) => `$${i + 2}::${PG_TYPES[f]}[]`).join(', ')})`, columns);
      const events: [number[], number[], string[], number[], number[], boolean[]] = [[], [], [], [], [], []];
      const conversations: [string[], number[]] = [[], []];
      batch.forEach((row, i) => {
        const id = ids[i] as number;
        if (row.conversationId !== null) {
          conversations[0].push(row.conversationId);
          conversations[1].push(id);
        }
        const n = Math.min(row.events.length, MAX_EVENTS);
        for (let seq = 0; seq < n; seq++) {
          const e = row.events[seq] as EventRow;
          events[0].push(id);
          events[1].push(seq);
          events[2].push(e.kind);
          events[3].push(e.offsetMs);
          events[4].push(e.bytes);
          events[5].push(e.ok);
        }
      });
      if (events[0].length > 0) await client.query('INSERT INTO events (operation_id, seq, kind, offset_ms, bytes, ok) SELECT * FROM unnest($1::int8[], $2::int4[], $3::text[], $4::float8[], $5::int4[], $6::bool[])', events);
      if (conversations[0].length > 0) {
        await client.query(
          `INSERT INTO conversations (conversation_id, last_id) SELECT c, max(i) FROM unnest($1::text[], $2::int8[]) AS t (c, i) GROUP BY c
           ON CONFLICT (conversation_id) DO UPDATE SET last_id = GREATEST(conversations.last_id, excluded.last_id)`,
          conversations,
        );
      }
      const last = ids.at(-1) as number;
      // Delivered to every listener when the transaction commits, not before.
      await client.query('SELECT pg_notify($1, $2)', [PG_CHANNEL, String(last)]);
      await client.query('COMMIT');
      return last;
    } catch (error) {
      failed = !isStatementError(error);
      await client.query('ROLLBACK').catch(noop);
      throw error;
    }
  } finally {
    client.release(failed);
  }
}
