// A throwaway PostgreSQL server for tests: initdb into a temporary directory (trust auth, user
// postgres), pg_ctl start on a free 127.0.0.1 port with its unix socket in that directory, one
// database created; stop() stops it and removes the directory. PostgreSQL missing fails the test:
// CI installs the Debian package `postgresql`.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import pg from 'pg';

/** A running test PostgreSQL. */
export interface TestPostgres {
  /** `postgres://postgres@127.0.0.1:PORT/DB`. */
  readonly url: string;
  readonly port: number;
  readonly database: string;
  /** `pg_ctl stop -m fast` (the data directory stays: {@link start} brings it back on the same port). */
  stopServer(): void;
  /** `pg_ctl start` again after {@link stopServer}. */
  start(): void;
  /** Runs one SQL statement as postgres in the test database. */
  query<T extends Record<string, unknown> = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Another empty database on the same server, as a URL. */
  createDatabase(name: string): Promise<string>;
  /** Stops the server and removes its directory. */
  stop(): void;
}

/** Runs one SQL statement in the database at `url` (a connection of its own). */
export async function queryAt<T extends Record<string, unknown> = Record<string, unknown>>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** The directory holding initdb and pg_ctl: on PATH, else the newest /usr/lib/postgresql/N/bin. */
export function postgresBin(): string {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir !== '' && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'))) return dir;
  }
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) {
    const dir = join(root, v, 'bin');
    if (existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'))) return dir;
  }
  throw new Error('PostgreSQL is not installed: initdb and pg_ctl are neither on PATH nor in /usr/lib/postgresql/*/bin (Debian: apt-get install postgresql)');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Postgres refuses to run as root: as root, its tools run as the `postgres` OS user. */
function run(bin: string, args: readonly string[]): void {
  const asRoot = process.getuid?.() === 0;
  const [cmd, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, args[0] as string), ...args.slice(1)]] : [join(bin, args[0] as string), args.slice(1)];
  const result = spawnSync(cmd, argv, { encoding: 'utf8', timeout: 60_000 });
  if (result.status !== 0) throw new Error(`${args[0]} failed (${result.status ?? result.signal}): ${result.stderr}${result.stdout}`);
}

/** Starts a PostgreSQL server for a test (see the file's comment). */
export async function startPostgres(database = 'modeltap'): Promise<TestPostgres> {
  const bin = postgresBin();
  const dir = mkdtempSync(join(tmpdir(), 'modeltap-pg-'));
  const data = join(dir, 'data');
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  chmodSync(dir, 0o700);
  const port = await freePort();
  run(bin, ['initdb', '-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const options = `-h 127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
  const start = (): void => run(bin, ['pg_ctl', '-D', data, '-o', options, '-l', join(dir, 'log'), '-w', '-t', '60', 'start']);
  const stopServer = (): void => run(bin, ['pg_ctl', '-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']);
  try {
    start();
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const admin = `postgres://postgres@127.0.0.1:${port}`;
  const query = queryAt;
  const createDatabase = async (name: string): Promise<string> => {
    await query(`${admin}/postgres`, `CREATE DATABASE ${name}`);
    return `${admin}/${name}`;
  };
  let stopped = false;
  const running: TestPostgres = {
    url: await createDatabase(database),
    port,
    database,
    stopServer,
    start,
    query: (sql, params) => query(`${admin}/${database}`, sql, params),
    createDatabase,
    stop: () => {
      if (stopped) return;
      stopped = true;
      try {
        stopServer();
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return running;
}
