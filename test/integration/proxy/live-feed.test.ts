// The live view's push over a real store and a real HTTP response: what a page is told when the
// store starts failing (a full disk, simulated by a page limit) and when it works again.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createParser } from 'eventsource-parser';
import { afterEach, describe, expect, it } from 'vitest';
import { LiveFeed } from '../../../src/proxy/live-feed.js';
import { storeApi } from '../../../src/store/store-api.js';
import { Store } from '../../../src/store/store.js';
import { row } from '../../helpers/operation-row.js';

let cleanup: (() => unknown)[] = [];
afterEach(() => {
  for (const fn of cleanup.reverse()) fn();
  cleanup = [];
});

describe('LiveFeed', () => {
  it("pushes the store's state when it starts failing and when it recovers, and each new operation", async () => {
    const store = new Store(':memory:', { maxPageCount: 60 });
    const subscribers = new Set<(id: number) => void>();
    const feed = new LiveFeed(async (path, query) => storeApi(store, path, query), { subscribe: (l) => (subscribers.add(l), () => subscribers.delete(l)) }, 20);
    const server: Server = createServer((_req, res) => feed.serve(res, undefined));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanup.push(() => server.close(), () => feed.close(), () => store.close());
    const abort = new AbortController();
    cleanup.push(() => abort.abort());
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, { signal: abort.signal });
    const events: { event: string; data: Record<string, unknown> }[] = [];
    const waiters: (() => void)[] = [];
    const parser = createParser({ onEvent: (e) => (events.push({ event: e.event ?? '', data: JSON.parse(e.data) }), waiters.splice(0).forEach((w) => w())) });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    void (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        parser.feed(decoder.decode(value, { stream: true }));
      }
    })().catch(() => undefined);
    const next = async (event: string): Promise<Record<string, unknown>> => {
      for (;;) {
        const i = events.findIndex((e) => e.event === event);
        if (i !== -1) return (events.splice(i, 1)[0] as { data: Record<string, unknown> }).data;
        await new Promise<void>((r) => waiters.push(r));
      }
    };
    expect(await next('ready')).toEqual({ cursor: 0 });
    const announce = (): void => subscribers.forEach((l) => l(store.lastId));
    expect(store.write([row({ requestModel: 'first' })])).toBe(1);
    announce();
    expect(((await next('operations'))['operations'] as { requestModel: string }[]).map((o) => o.requestModel)).toEqual(['first']);
    // A batch too large for the page limit: dropped, and the page is told the store is full.
    expect(store.write(Array.from({ length: 200 }, () => row({ content: 'x'.repeat(4000) })))).toBe(0);
    expect(await next('store')).toMatchObject({ fault: { code: 'store_full' }, dropped: 200 });
    expect(store.write([row({ requestModel: 'after' })])).toBe(1);
    announce();
    expect(((await next('operations'))['operations'] as { requestModel: string }[]).map((o) => o.requestModel)).toEqual(['after']);
    expect(await next('store')).toMatchObject({ fault: null });
    expect(feed.clients).toBe(1);
    abort.abort();
  });
});
