import { ConfigError, PrerequisiteError, RetrolabError, errorMessage } from '../errors.ts';
import type { CommandIo } from './command.ts';
import type { CommandSpec } from './command-spec.ts';
import { COMMANDS } from './command-table.ts';
import { EXIT } from './exit-codes.ts';
import { renderHelp } from './help.ts';
import { parseCommandLine } from './parse-command-line.ts';
import { UsageError } from './usage-error.ts';
import { diskFullMessage } from '../util/disk-full.ts';

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
    .map((line) =>
      line.length > MAX_MESSAGE_LINE ? `${line.slice(0, MAX_MESSAGE_LINE)}… (${line.length - MAX_MESSAGE_LINE} more characters)` : line,
    )
    .join('\n');
}

function usageHint(error: UsageError): string {
  const [first, ...more] = error.usage;
  const usage = [`usage: ${first ?? 'retrolab <command> [options]'}`, ...more.map((line) => `       ${line}`)].join('\n');
  return `${usage}\n(retrolab help${error.command ? ` ${error.command}` : ''} for more)\n`;
}

/**
 * The whole CLI but process.exit and signal handling: parses argv, prints help
 * or runs the command, and maps typed errors to exit codes (the only place
 * that does). Tests call it in-process with their own streams.
 */
export async function runCli(
  argv: readonly string[],
  io: CommandIo,
  hooks: { beforeRun?: (command: CommandSpec) => Promise<void> } = {},
): Promise<number> {
  try {
    const invocation = await parseCommandLine(COMMANDS, argv);
    if (invocation.kind === 'help') {
      (invocation.exitCode === 0 ? io.stdout : io.stderr).write(await renderHelp(COMMANDS, invocation.command));
      return invocation.exitCode;
    }
    await hooks.beforeRun?.(invocation.command);
    return await (
      await invocation.load()
    )(invocation.args, io);
  } catch (error) {
    if (io.signal.aborted) return EXIT.interrupted;
    if (error instanceof UsageError) {
      io.stderr.write(`retrolab: ${boundedMessage(error.message)}\n${usageHint(error)}`);
      return EXIT.usage;
    }
    if (error instanceof ConfigError) {
      io.stderr.write(`retrolab: ${boundedMessage(error.message)}\n`);
      return EXIT.usage;
    }
    if (error instanceof PrerequisiteError) {
      io.stderr.write(`retrolab: ${boundedMessage(error.message)}\n`);
      return EXIT.failed;
    }
    const diskFull = diskFullMessage(error);
    if (diskFull) {
      io.stderr.write(`retrolab: ${diskFull}\n`);
      return EXIT.infrastructure;
    }
    io.stderr.write(`retrolab: ${boundedMessage(error instanceof RetrolabError ? error.message : errorMessage(error))}\n`);
    if (process.env.DEBUG && error instanceof Error) io.stderr.write(`${error.stack ?? ''}\n`);
    return EXIT.infrastructure;
  }
}
