import type { ModelClient } from '../client/model-client.js';

interface Entry {
  readonly client: ModelClient;
  lastUsed: number;
}

/**
 * One `ModelClient` per conversation, so that what Codex scopes to a conversation (later: its
 * WebSocket) lives where Codex expects it. Bounded: the least recently used entry goes first, and
 * entries idle longer than `idleMs` expire.
 */
export class ClientCache {
  readonly #entries = new Map<string, Entry>();
  readonly #create: (conversationId: string | undefined) => ModelClient;
  readonly #maxEntries: number;
  readonly #idleMs: number;
  readonly #now: () => number;
  readonly #sweeper: NodeJS.Timeout;

  /**
   * @param create builds a client for a conversation id (undefined: a one-off request).
   * @param maxEntries default 1024. @param idleMs default 10 minutes.
   */
  constructor(
    create: (conversationId: string | undefined) => ModelClient,
    options: { maxEntries?: number; idleMs?: number; now?: () => number } = {},
  ) {
    this.#create = create;
    this.#maxEntries = options.maxEntries ?? 1024;
    this.#idleMs = options.idleMs ?? 600_000;
    this.#now = options.now ?? Date.now;
    this.#sweeper = setInterval(() => this.sweep(), Math.min(this.#idleMs, 60_000));
    this.#sweeper.unref();
  }

  /** The client of a conversation, created on first use; a fresh one when there is no id. */
  get(conversationId: string | undefined): ModelClient {
    if (conversationId === undefined) return this.#create(undefined);
    const now = this.#now();
    const entry = this.#entries.get(conversationId);
    if (entry !== undefined && now - entry.lastUsed <= this.#idleMs) {
      entry.lastUsed = now;
      // Re-insert to keep the map in least-recently-used order.
      this.#entries.delete(conversationId);
      this.#entries.set(conversationId, entry);
      return entry.client;
    }
    const client = this.#create(conversationId);
    this.#entries.delete(conversationId);
    this.#entries.set(conversationId, { client, lastUsed: now });
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
    return client;
  }

  /** Drops idle entries. */
  sweep(): void {
    const cutoff = this.#now() - this.#idleMs;
    for (const [key, entry] of this.#entries) {
      if (entry.lastUsed < cutoff) this.#entries.delete(key);
    }
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Stops the background sweep. */
  close(): void {
    clearInterval(this.#sweeper);
    this.#entries.clear();
  }
}
