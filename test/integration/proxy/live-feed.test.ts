// The live view's push over a real store and a real HTTP response: what a page is told when the
// store starts failing (a full disk, simulated by a page limit) and when it works again.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LiveFeed } from '../../../src/proxy/live-feed.js';
import { storeApi } from '../../../src/store/store-api.js';
import { Store } from '../../../src/store/store.js';
import { row } from '../../helpers/operation-row.js';
import { sseEvents } from '../../helpers/sse-events.js';

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
    const stream = await sseEvents(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    cleanup.push(() => stream.close());
    const next = (event: string) => stream.next(event);
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
    stream.close();
  });
});
