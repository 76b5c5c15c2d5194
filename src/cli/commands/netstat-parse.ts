import { readFile, stat } from 'node:fs/promises';
import { ConfigError } from '../../errors.ts';
import { SocketTableParseError, TcptabError } from '../../netstat/errors.ts';
import { parsePastedNetstat, type PastedNetstat } from '../../netstat/netstat-parser.ts';
import type { SocketTable } from '../../model/socket-table.ts';
import { parseTcptab } from '../../netstat/tcptab-parser.ts';
import type { CommandIo } from '../command.ts';
import type { ParsedArgs } from '../parsed-args.ts';

export const MAX_NETSTAT_BYTES = 16 * 1024 * 1024;

/** `retrolab netstat parse FILE [--format auto|netstat|tcptab]`: the table as JSON on stdout (FILE and the format are checked by the parser). */
export async function netstatParseCommand(args: ParsedArgs, io: Pick<CommandIo, 'stdout' | 'stderr'>): Promise<number> {
  const file = args.positionals[0] ?? '';
  const format = args.string('format') ?? 'auto';
  let text: string;
  try {
    // Checked before reading: the largest real table (Wine, ~4000 sockets) is under 1 MB.
    const { size } = await stat(file);
    if (size > MAX_NETSTAT_BYTES) {
      throw new ConfigError(
        `${file}: ${size} bytes is over the limit of ${MAX_NETSTAT_BYTES} (16 MiB) for NETSTAT text; give the NETSTAT -AN output itself`,
        { context: { file, size } },
      );
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
  io.stdout.write(
    `${JSON.stringify({ file, ...table, ...(pasted === undefined ? {} : { ...pasted, notes: pastedNotes(pasted) }) }, null, 2)}\n`,
  );
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

function looksLikeTcptab(text: string): boolean {
  return /^event=/.test(text.trimStart());
}
