/**
 * A proxy's drain, in two steps a load balancer can follow. First `begin`: `/readyz` answers 503,
 * so health-checking balancers and Kubernetes take the replica out of rotation, while it still
 * serves everything that arrives (endpoints take a few seconds to learn), each response with
 * `Connection: close`. Then `close`: the listener closes, and each WebSocket closes (1001) as soon
 * as it has no turn in flight; in-flight requests and turns finish within the shutdown grace.
 */
export class Drain {
  #draining = false;
  #closing = false;
  readonly #onClose = new Set<() => void>();

  /** Whether a drain has begun: `/readyz` answers 503, connections are not kept alive. Default false. */
  get draining(): boolean {
    return this.#draining;
  }

  /** Whether the listener is closing: WebSockets close once idle. Default false. */
  get closing(): boolean {
    return this.#closing;
  }

  /** Starts the drain: readiness fails from now on. */
  begin(): void {
    this.#draining = true;
  }

  /** The second step: tells every subscriber once, then forgets them. */
  close(): void {
    this.#draining = true;
    if (this.#closing) return;
    this.#closing = true;
    const listeners = [...this.#onClose];
    this.#onClose.clear();
    for (const listener of listeners) listener();
  }

  /** Calls `listener` once when the drain closes (at once if it has); returns the unsubscribe. */
  onClose(listener: () => void): () => void {
    if (this.#closing) {
      // Not synchronously: the subscriber is still setting up (e.g. the unsubscribe not yet assigned).
      queueMicrotask(listener);
      return () => {};
    }
    this.#onClose.add(listener);
    return () => this.#onClose.delete(listener);
  }
}
