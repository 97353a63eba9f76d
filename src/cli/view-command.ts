import { existsSync } from 'node:fs';
import { ConfigError } from '../proxy/server.js';
import { startViewServer } from '../proxy/view-server.js';
import { storeApi } from '../store/store-api.js';
import { Store } from '../store/store.js';
import { helpText, parseFlags, UsageError, type FlagDef } from './flags.js';

export const VIEW_FLAGS: readonly FlagDef[] = [
  { name: 'host', env: 'MODELTAP_HOST', kind: 'string', value: 'ADDR', help: 'Address to listen on; anything but loopback needs --access-key.', defaultText: '127.0.0.1' },
  { name: 'port', env: 'MODELTAP_PORT', kind: 'integer', value: 'N', help: 'Port to listen on (0 picks a free one).', defaultText: '8787' },
  { name: 'access-key', env: 'MODELTAP_ACCESS_KEY', kind: 'string', value: 'KEY', help: 'Key a browser must give once as ?key= (kept as a cookie), or callers in x-modeltap-key.' },
  { name: 'trace-url', env: 'MODELTAP_TRACE_URL', kind: 'string', value: 'TEMPLATE', help: "Link each request's trace here, {trace_id} replaced by its id." },
];

export const VIEW_HELP = helpText(
  'Usage: modeltap view PATH [options]',
  'Opens the live view over a stored database (modeltap serve --store PATH) without proxying anything, e.g. a CI run\'s store kept as an artifact. The file is opened read-only.',
  VIEW_FLAGS,
);

/** Runs `modeltap view PATH` until SIGINT/SIGTERM. */
export async function viewCommand(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, log: (line: string) => void): Promise<void> {
  const path = argv[0];
  if (path === undefined || path.startsWith('--')) throw new UsageError('modeltap view needs the PATH of a store');
  const values = parseFlags(argv.slice(1), VIEW_FLAGS, env);
  // Read-only never creates a file; a missing one is a mistyped path, said plainly.
  if (!existsSync(path)) throw new UsageError(`no store at ${path}`);
  const store = new Store(path, { readOnly: true });
  if (store.fault !== null) {
    store.close();
    throw new UsageError(`cannot read the store ${path}: ${store.fault.message}`);
  }
  const host = (values['host'] as string | undefined) ?? '127.0.0.1';
  let server;
  try {
    server = await startViewServer({
      host,
      port: (values['port'] as number | undefined) ?? 8787,
      storeApi: async (p, q) => storeApi(store, p, q),
      ...(values['access-key'] === undefined ? {} : { accessKey: values['access-key'] as string }),
      ...(values['trace-url'] === undefined ? {} : { traceUrl: values['trace-url'] as string }),
    });
  } catch (error) {
    store.close();
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
  log(`modeltap view listening on ${server.url} (${path}, read-only: ${store.newestId() === 0 ? 'no requests' : `requests up to #${store.newestId()}`})`);
  log(`modeltap live view: ${server.url}/${values['access-key'] === undefined ? '' : '?key=…'}`);
  await new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
  store.close();
}
