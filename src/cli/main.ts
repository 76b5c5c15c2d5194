import '../util/dispose.ts';
import { ConfigError, PrerequisiteError, RetrolabError, errorMessage } from '../errors.ts';
import type { Command, CommandIo } from './command.ts';
import { EXIT } from './exit-codes.ts';
import { startReaper } from '../docker/reaper.ts';

const USAGE = `retrolab — a test lab for legacy Windows networking (KB Q198663)

usage: retrolab <command> [options]

commands:
  doctor                 checks every prerequisite and says how to fix what is missing
  images build           builds the runner images that are missing or stale
  lab                    runs every scenario on every target (licensed ones without an image are skipped)
  run                    runs the named target(s) and scenario(s): --target T --scenario S
  netstat parse FILE     parses NETSTAT -AN text (any dialect) and prints it as JSON
  image prepare|setup-media|install
                         makes a licensed target ready: prepares your installed disk so the agent
                         starts by itself, writes setup media, or installs from your CD unattended
  help                   this text
`;

// Commands load lazily so `retrolab doctor` does not pay for the scenario engine.
const COMMANDS: Record<string, () => Promise<Command>> = {
  doctor: async () => (await import('./commands/doctor.ts')).doctorCommand,
  images: async () => (await import('./commands/images.ts')).imagesCommand,
  image: async () => (await import('./commands/image.ts')).imageCommand,
  lab: async () => (await import('./commands/lab.ts')).labCommand,
  run: async () => {
    const { labCommand } = await import('./commands/lab.ts');
    return (args, io) => labCommand(args, io, 'run');
  },
  netstat: async () => (await import('./commands/netstat-parse.ts')).netstatCommand,
};

/**
 * The last line of defence against echoing input: every error quotes at most
 * 200 characters of it (quoteInput), but a message from a library may not, so
 * no line of what reaches the terminal is longer than this.
 */
const MAX_MESSAGE_LINE = 2000;

function boundedMessage(message: string): string {
  return message
    .split('\n')
    .slice(0, 200)
    .map((line) => (line.length > MAX_MESSAGE_LINE ? `${line.slice(0, MAX_MESSAGE_LINE)}… (${line.length - MAX_MESSAGE_LINE} more characters)` : line))
    .join('\n');
}

/** Commands that may leave containers, processes or work folders behind if killed. */
const REAPED = new Set(['lab', 'run', 'image', 'images']);
const CLEANUP_BUDGET_MS = 20_000;

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(USAGE);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const load = COMMANDS[name];
  if (!load) {
    process.stderr.write(`retrolab: unknown command ${JSON.stringify(name)}\n\n${USAGE}`);
    return EXIT.usage;
  }
  const controller = new AbortController();
  // Commands that start containers, processes or work folders get their reaper before they start any.
  if (REAPED.has(name)) await startReaper();
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts += 1;
    // Leaving at once is safe: the reaper sees this process end and removes what is left.
    if (interrupts > 1) {
      process.stderr.write(`retrolab: ${signal} again: leaving now; the reaper removes what is left within seconds\n`);
      process.exit(EXIT.interrupted);
    }
    process.stderr.write(`\nretrolab: ${signal}: stopping and removing what this run started (again to force)\n`);
    controller.abort(new Error(`interrupted by ${signal}`));
    // A cleanup stuck on a dead engine must not hold the terminal: bounded, then the reaper's turn.
    setTimeout(() => {
      process.stderr.write(`retrolab: cleanup took over ${CLEANUP_BUDGET_MS / 1000} s; leaving it to the reaper\n`);
      process.exit(EXIT.interrupted);
    }, CLEANUP_BUDGET_MS).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const io: CommandIo = { stdout: process.stdout, stderr: process.stderr, signal: controller.signal };
  try {
    return await (await load())(args, io);
  } catch (error) {
    if (controller.signal.aborted) return EXIT.interrupted;
    if (error instanceof ConfigError) {
      process.stderr.write(`retrolab: ${boundedMessage(error.message)}\n`);
      return EXIT.usage;
    }
    if (error instanceof PrerequisiteError) {
      process.stderr.write(`retrolab: ${boundedMessage(error.message)}\n`);
      return EXIT.failed;
    }
    process.stderr.write(`retrolab: ${boundedMessage(error instanceof RetrolabError ? error.message : errorMessage(error))}\n`);
    if (process.env.DEBUG && error instanceof Error) process.stderr.write(`${error.stack ?? ''}\n`);
    return EXIT.infrastructure;
  }
}

process.exitCode = await main(process.argv.slice(2));
