import { readFile, stat } from 'node:fs/promises';
import { ConfigError } from '../../errors.ts';
import { SocketTableParseError, TcptabError } from '../../netstat/errors.ts';
import { parsePastedNetstat, type PastedNetstat } from '../../netstat/netstat-parser.ts';
import type { SocketTable } from '../../model/socket-table.ts';
import { parseTcptab } from '../../netstat/tcptab-parser.ts';
import type { CommandIo } from '../command.ts';
import { quoteInput } from '../../util/quote-input.ts';

const USAGE = `usage: retrolab netstat parse FILE [--format auto|netstat|tcptab]
  Reads NETSTAT output (Windows 95/98, NT 4, Wine; e.g. captured on a real
  machine with NETSTAT -AN > FILE, or pasted from a screen or a document) or
  tcptab output, and prints the rows and the per-state counts as JSON.
  Pasted text may hold a prompt line (C:\\>netstat -an | find "7000"), rows
  without title or header, an editor's "..." line, and host and service names
  (netstat -a without -n: kept as written, well-known services mapped to
  ports; "namedRows" lists those rows).`;

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
  let pasted: Omit<PastedNetstat, 'table'> | undefined;
  try {
    if (format === 'tcptab' || (format === 'auto' && looksLikeTcptab(text))) {
      table = parseTcptab(text, { origin: file });
    } else {
      const { table: parsed, ...rest } = parsePastedNetstat(text, { origin: file });
      table = parsed;
      pasted = rest;
    }
  } catch (error) {
    if (error instanceof SocketTableParseError || error instanceof TcptabError) {
      throw new ConfigError(error.message, { cause: error, context: { file } });
    }
    throw error;
  }
  io.stdout.write(`${JSON.stringify({ file, ...table, ...(pasted === undefined ? {} : { ...pasted, notes: pastedNotes(pasted) }) }, null, 2)}\n`);
  return 0;
}

/** What a reader of the JSON must know about a pasted table. */
function pastedNotes(pasted: Omit<PastedNetstat, 'table'>): string[] {
  const lines = (numbers: number[]) => `line${numbers.length === 1 ? '' : 's'} ${numbers.join(', ')}`;
  const notes: string[] = [];
  if (pasted.namedRows.length > 0) {
    notes.push(
      `the rows on ${lines(pasted.namedRows)} carry host or service names (NETSTAT without -n): names are kept as written, well-known services are mapped to their ports (port null where the name is unknown); run NETSTAT -AN for numbers`,
    );
  }
  if (pasted.elided.length > 0) notes.push(`rows were cut out at ${lines(pasted.elided)} ("..."): the table is incomplete there`);
  return notes;
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
