import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { request, type Dispatcher } from 'undici';
import { ModelClientError } from './errors.js';

/** How a token was obtained: it decides 401 recovery and request compression (spec §3.2, §3.3). */
export type AuthMode = 'api_key' | 'chatgpt' | 'bearer';

/** What goes on the wire: `Authorization: Bearer <token>` and, for ChatGPT auth, the account id. */
export interface Credentials {
  readonly mode: AuthMode;
  readonly token: string;
  readonly accountId?: string;
}

/**
 * The steps a credential source can take after an upstream 401 (Codex's `UnauthorizedRecovery`,
 * spec §4.5). One instance per stream call.
 */
export interface UnauthorizedRecovery {
  hasNext(): boolean;
  /** Runs the next step; throws {@link RefreshTokenError} when it fails. */
  next(): Promise<void>;
}

/** Where credentials come from. Implementations must never put a secret in `description`. */
export interface CredentialSource {
  /** A short description for logs, e.g. `env OPENAI_API_KEY`. */
  readonly description: string;
  /** The current credentials, or undefined for none (no Authorization header at all). */
  credentials(): Promise<Credentials | undefined>;
  /** Recovery steps for a 401, or undefined when there are none. */
  unauthorizedRecovery?(): UnauthorizedRecovery | undefined;
}

/** Why a refresh failed: permanent reasons end recovery; `transient` may work later. */
export type RefreshFailureReason = 'expired' | 'exhausted' | 'revoked' | 'other' | 'transient';

/** A failed recovery step. */
export class RefreshTokenError extends Error {
  override readonly name = 'RefreshTokenError';
  constructor(
    readonly reason: RefreshFailureReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** Permanent failures map to `refresh_token_failed`; transient ones to `io` (§4.5). */
  get permanent(): boolean {
    return this.reason !== 'transient';
  }
}

function missing(message: string, kind: 'env_var' | 'io' = 'io'): ModelClientError {
  return new ModelClientError({ kind, message, source: 'client', status: 500 });
}

/** A fixed API key. Codex gives API keys no 401 recovery (§4.5). */
export class ApiKeyCredentials implements CredentialSource {
  readonly description = 'api key';
  readonly #token: string;
  constructor(apiKey: string) {
    this.#token = apiKey;
  }
  async credentials(): Promise<Credentials> {
    return { mode: 'api_key', token: this.#token };
  }
}

/** A fixed bearer token (Codex's `experimental_bearer_token`). No recovery. */
export class BearerTokenCredentials implements CredentialSource {
  readonly description = 'bearer token';
  readonly #token: string;
  constructor(token: string) {
    this.#token = token;
  }
  async credentials(): Promise<Credentials> {
    return { mode: 'bearer', token: this.#token };
  }
}

/**
 * An API key read from an environment variable on every request (Codex's `env_key`). A missing or
 * blank variable is a hard `env_var` error (§3.2). The environment is passed in: only the CLI
 * reads `process.env`.
 */
export class EnvVarCredentials implements CredentialSource {
  readonly description: string;
  readonly #name: string;
  readonly #env: Readonly<Record<string, string | undefined>>;
  constructor(name: string, env: Readonly<Record<string, string | undefined>>) {
    this.#name = name;
    this.#env = env;
    this.description = `env ${name}`;
  }
  async credentials(): Promise<Credentials> {
    const value = this.#env[this.#name]?.trim();
    if (!value) {
      throw missing(
        `Missing environment variable: \`${this.#name}\`. Set it to the API key for this provider.`,
        'env_var',
      );
    }
    return { mode: 'api_key', token: value };
  }
}

/** The fields of Codex's `auth.json` that matter here. */
interface AuthFileContents {
  OPENAI_API_KEY?: string | null;
  tokens?: {
    id_token?: string;
    access_token?: string;
    refresh_token?: string;
    account_id?: string;
  } | null;
  last_refresh?: string;
  [key: string]: unknown;
}

/** Options for {@link AuthFileCredentials}. */
export interface AuthFileOptions {
  /** Path of a Codex-style `auth.json`. */
  readonly path: string;
  /** Use `OPENAI_API_KEY` even when ChatGPT tokens exist. Default false. */
  readonly preferApiKey?: boolean;
  /** OAuth issuer for the refresh step. Default `https://auth.openai.com`. */
  readonly issuer?: string;
  /** OAuth client id for the refresh step. Default Codex's. */
  readonly clientId?: string;
  /** The HTTP dispatcher for the refresh call. */
  readonly dispatcher?: Dispatcher;
}

const CODEX_CLIENT_ID = 'app_EMoamEEZ73f0CkXaXp7hrann';

/**
 * Credentials from a JSON file in Codex's `auth.json` format: `OPENAI_API_KEY` and/or ChatGPT
 * `tokens`. On a 401 it recovers as Codex does (§4.5): first it re-reads the file (adopting tokens
 * another process wrote, if the account matches), then, for ChatGPT tokens, it refreshes them
 * through the OAuth token endpoint and writes them back.
 *
 * Unlike Codex, an API key read from the file also gets the re-read step, so that a key rotated on
 * disk is picked up without a restart (see the README).
 */
export class AuthFileCredentials implements CredentialSource {
  readonly description: string;
  readonly #options: AuthFileOptions;
  #contents: AuthFileContents | undefined;
  #initialAccountId: string | undefined;

  constructor(options: AuthFileOptions) {
    this.#options = options;
    this.description = `auth file ${options.path}`;
  }

  async credentials(): Promise<Credentials | undefined> {
    this.#contents ??= await this.#read();
    return this.#select(this.#contents);
  }

  unauthorizedRecovery(): UnauthorizedRecovery | undefined {
    const mode = this.#contents ? this.#select(this.#contents)?.mode : undefined;
    if (mode === undefined) return undefined;
    const steps: ('reload' | 'refresh')[] = mode === 'chatgpt' ? ['reload', 'refresh'] : ['reload'];
    return {
      hasNext: () => steps.length > 0,
      next: async () => {
        const step = steps.shift();
        if (step === 'reload') {
          const reloaded = await this.#reload();
          // B: on an account mismatch the reload is skipped and the refresh runs in the same step.
          if (!reloaded && steps[0] === 'refresh') {
            steps.shift();
            await this.#refresh();
          }
        } else if (step === 'refresh') {
          await this.#refresh();
        }
      },
    };
  }

  #select(contents: AuthFileContents): Credentials | undefined {
    const apiKey = contents.OPENAI_API_KEY ?? undefined;
    const access = contents.tokens?.access_token;
    if (apiKey && (this.#options.preferApiKey || !access)) return { mode: 'api_key', token: apiKey };
    if (access) {
      const accountId = contents.tokens?.account_id;
      return accountId ? { mode: 'chatgpt', token: access, accountId } : { mode: 'chatgpt', token: access };
    }
    return undefined;
  }

  async #read(): Promise<AuthFileContents> {
    let text: string;
    try {
      text = await readFile(this.#options.path, 'utf8');
    } catch (cause) {
      throw new RefreshTokenError('transient', `cannot read auth file ${this.#options.path}`, { cause });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (cause) {
      throw new RefreshTokenError('other', `auth file ${this.#options.path} is not valid JSON`, { cause });
    }
    if (parsed === null || typeof parsed !== 'object') {
      throw new RefreshTokenError('other', `auth file ${this.#options.path} is not a JSON object`);
    }
    const contents = parsed as AuthFileContents;
    this.#initialAccountId ??= contents.tokens?.account_id;
    return contents;
  }

  /** Re-reads the file; false when the account differs from the one we started with. */
  async #reload(): Promise<boolean> {
    const fresh = await this.#read();
    const account = fresh.tokens?.account_id;
    if (this.#initialAccountId !== undefined && account !== undefined && account !== this.#initialAccountId) {
      return false;
    }
    this.#contents = fresh;
    return true;
  }

  async #refresh(): Promise<void> {
    const current = this.#contents ?? (await this.#read());
    const refreshToken = current.tokens?.refresh_token;
    if (!refreshToken) throw new RefreshTokenError('other', 'no refresh token in the auth file');
    const issuer = (this.#options.issuer ?? 'https://auth.openai.com').replace(/\/+$/, '');
    let status: number;
    let text: string;
    try {
      const res = await request(`${issuer}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          client_id: this.#options.clientId ?? CODEX_CLIENT_ID,
          grant_type: 'refresh_token',
          refresh_token: refreshToken,
          scope: 'openid profile email',
        }),
        ...(this.#options.dispatcher ? { dispatcher: this.#options.dispatcher } : {}),
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (cause) {
      throw new RefreshTokenError('transient', 'token refresh failed: network error', { cause });
    }
    if (status === 401) throw new RefreshTokenError(refreshFailureReason(text), `token refresh failed: ${status}`);
    if (status < 200 || status > 299) throw new RefreshTokenError('transient', `token refresh failed: ${status}`);
    const fresh = JSON.parse(text) as { id_token?: string; access_token?: string; refresh_token?: string };
    const updated: AuthFileContents = {
      ...current,
      tokens: {
        ...current.tokens,
        ...(fresh.id_token ? { id_token: fresh.id_token } : {}),
        ...(fresh.access_token ? { access_token: fresh.access_token } : {}),
        ...(fresh.refresh_token ? { refresh_token: fresh.refresh_token } : {}),
      },
      last_refresh: new Date().toISOString(),
    };
    await writeFile(this.#options.path, `${JSON.stringify(updated, null, 2)}\n`, { mode: 0o600 });
    this.#contents = updated;
  }
}

function refreshFailureReason(body: string): RefreshFailureReason {
  let code: unknown;
  try {
    const parsed = JSON.parse(body) as { error?: unknown; code?: unknown };
    code = typeof parsed.error === 'object' && parsed.error !== null ? (parsed.error as { code?: unknown }).code : (parsed.code ?? parsed.error);
  } catch {
    return 'other';
  }
  switch (code) {
    case 'refresh_token_expired':
      return 'expired';
    case 'refresh_token_reused':
      return 'exhausted';
    case 'refresh_token_invalidated':
      return 'revoked';
    default:
      return 'other';
  }
}

/** Options for {@link CommandCredentials}. */
export interface CommandCredentialsOptions {
  /** A shell command whose standard output (trimmed) is the token. */
  readonly command: string;
  /** Longest time the command may run, in ms. Default 10000. */
  readonly timeoutMs?: number;
  /** Token mode reported upstream. Default `bearer`. */
  readonly mode?: AuthMode;
}

/**
 * A token printed by a command (a secrets manager, a cloud CLI). It runs once, then again after a
 * 401: one recovery step.
 */
export class CommandCredentials implements CredentialSource {
  readonly description: string;
  readonly #options: CommandCredentialsOptions;
  #token: Promise<string> | undefined;

  constructor(options: CommandCredentialsOptions) {
    this.#options = options;
    this.description = 'auth command';
  }

  async credentials(): Promise<Credentials> {
    this.#token ??= this.#run();
    let token: string;
    try {
      token = await this.#token;
    } catch (cause) {
      this.#token = undefined;
      throw missing(`auth command failed: ${(cause as Error).message}`);
    }
    return { mode: this.#options.mode ?? 'bearer', token };
  }

  unauthorizedRecovery(): UnauthorizedRecovery {
    let used = false;
    return {
      hasNext: () => !used,
      next: async () => {
        used = true;
        const fresh = this.#run();
        try {
          await fresh;
        } catch (cause) {
          throw new RefreshTokenError('transient', `auth command failed: ${(cause as Error).message}`, { cause });
        }
        this.#token = fresh;
      },
    };
  }

  #run(): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(
        '/bin/sh',
        ['-c', this.#options.command],
        { timeout: this.#options.timeoutMs ?? 10_000, maxBuffer: 64 * 1024, windowsHide: true },
        (error, stdout) => {
          if (error) {
            reject(new Error(error.killed ? 'timed out' : `exit ${String(error.code)}`));
            return;
          }
          const token = stdout.trim();
          if (token === '') reject(new Error('printed no token'));
          else resolve(token);
        },
      );
    });
  }
}

/** `{ apiKey }` or a source, as `ModelClient` accepts it. */
export type AuthOption = { readonly apiKey: string } | CredentialSource;

/** Normalises the `auth` option. */
export function toCredentialSource(auth: AuthOption | undefined): CredentialSource | undefined {
  if (auth === undefined) return undefined;
  if ('credentials' in auth) return auth;
  return new ApiKeyCredentials(auth.apiKey);
}
