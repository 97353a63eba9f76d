/**
 * The store's schema, as forward migrations: migration N (1-based) takes a database from
 * `user_version` N − 1 to N. A database written by a newer modeltap (a higher version than
 * {@link SCHEMA_VERSION}) is refused rather than guessed at.
 */

/** The schema version this modeltap writes. */
export const SCHEMA_VERSION = 6;

/** One migration: statements run in one transaction, then `user_version` is set. */
export const MIGRATIONS: readonly (readonly string[])[] = [
  [
    // One row per request: model operations in full, other requests (kind 'other') with what
    // applies to them. Times are epoch milliseconds; durations milliseconds. The row id orders
    // rows by arrival (a batch is written in order) and is the key of keyset pagination.
    `CREATE TABLE operations (
      id INTEGER PRIMARY KEY,
      kind TEXT NOT NULL,
      arrival_ms REAL NOT NULL,
      sent_ms REAL,
      head_ms REAL,
      first_event_ms REAL,
      end_ms REAL NOT NULL,
      method TEXT NOT NULL,
      route TEXT,
      path TEXT NOT NULL,
      transport TEXT,
      api TEXT,
      stream INTEGER,
      request_model TEXT,
      response_model TEXT,
      status INTEGER,
      error_type TEXT,
      retries INTEGER NOT NULL DEFAULT 0,
      auth_recoveries INTEGER NOT NULL DEFAULT 0,
      ttfc_ms REAL,
      duration_ms REAL NOT NULL,
      overhead_ms REAL,
      upstream_ms REAL,
      input_tokens INTEGER,
      cached_input_tokens INTEGER,
      output_tokens INTEGER,
      reasoning_tokens INTEGER,
      total_tokens INTEGER,
      response_id TEXT,
      service_tier TEXT,
      conversation_id TEXT,
      turn_id TEXT,
      request_kind TEXT,
      originator TEXT,
      trace_id TEXT,
      span_id TEXT,
      event_count INTEGER NOT NULL DEFAULT 0,
      content TEXT
    )`,
    'CREATE INDEX operations_arrival ON operations (arrival_ms)',
    'CREATE INDEX operations_conversation ON operations (conversation_id, id) WHERE conversation_id IS NOT NULL',
    'CREATE INDEX operations_model ON operations (request_model, id)',
    'CREATE INDEX operations_status ON operations (status, id)',
    'CREATE INDEX operations_trace ON operations (trace_id) WHERE trace_id IS NOT NULL',
    'CREATE INDEX operations_response ON operations (response_id) WHERE response_id IS NOT NULL',
    // An operation's timeline: SSE events and WebSocket frames in order, the first
    // MAX_EVENTS of them (operations.event_count has them all).
    `CREATE TABLE events (
      operation_id INTEGER NOT NULL REFERENCES operations (id) ON DELETE CASCADE,
      seq INTEGER NOT NULL,
      kind TEXT NOT NULL,
      offset_ms REAL NOT NULL,
      bytes INTEGER NOT NULL,
      ok INTEGER NOT NULL,
      PRIMARY KEY (operation_id, seq)
    ) WITHOUT ROWID`,
  ],
  [
    // When the first bytes of the answer were written to the caller: the run summary's time to
    // first chunk is measured from arrival to it (modeltap report --from a store).
    'ALTER TABLE operations ADD COLUMN first_write_ms REAL',
  ],
  [
    // Conversations by their newest operation, kept as operations are written: the view's first
    // page of conversations reads 100 rows of this, not every operation (GROUP BY over a million
    // rows took 380 ms, bench/store-million.ts).
    'CREATE TABLE conversations (conversation_id TEXT PRIMARY KEY, last_id INTEGER NOT NULL) WITHOUT ROWID',
    'CREATE INDEX conversations_last ON conversations (last_id)',
    'INSERT INTO conversations (conversation_id, last_id) SELECT conversation_id, max(id) FROM operations WHERE conversation_id IS NOT NULL GROUP BY conversation_id',
    // A model filter matches the request's or the response's model; a search, any of four ids.
    'CREATE INDEX operations_response_model ON operations (response_model, id)',
    'CREATE INDEX operations_turn ON operations (turn_id) WHERE turn_id IS NOT NULL',
  ],
  [
    // What each operation cost, in pico-USD (issue 21); null where it is unknown, rows of older versions included.
    'ALTER TABLE operations ADD COLUMN cost_picos INTEGER',
  ],
  [
    // The replica (`--replica`) that served each operation (issue 22); null in older rows.
    'ALTER TABLE operations ADD COLUMN replica TEXT',
    'CREATE INDEX operations_replica ON operations (replica, id) WHERE replica IS NOT NULL',
  ],
  [
    // Codex's thread ids, what an error said and the upstream's request id, and each upstream
    // attempt as JSON (issue 20: retries and 401 recoveries in the waterfall); null in older rows.
    'ALTER TABLE operations ADD COLUMN thread_id TEXT',
    'ALTER TABLE operations ADD COLUMN parent_thread_id TEXT',
    'ALTER TABLE operations ADD COLUMN error_message TEXT',
    'ALTER TABLE operations ADD COLUMN upstream_request_id TEXT',
    'ALTER TABLE operations ADD COLUMN attempts TEXT',
    // A conversation lists the sub-agents it spawned by their parent thread.
    'CREATE INDEX operations_parent_thread ON operations (parent_thread_id, id) WHERE parent_thread_id IS NOT NULL',
  ],
];
