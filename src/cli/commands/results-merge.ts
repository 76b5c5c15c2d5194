import { resolve } from 'node:path';
import { mergeShardDirectories } from '../../results/results-merge.ts';
import { writeRunResults } from '../../results/results-writer.ts';
import { formatSummaryTable } from '../../results/summary-table.ts';
import { resultsDir } from '../../util/paths.ts';
import type { CommandIo } from '../command.ts';
import type { ParsedArgs } from '../parsed-args.ts';
import { runOutcome } from '../run-outcome.ts';

/**
 * `retrolab results merge DIR... [--out DIR]`: the shards of a CI matrix as
 * one run — results.json, junit.xml (and latest) under --out — with the
 * summary and the exit code a whole run would have had.
 */
export async function resultsMergeCommand(args: ParsedArgs, io: CommandIo): Promise<number> {
  const merged = await mergeShardDirectories(args.positionals, { signal: io.signal });
  const count = (verdict: string) => merged.entries.filter((entry) => entry.verdict === verdict).length;
  merged.totals = {
    entries: merged.entries.length,
    pass: count('pass'),
    fail: count('fail'),
    infraError: count('infra-error'),
    skipped: count('skipped'),
  };
  const written = await writeRunResults(merged, { dir: resolve(args.string('out') ?? resultsDir()) });
  io.stdout.write(`${formatSummaryTable(merged, { width: process.stdout.columns ?? 120 })}\n`);
  io.stdout.write(
    `merged ${merged.shards?.length ?? 0} shard(s): ${written.resultsFile}\n         ${written.junitFile}\n         ${written.latestLink} -> ${merged.runId}\n`,
  );
  const outcome = runOutcome(merged, { failOnSkip: false });
  io.stdout.write(`${outcome.line}\n`);
  return outcome.code;
}
