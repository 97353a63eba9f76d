import { describe, expect, it } from 'vitest';
import { AccessKey, VIEW_COOKIE } from '../../../src/proxy/access-key.js';

describe('AccessKey', () => {
  it('admits everyone without a key, and only the key in x-modeltap-key with one', () => {
    expect(new AccessKey(undefined).admits({})).toBe(true);
    const key = new AccessKey('k-1');
    expect(key.admits({})).toBe(false);
    expect(key.admits({ 'x-modeltap-key': 'k-1' })).toBe(true);
    expect(key.admits({ 'x-modeltap-key': 'k-2' })).toBe(false);
    expect(key.admits({ authorization: 'Bearer k-1' })).toBe(false);
    expect(key.admits({ authorization: 'Bearer k-1' }, true)).toBe(true);
  });

  it("gives a browser a cookie that is a digest of the key, admitted only where the view's cookie is", () => {
    const key = new AccessKey('k-1');
    const setCookie = key.viewCookie(false) as string;
    expect(setCookie).toMatch(new RegExp(`^${VIEW_COOKIE}=[\\w-]{43}; Path=/; HttpOnly; SameSite=Strict$`));
    expect(key.viewCookie(true)).toMatch(/; Secure$/);
    expect(setCookie).not.toContain('k-1');
    const cookie = setCookie.split(';')[0] as string;
    expect(key.admits({ cookie: `other=1; ${cookie}` }, false, true)).toBe(true);
    // Not on the model routes, and not another key's cookie, nor the key itself as a cookie.
    expect(key.admits({ cookie }, false, false)).toBe(false);
    expect(key.admits({ cookie: (new AccessKey('k-2').viewCookie(false) as string).split(';')[0] as string }, false, true)).toBe(false);
    expect(key.admits({ cookie: `${VIEW_COOKIE}=k-1` }, false, true)).toBe(false);
    expect(key.admits({ cookie: `${VIEW_COOKIE}=é${cookie.slice(VIEW_COOKIE.length + 2)}` }, false, true)).toBe(false);
    expect(key.isKey('k-1')).toBe(true);
    expect(key.isKey('k-10')).toBe(false);
    expect(new AccessKey(undefined).viewCookie(false)).toBeUndefined();
  });
});
