import { execFile } from 'node:child_process';

/** Longest a single `git` call may run while building turn metadata, in ms. */
export const GIT_TIMEOUT_MS = 5_000;

function git(cwd: string, args: readonly string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('git', args, { cwd, timeout: GIT_TIMEOUT_MS, maxBuffer: 1024 * 1024, windowsHide: true }, (error, stdout) => {
      resolve(error ? undefined : stdout);
    });
  });
}

/**
 * The `x-codex-turn-metadata` value for a working directory (spec §3.6): the git workspace's remote
 * URLs, latest commit and whether it has uncommitted changes, keyed by the repository root.
 * Undefined outside a git repository or when nothing is known.
 */
export async function computeTurnMetadata(cwd: string): Promise<string | undefined> {
  const root = (await git(cwd, ['rev-parse', '--show-toplevel']))?.trim();
  if (!root) return undefined;
  const [remotes, head, status] = await Promise.all([
    git(root, ['remote', '-v']),
    git(root, ['rev-parse', 'HEAD']),
    git(root, ['status', '--porcelain']),
  ]);
  const urls: Record<string, string> = {};
  for (const line of (remotes ?? '').split('\n')) {
    const match = /^(\S+)\s+(\S+)\s+\(fetch\)$/.exec(line.trim());
    if (match?.[1] && match[2]) urls[match[1]] = match[2];
  }
  const workspace: Record<string, unknown> = {};
  if (Object.keys(urls).length > 0) workspace['associated_remote_urls'] = urls;
  const commit = head?.trim();
  if (commit) workspace['latest_git_commit_hash'] = commit;
  if (status !== undefined) workspace['has_changes'] = status.trim() !== '';
  if (Object.keys(workspace).length === 0) return undefined;
  return JSON.stringify({ workspaces: { [root]: workspace } });
}

interface CacheEntry {
  value: string | undefined;
  ready: Promise<string | undefined>;
}

/**
 * Computes turn metadata in the background and caches it per directory, so that requests use
 * whatever is ready and never wait for `git` (§3.6).
 */
export class TurnMetadataCache {
  readonly #entries = new Map<string, CacheEntry>();

  /** Starts computing (once per directory) and returns the entry. */
  start(cwd: string): CacheEntry {
    let entry = this.#entries.get(cwd);
    if (entry === undefined) {
      const created: CacheEntry = { value: undefined, ready: Promise.resolve(undefined) };
      created.ready = computeTurnMetadata(cwd).then(
        (value) => (created.value = value),
        () => undefined,
      );
      this.#entries.set(cwd, created);
      entry = created;
    }
    return entry;
  }
}
