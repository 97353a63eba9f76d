#!/usr/bin/env node
/**
 * The `modeltap` command. The proxy (`serve`), simulator (`sim`) and CI tools arrive with their
 * issues; until then it reports its version.
 */
import { VERSION } from '../client/model-client.js';

const [command] = process.argv.slice(2);
if (command === '--version' || command === '-v') {
  process.stdout.write(`${VERSION}\n`);
} else {
  process.stderr.write(`modeltap ${VERSION}: unknown command ${command === undefined ? '(none)' : `'${command}'`}. Try --version.\n`);
  process.exitCode = 2;
}
