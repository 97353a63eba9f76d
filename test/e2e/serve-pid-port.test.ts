// `modeltap serve --pid-file` (what a CI script stops the server through) and a port that is taken.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, startCli } from './cli.js';

describe('modeltap serve --pid-file', () => {
  it("replaces a stale file with the server's own pid, and removes it on exit after writing the summary", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'modeltap-pid-'));
    const pidFile = join(dir, 'modeltap.pid');
    const summaryFile = join(dir, 'summary.json');
    writeFileSync(pidFile, '4194303\n'); // a previous run's, left behind by a crash
    const proxy = await startCli(['serve', '--port', '0', '--upstream', 'sim', '--pid-file', pidFile, '--summary-file', summaryFile]);
    expect(readFileSync(pidFile, 'utf8')).toBe(`${proxy.proc.pid}\n`);
    const res = await fetch(`${proxy.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', input: 'x' }) });
    expect(res.status).toBe(200);
    await res.text();
    expect(await proxy.stop('SIGTERM')).toBe(0);
    expect(existsSync(pidFile)).toBe(false);
    const summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as { groups: { count: number }[] };
    expect(summary.groups[0]?.count).toBe(1);
  });

  it('a SIGINT or SIGTERM sent the moment the listening line appears is handled: exit 0, summary written, pid file gone (8 times)', async () => {
    // A script may signal as soon as it sees the line or the file. The handlers used to be
    // installed just after the line was written: the write woke the reader, whose signal often
    // came first and killed the server (default action, no summary).
    for (let i = 0; i < 8; i++) {
      const dir = mkdtempSync(join(tmpdir(), 'modeltap-pid-'));
      const proxy = await startCli(['serve', '--port', '0', '--upstream', 'sim', '--pid-file', join(dir, 'pid'), '--summary-file', join(dir, 'summary.json')]);
      expect(await proxy.stop(i % 2 === 0 ? 'SIGINT' : 'SIGTERM')).toBe(0);
      expect(existsSync(join(dir, 'summary.json'))).toBe(true);
      expect(existsSync(join(dir, 'pid'))).toBe(false);
    }
  });

  it('the environment variable MODELTAP_PID_FILE does the same', async () => {
    const pidFile = join(mkdtempSync(join(tmpdir(), 'modeltap-pid-')), 'modeltap.pid');
    const proxy = await startCli(['serve', '--port', '0', '--upstream', 'sim'], { MODELTAP_PID_FILE: pidFile });
    expect(readFileSync(pidFile, 'utf8')).toBe(`${proxy.proc.pid}\n`);
    expect(await proxy.stop('SIGINT')).toBe(0);
    expect(existsSync(pidFile)).toBe(false);
  });
});

describe('modeltap serve on a port that is taken', () => {
  it('a second server on the same port exits 1 with one line that says to use --port', async () => {
    const first = await startCli(['serve', '--port', '0', '--upstream', 'sim']);
    try {
      const port = new URL(first.url).port;
      const second = await runCli(['serve', '--port', port, '--upstream', 'sim']);
      expect(second.code).toBe(1);
      expect(second.stderr).toBe(`modeltap: 127.0.0.1:${port} is already in use: stop whatever listens there, or choose another port with --port (0 picks a free one)\n`);
      // The first one is unharmed.
      expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
    } finally {
      await first.stop();
    }
  });

  it('a taken --metrics-port names --metrics-port, and leaves no pid file behind', async () => {
    const first = await startCli(['serve', '--port', '0', '--upstream', 'sim']);
    try {
      const port = new URL(first.url).port;
      const pidFile = join(mkdtempSync(join(tmpdir(), 'modeltap-pid-')), 'modeltap.pid');
      const second = await runCli(['serve', '--port', '0', '--metrics-port', port, '--upstream', 'sim', '--pid-file', pidFile]);
      expect(second.code).toBe(1);
      expect(second.stderr).toBe(`modeltap: 127.0.0.1:${port} is already in use: stop whatever listens there, or choose another port with --metrics-port (0 picks a free one)\n`);
      expect(existsSync(pidFile)).toBe(false);
    } finally {
      await first.stop();
    }
  });
});
