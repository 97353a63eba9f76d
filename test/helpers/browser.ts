import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium (`apt-get install chromium`; Playwright's own browser download does not work here). */
export const CHROMIUM = '/usr/bin/chromium';

/** The flags this machine's Chromium needs headless: no sandbox as root, no GPU, no network of its own. */
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** Launches Debian's Chromium through playwright-core. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
}

/** Where tests keep their screenshots (`test-artifacts/`, kept out of git; CI may upload it). */
export function artifactPath(name: string): string {
  const dir = new URL('../../test-artifacts/', import.meta.url).pathname;
  mkdirSync(dir, { recursive: true });
  return join(dir, name);
}
