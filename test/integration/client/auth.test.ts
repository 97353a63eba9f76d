// Spec §4.5 and §6.6 item 47 (auth_refresh.rs): 401 recovery against real loopback servers.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiKeyCredentials, AuthFileCredentials, CommandCredentials, RefreshTokenError } from '../../../src/index.js';
import { completed, json, sse, upstreamPool } from '../../helpers/fake-upstream.js';
import { clientFor, drain, prompt } from '../../helpers/client.js';

const pool = upstreamPool();
const start = pool.start;
afterEach(() => pool.closeAll());

function writeAuth(contents: unknown, path?: string): string {
  const file = path ?? join(mkdtempSync(join(tmpdir(), 'modeltap-auth-')), 'auth.json');
  writeFileSync(file, JSON.stringify(contents));
  return file;
}

const tokens = (access: string, refresh = 'refresh-1', account = 'acct-1') => ({
  tokens: { id_token: 'id', access_token: access, refresh_token: refresh, account_id: account },
});
const unauthorized = json(401, { error: { message: 'expired token' } });

describe('UnauthorizedRecovery (§4.5, item 47)', () => {
  it('step 1 reloads tokens written by another process, with no network call', async () => {
    const oauth = await start(json(500, {}));
    const path = writeAuth(tokens('old'));
    const source = new AuthFileCredentials({ path, issuer: oauth.url });
    expect(await source.credentials()).toEqual({ mode: 'chatgpt', token: 'old', accountId: 'acct-1' });
    writeAuth(tokens('new-from-disk'), path);
    const recovery = source.unauthorizedRecovery();
    expect(recovery?.hasNext()).toBe(true);
    await recovery?.next();
    expect((await source.credentials())?.token).toBe('new-from-disk');
    expect(oauth.calls).toHaveLength(0);
  });

  it('step 2 performs exactly one refresh call and persists the new tokens; then no step is left', async () => {
    const oauth = await start(json(200, { id_token: 'id-2', access_token: 'access-2', refresh_token: 'refresh-2' }));
    const path = writeAuth(tokens('old'));
    const source = new AuthFileCredentials({ path, issuer: oauth.url, clientId: 'client-x' });
    await source.credentials();
    const recovery = source.unauthorizedRecovery();
    await recovery?.next();
    await recovery?.next();
    expect(oauth.calls).toHaveLength(1);
    expect(oauth.calls[0]?.url).toBe('/oauth/token');
    expect(JSON.parse(oauth.calls[0]?.body.toString() ?? '')).toEqual({
      client_id: 'client-x',
      grant_type: 'refresh_token',
      refresh_token: 'refresh-1',
      scope: 'openid profile email',
    });
    const stored = JSON.parse(readFileSync(path, 'utf8')) as { tokens: Record<string, string>; last_refresh: string };
    expect(stored.tokens).toEqual({ id_token: 'id-2', access_token: 'access-2', refresh_token: 'refresh-2', account_id: 'acct-1' });
    expect(typeof stored.last_refresh).toBe('string');
    expect(recovery?.hasNext()).toBe(false);
    expect((await source.credentials())?.token).toBe('access-2');
  });

  it('an API key has no recovery step', () => {
    expect((new ApiKeyCredentials('sk') as { unauthorizedRecovery?: unknown }).unauthorizedRecovery).toBeUndefined();
  });

  it('refresh 401 refresh_token_expired is a permanent Expired error; refresh 500 is transient', async () => {
    const expired = await start(json(401, { error: { code: 'refresh_token_expired', message: 'expired' } }));
    const failing = await start(json(500, {}));
    for (const [oauth, reason, permanent] of [[expired, 'expired', true], [failing, 'transient', false]] as const) {
      const source = new AuthFileCredentials({ path: writeAuth(tokens('old')), issuer: oauth.url });
      await source.credentials();
      const recovery = source.unauthorizedRecovery();
      await recovery?.next(); // reload
      const error = await recovery?.next().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RefreshTokenError);
      expect(error).toMatchObject({ reason, permanent });
    }
  });
});

describe('the 401 loop in a stream call', () => {
  it('reloads, refreshes and succeeds with the new token; attempts restart at 0', async () => {
    const oauth = await start(json(200, { access_token: 'access-2' }));
    const upstream = await start([unauthorized, unauthorized, sse(completed('ok'))]);
    const path = writeAuth(tokens('old'));
    const attempts: [number, number | null][] = [];
    const client = clientFor(upstream, {
      auth: new AuthFileCredentials({ path, issuer: oauth.url }),
      provider: { requestMaxRetries: 3 },
      telemetry: { onRequest: (attempt, status) => attempts.push([attempt, status]) },
    });
    const { events, error } = await drain(client.newSession().stream(prompt()));
    expect(error).toBeUndefined();
    expect(events.at(-1)).toMatchObject({ type: 'completed', responseId: 'ok' });
    expect(upstream.calls.map((c) => c.headers['authorization'])).toEqual(['Bearer old', 'Bearer old', 'Bearer access-2']);
    expect(attempts).toEqual([[0, 401], [0, 401], [0, 200]]);
    expect(oauth.calls).toHaveLength(1);
  });

  it('gives the mapped 401 when no step is left, and refresh_token_failed on a permanent failure', async () => {
    const upstream = await start(unauthorized);
    const keyed = await drain(clientFor(upstream).newSession().stream(prompt()));
    expect(upstream.calls).toHaveLength(1);
    expect(keyed.error).toMatchObject({ kind: 'unexpected_status', upstreamStatus: 401, retryable: true });

    const oauth = await start(json(401, { error: { code: 'refresh_token_expired' } }));
    const auth = new AuthFileCredentials({ path: writeAuth(tokens('old')), issuer: oauth.url });
    const refreshed = await drain(clientFor(upstream, { auth }).newSession().stream(prompt()));
    expect(refreshed.error).toMatchObject({ kind: 'refresh_token_failed', status: 401, retryable: false });
  });

  it('a command source re-runs its command once after a 401', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'modeltap-cmd-'));
    const counter = join(dir, 'n');
    writeFileSync(counter, '0');
    // Prints token-1, then token-2, … counting its own runs in a file.
    const command = `n=$(($(cat ${counter}) + 1)); echo $n > ${counter}; echo token-$n`;
    const upstream = await start([unauthorized, sse(completed())]);
    const client = clientFor(upstream, { auth: new CommandCredentials({ command }) });
    const { error } = await drain(client.newSession().stream(prompt()));
    expect(error).toBeUndefined();
    expect(upstream.calls.map((c) => c.headers['authorization'])).toEqual(['Bearer token-1', 'Bearer token-2']);
  });

  it('an API-key auth file is re-read once after a 401, picking up a rotated key', async () => {
    const upstream = await start([unauthorized, sse(completed())]);
    const path = writeAuth({ OPENAI_API_KEY: 'sk-old' });
    const auth = new AuthFileCredentials({ path });
    const session = clientFor(upstream, { auth }).newSession();
    const stream = session.stream(prompt());
    await auth.credentials();
    writeAuth({ OPENAI_API_KEY: 'sk-rotated' }, path);
    await drain(stream);
    expect(upstream.calls.map((c) => c.headers['authorization'])).toEqual(['Bearer sk-old', 'Bearer sk-rotated']);
  });
});
