// Debian's nginx, started on loopback from the shipped deploy/nginx/modeltap.conf with only its
// listen address and replica list replaced, in a temporary prefix of its own.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const repo = new URL('../../', import.meta.url).pathname;

/** A running nginx. */
export interface Nginx {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** What nginx logged (its error log, warnings and up). */
  errorLog(): string;
  stop(): Promise<void>;
}

/** A port free on 127.0.0.1 right now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The shipped config pointed at `replicas` (host:port each) and listening on `port`. */
export function shippedConfig(replicas: readonly string[], port: number): string {
  const shipped = readFileSync(join(repo, 'deploy/nginx/modeltap.conf'), 'utf8');
  const servers = shipped.match(/^ {4}server \S+(.*);$/gm) ?? [];
  if (servers.length !== 3) throw new Error(`the shipped config lists ${servers.length} replicas, not 3`);
  const options = / {4}server \S+(.*);/.exec(servers[0] ?? '')?.[1] ?? '';
  const listed = replicas.map((r) => `    server ${r}${options};`).join('\n');
  let out = shipped.replace(servers.join('\n'), listed);
  if (out === shipped) throw new Error('the replica lines are not together');
  out = out.replace(/^ {4}listen 8080;$/m, `    listen 127.0.0.1:${port};`);
  if (!out.includes(`listen 127.0.0.1:${port};`)) throw new Error('no `listen 8080;` line in the shipped config');
  return out;
}

/** Starts nginx in front of `replicas` and resolves once it answers. */
export async function startNginx(replicas: readonly string[]): Promise<Nginx> {
  const prefix = mkdtempSync(join(tmpdir(), 'modeltap-nginx-'));
  // Workers may run as another user (nginx started as root switches to nobody): they write temp files here.
  chmodSync(prefix, 0o755);
  for (const dir of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) {
    mkdirSync(join(prefix, dir));
    chmodSync(join(prefix, dir), 0o777);
  }
  const port = await freePort();
  writeFileSync(join(prefix, 'modeltap.conf'), shippedConfig(replicas, port));
  writeFileSync(
    join(prefix, 'nginx.conf'),
    [
      'worker_processes 1;',
      `pid ${prefix}/nginx.pid;`,
      `error_log ${prefix}/error.log warn;`,
      'events { worker_connections 4096; }',
      'http {',
      '  access_log off;',
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((k) => `  ${k}_temp_path ${prefix}/${k === 'client_body' ? 'body' : k};`),
      `  include ${prefix}/modeltap.conf;`,
      '}',
      '',
    ].join('\n'),
  );
  // Debian puts it in /usr/sbin, which a non-root PATH lacks.
  const binary = existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx';
  const proc: ChildProcess = spawn(binary, ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.once('error', (e) => (stderr += String(e)));
  const url = `http://127.0.0.1:${port}`;
  const errorLog = (): string => {
    try {
      return readFileSync(join(prefix, 'error.log'), 'utf8');
    } catch {
      return '';
    }
  };
  for (let i = 0; ; i++) {
    if (proc.exitCode !== null) throw new Error(`nginx exited: ${stderr}${errorLog()}`);
    const up = await fetch(`${url}/healthz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (up) break;
    if (i > 500) throw new Error(`nginx did not answer: ${stderr}${errorLog()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    url,
    errorLog,
    stop: async () => {
      if (proc.exitCode === null) proc.kill('SIGQUIT');
      await exited;
      rmSync(prefix, { recursive: true, force: true });
    },
  };
}
