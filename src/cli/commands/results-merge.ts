import { cp, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { errorMessage } from '../../errors.ts';
import { tallyRunTotals } from '../../model/run-results.ts';
import { writeRunReport } from '../../report/write-report.ts';
import { mergeShardDirectories } from '../../results/results-merge.ts';
import { writeRunResults } from '../../results/results-writer.ts';
import { formatSummaryTable } from '../../results/summary-table.ts';
import { resultsDir } from '../../util/paths.ts';
import type { CommandIo } from '../command.ts';
import type { ParsedArgs } from '../parsed-args.ts';
import { runOutcome } from '../run-outcome.ts';

/**
 * `retrolab results merge DIR... [--out DIR]`: the shards of a CI matrix as
 * one run — results.json, junit.xml, report.html, the shards' artifacts (and
 * latest) under --out — with the summary and the exit code a whole run would
 * have had.
 */
export async function resultsMergeCommand(args: ParsedArgs, io: CommandIo): Promise<number> {
  const merged = await mergeShardDirectories(args.positionals, { signal: io.signal });
  merged.totals = tallyRunTotals(merged.entries);
  const written = await writeRunResults(merged, { dir: resolve(args.string('out') ?? resultsDir()) });
  // Each entry lists its artifacts relative to its run folder: the shards' folders come along, so the links hold.
  for (const shard of merged.shards ?? []) {
    const artifacts = join(dirname(shard.file), 'artifacts');
    if (
      await stat(artifacts).then(
        (info) => info.isDirectory(),
        () => false,
      )
    )
      await cp(artifacts, join(written.directory, 'artifacts'), { recursive: true, force: false, errorOnExist: false });
  }
  const report = await writeRunReport(written.directory, { results: merged, signal: io.signal }).catch((error: unknown) => {
    io.stderr.write(`retrolab: warning: report.html not written: ${errorMessage(error)}\n`);
    return undefined;
  });
  io.stdout.write(`${formatSummaryTable(merged, { width: process.stdout.columns || 120 })}\n`);
  io.stdout.write(
    `merged ${merged.shards?.length ?? 0} shard(s): ${written.resultsFile}\n         ${written.junitFile}\n${report ? `         ${report}\n` : ''}         ${written.latestLink} -> ${merged.runId}\n`,
  );
  const outcome = runOutcome(merged, { failOnSkip: false });
  io.stdout.write(`${outcome.line}\n`);
  return outcome.code;
}
