#!/usr/bin/env node
/**
 * The `modeltap` command: the composition root, and the only code that reads `process.argv` and
 * `process.env`.
 */
import { VERSION } from '../client/model-client.js';
import { UsageError } from './flags.js';
import { SERVE_HELP, serveCommand } from './serve-command.js';
import { SIM_HELP, simCommand } from './sim-command.js';
import { BENCH_HELP, benchCommand } from './bench-command.js';
import { CHECK_HELP, checkCommand } from './check-command.js';
import { REPORT_HELP, reportCommand } from './report-command.js';
import { EXPORT_HELP, exportCommand } from './export-command.js';
import { VIEW_HELP, viewCommand } from './view-command.js';

const HELP = `Usage: modeltap <command> [options]

Commands:
  serve    Run the proxy (modeltap serve --help)
  sim      Run the simulated upstream (modeltap sim --help)
  bench    Generate load and write a run summary (modeltap bench --help)
  report   Print a run summary (modeltap report --help)
  check    Compare a run with a baseline; exit 1 on a regression (modeltap check --help)
  export   Write a request store's requests as JSON lines (modeltap export --help)
  view     Open the live view over a stored database (modeltap view --help)

  --version  Print the version.
  --help     Show this help.
`;

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};
const io = { stdout: (s: string) => void process.stdout.write(s), stderr: (s: string) => void process.stderr.write(s) };
const print = (text: string): number => {
  process.stdout.write(text);
  return 0;
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
    case 'bench':
      if (wantsHelp) return print(BENCH_HELP);
      return benchCommand(rest, process.env, { ...io, isTTY: process.stderr.isTTY === true });
    case 'report':
      if (wantsHelp) return print(REPORT_HELP);
      return reportCommand(rest, process.env, io);
    case 'check':
      if (wantsHelp) return print(CHECK_HELP);
      return checkCommand(rest, process.env, io);
    case 'export':
      if (wantsHelp) return print(EXPORT_HELP);
      return exportCommand(rest, io);
    case 'view':
      if (wantsHelp) return print(VIEW_HELP);
      await viewCommand(rest, process.env, log);
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
