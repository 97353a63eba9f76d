import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { completed, frame, sse, startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';

const repo = new URL('../../', import.meta.url).pathname;

/** The first ```js block after the "Use the ModelClient as a library" heading. */
function libraryExample(): string {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Use the ModelClient as a library'));
  const match = /```js\n([\s\S]*?)```/.exec(section);
  if (!match?.[1]) throw new Error('no js example in the library section');
  return match[1];
}

let upstream: FakeUpstream | undefined;
afterEach(async () => {
  await upstream?.close();
});

describe('README', () => {
  it('the library example runs against an upstream and prints the streamed text and usage', async () => {
    upstream = await startFakeUpstream(
      sse([
        frame({ type: 'response.output_text.delta', delta: 'Hello' }),
        frame({ type: 'response.output_text.delta', delta: '!' }),
        completed('resp_readme', { input_tokens: 5, output_tokens: 2, total_tokens: 7 }),
      ]),
    );
    // Inside the package directory, `import 'modeltap'` resolves to the built package itself.
    const dir = mkdtempSync(join(repo, '.readme-example-'));
    const file = join(dir, 'example.mjs');
    writeFileSync(file, libraryExample());
    try {
      const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
        execFile(
          process.execPath,
          [file],
          { cwd: repo, timeout: 15_000, env: { PATH: process.env['PATH'] ?? '', OPENAI_API_KEY: 'sk-readme', OPENAI_BASE_URL: `${upstream?.url}/v1` } },
          (error, out, err) => (error ? reject(Object.assign(error, { stderr: err })) : resolve({ stdout: out, stderr: err })),
        );
      });
      expect(stdout).toBe('Hello!\nresp_readme: 7 tokens\n');
      expect(stderr).toMatch(/^attempt 0: 200 after \d+\.\d ms\n$/);
      expect(upstream.calls[0]?.headers['authorization']).toBe('Bearer sk-readme');
      expect(JSON.parse(upstream.calls[0]?.body.toString() ?? '')).toMatchObject({ model: 'gpt-5.1', instructions: 'You are a terse assistant.' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
