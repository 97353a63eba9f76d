import { describe, expect, it } from 'vitest';
import { ModelClient } from '../../../src/client/model-client.js';
import { ClientCache } from '../../../src/proxy/client-cache.js';

function cache(options: { maxEntries?: number; idleMs?: number } = {}) {
  let now = 0;
  const created: (string | undefined)[] = [];
  const c = new ClientCache(
    (id) => {
      created.push(id);
      return new ModelClient({ provider: {}, ...(id === undefined ? {} : { conversationId: id }) });
    },
    { ...options, now: () => now },
  );
  return { c, created, advance: (ms: number) => (now += ms) };
}

describe('ClientCache', () => {
  it('keeps one client per conversation and a fresh one per request without an id', () => {
    const { c, created } = cache();
    expect(c.get('a')).toBe(c.get('a'));
    expect(c.get('a').conversationId).toBe('a');
    expect(c.get(undefined)).not.toBe(c.get(undefined));
    expect(created).toEqual(['a', undefined, undefined]);
    c.close();
  });

  it('evicts the least recently used beyond its bound', () => {
    const { c } = cache({ maxEntries: 2 });
    const a = c.get('a');
    c.get('b');
    c.get('a'); // a is now the most recent
    c.get('c'); // evicts b
    expect(c.size).toBe(2);
    expect(c.get('a')).toBe(a);
    c.close();
  });

  it('expires idle entries', () => {
    const { c, advance } = cache({ idleMs: 1000 });
    const a = c.get('a');
    advance(1001);
    expect(c.get('a')).not.toBe(a);
    advance(1001);
    c.sweep();
    expect(c.size).toBe(0);
    c.close();
  });
});
