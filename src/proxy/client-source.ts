import type { ModelClient } from '../client/model-client.js';

/** Where the proxy gets the ModelClient for a request (`src/cli/create-proxy.ts` builds it). */
export interface ClientSource {
  /** The client of a conversation (undefined: a request that names none). */
  get(conversationId: string | undefined): ModelClient;
  /** Called once at shutdown. */
  close(): void;
}
