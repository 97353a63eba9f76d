import { createParser } from 'eventsource-parser';

/** A Server-Sent Events stream read as it arrives: `next(type)` resolves with the next event of that type's parsed data. */
export interface SseEvents {
  next(type: string): Promise<Record<string, unknown>>;
  close(): void;
}

/** Opens `url` as an event stream (its data JSON); `close` aborts it. */
export async function sseEvents(url: string): Promise<SseEvents & { readonly contentType: string | null }> {
  const abort = new AbortController();
  const res = await fetch(url, { signal: abort.signal });
  const queue: { event: string; data: Record<string, unknown> }[] = [];
  const waiters: (() => void)[] = [];
  const parser = createParser({
    onEvent: (e) => {
      queue.push({ event: e.event ?? 'message', data: JSON.parse(e.data) as Record<string, unknown> });
      for (const w of waiters.splice(0)) w();
    },
  });
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  void (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      parser.feed(decoder.decode(value, { stream: true }));
    }
  })().catch(() => undefined);
  return {
    contentType: res.headers.get('content-type'),
    async next(type) {
      for (;;) {
        const i = queue.findIndex((e) => e.event === type);
        if (i !== -1) return (queue.splice(i, 1)[0] as { data: Record<string, unknown> }).data;
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    },
    close: () => abort.abort(),
  };
}
