import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/**
 * Starts `modeltap <args>` from `repo`'s build as a child process and resolves with the URL of
 * its "listening on" line (the scripts that drive a real modeltap: soak, screenshot). The child is
 * added to `children` so the caller can stop it; its environment is `env` alone (the mains pass
 * PATH, since only entry points read process.env).
 */
export function startChildCli(
  repo: string,
  args: readonly string[],
  children: ChildProcess[],
  env: Readonly<Record<string, string | undefined>>,
): Promise<{ url: string; pid: number }> {
  const proc = spawn(process.execPath, [join(repo, 'dist/cli/main.js'), ...args], { stdio: ['ignore', 'ignore', 'pipe'], env });
  children.push(proc);
  let err = '';
  return new Promise((resolve, reject) => {
    proc.stderr?.on('data', (c: Buffer) => {
      err += c.toString();
      const url = /listening on (http:\/\/\S+)/.exec(err)?.[1];
      if (url) resolve({ url, pid: proc.pid as number });
    });
    proc.once('exit', (code) => reject(new Error(`modeltap ${args[0] ?? ''} exited ${code}: ${err}`)));
  });
}
