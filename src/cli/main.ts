import '../util/dispose.ts';
import { startReaper } from '../docker/reaper.ts';
import { EXIT } from './exit-codes.ts';
import { runCli } from './run-cli.ts';

// The only place that touches the process: signals in, exit code out.
const CLEANUP_BUDGET_MS = 20_000;
const controller = new AbortController();
let interrupts = 0;
const onSignal = (signal: NodeJS.Signals) => {
  interrupts += 1;
  // Leaving at once is safe: the reaper sees this process end and removes what is left.
  if (interrupts > 1) {
    process.stderr.write(`retrolab: ${signal} again: leaving now; the reaper removes what is left within seconds\n`);
    process.exit(EXIT.interrupted);
  }
  process.stderr.write(`\nretrolab: ${signal}: stopping, removing what this run started and writing what was decided (again to force)\n`);
  controller.abort(new Error(`interrupted by ${signal}`));
  // A cleanup stuck on a dead engine must not hold the terminal: bounded, then the reaper's turn.
  setTimeout(() => {
    process.stderr.write(`retrolab: cleanup took over ${CLEANUP_BUDGET_MS / 1000} s; leaving it to the reaper\n`);
    process.exit(EXIT.interrupted);
  }, CLEANUP_BUDGET_MS).unref();
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

process.exitCode = await runCli(
  process.argv.slice(2),
  { stdout: process.stdout, stderr: process.stderr, signal: controller.signal },
  // Commands that start containers, processes or work folders get their reaper before they start any.
  {
    beforeRun: async (command) => {
      if (command.reaped) await startReaper();
    },
  },
);
