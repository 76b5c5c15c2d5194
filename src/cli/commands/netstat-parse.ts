import { readFile, stat } from 'node:fs/promises';
import { ConfigError } from '../../errors.ts';
import { SocketTableParseError, TcptabError } from '../../netstat/errors.ts';
import { parseNetstat } from '../../netstat/netstat-parser.ts';
import type { SocketTable } from '../../model/socket-table.ts';
import { parseTcptab } from '../../netstat/tcptab-parser.ts';
import type { CommandIo } from '../command.ts';
import { quoteInput } from '../../util/quote-input.ts';

const USAGE = `usage: retrolab netstat parse FILE [--format auto|netstat|tcptab]
  Reads NETSTAT -AN output (Windows 95/98, NT 4, Wine; e.g. captured on a real
  machine with NETSTAT -AN > FILE) or tcptab output, and prints the rows and
  the per-state counts as JSON.`;

type Format = 'auto' | 'netstat' | 'tcptab';

export const MAX_NETSTAT_BYTES = 16 * 1024 * 1024;

/** `retrolab netstat <subcommand>`; `parse` is the only one. */
export async function netstatCommand(args: string[], io: Pick<CommandIo, 'stdout' | 'stderr'>): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'parse') throw new ConfigError(`unknown netstat subcommand ${quoteInput(sub ?? '')}\n${USAGE}`);
  return netstatParseCommand(rest, io);
}

/** `retrolab netstat parse FILE [--format auto|netstat|tcptab]`: the table as JSON on stdout. */
export async function netstatParseCommand(args: string[], io: Pick<CommandIo, 'stdout' | 'stderr'>): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const { file, format } = parseArgs(args);
  let text: string;
  try {
    // Checked before reading: the largest real table (Wine, ~4000 sockets) is under 1 MB.
    const { size } = await stat(file);
    if (size > MAX_NETSTAT_BYTES) {
      throw new ConfigError(`${file}: ${size} bytes is over the limit of ${MAX_NETSTAT_BYTES} (16 MiB) for NETSTAT text; give the NETSTAT -AN output itself`, { context: { file, size } });
    }
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`${file}: cannot read it: ${(error as Error).message}`, { cause: error, context: { file } });
  }
  let table: SocketTable;
  try {
    table = (format === 'tcptab' || (format === 'auto' && looksLikeTcptab(text)) ? parseTcptab : parseNetstat)(text, { origin: file });
  } catch (error) {
    if (error instanceof SocketTableParseError || error instanceof TcptabError) {
      throw new ConfigError(error.message, { cause: error, context: { file } });
    }
    throw error;
  }
  io.stdout.write(`${JSON.stringify({ file, ...table }, null, 2)}\n`);
  return 0;
}

function parseArgs(args: string[]): { file: string; format: Format } {
  let file: string | undefined;
  let format: Format = 'auto';
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index] ?? '';
    if (arg === '--format') {
      const value = args[(index += 1)];
      if (value !== 'auto' && value !== 'netstat' && value !== 'tcptab') {
        throw new ConfigError(`--format: ${quoteInput(value ?? '')} is not one of auto, netstat, tcptab\n${USAGE}`);
      }
      format = value;
    } else if (arg.startsWith('-')) {
      throw new ConfigError(`unknown option ${quoteInput(arg)}\n${USAGE}`);
    } else if (file === undefined) {
      file = arg;
    } else {
      throw new ConfigError(`one FILE only, got ${quoteInput(file)} and ${quoteInput(arg)}\n${USAGE}`);
    }
  }
  if (file === undefined) throw new ConfigError(`FILE is missing\n${USAGE}`);
  return { file, format };
}

function looksLikeTcptab(text: string): boolean {
  return /^event=/.test(text.trimStart());
}
