#!/usr/bin/env node
/** Entry of the benchmark's load-client process: the spec as JSON in argv[2], the result on stdout. */
import { runLoad, type LoadSpec } from './load-client.js';

const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
runLoad(spec).then(
  (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
  (error: unknown) => {
    process.stderr.write(`load client failed: ${String(error)}\n`);
    process.exit(1);
  },
);
