#!/usr/bin/env node
/**
 * The `modeltap` command: the composition root, and the only code that reads `process.argv` and
 * `process.env`.
 */
import { VERSION } from '../client/model-client.js';
import { UsageError } from './flags.js';
import { SERVE_HELP, serveCommand } from './serve-command.js';
import { SIM_HELP, simCommand } from './sim-command.js';

const HELP = `Usage: modeltap <command> [options]

Commands:
  serve    Run the proxy (modeltap serve --help)
  sim      Run the simulated upstream (modeltap sim --help)

  --version  Print the version.
  --help     Show this help.
`;

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  const wantsHelp = rest.includes('--help') || rest.includes('-h');
  switch (command) {
    case undefined:
    case '--help':
    case '-h':
      process.stdout.write(HELP);
      return command === undefined ? 2 : 0;
    case '--version':
    case '-v':
      process.stdout.write(`${VERSION}\n`);
      return 0;
    case 'serve':
      if (wantsHelp) {
        process.stdout.write(SERVE_HELP);
        return 0;
      }
      await serveCommand(rest, process.env, log);
      return 0;
    case 'sim':
      if (wantsHelp) {
        process.stdout.write(SIM_HELP);
        return 0;
      }
      await simCommand(rest, process.env, log);
      return 0;
    default:
      throw new UsageError(`unknown command '${command}' (try modeltap --help)`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`modeltap: ${error.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`modeltap: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
