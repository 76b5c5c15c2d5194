import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { ConfigError } from '../../errors.ts';
import { writeRunReport } from '../../report/write-report.ts';
import { compareWithBaseline } from '../../results/baseline-compare.ts';
import { readRunResults } from '../../results/results-writer.ts';
import { quoteInput } from '../../util/quote-input.ts';
import { resultsDir } from '../../util/paths.ts';
import type { CommandIo } from '../command.ts';
import { EXIT } from '../exit-codes.ts';
import { usageLines } from '../help.ts';
import type { ParsedArgs } from '../parsed-args.ts';
import { UsageError } from '../usage-error.ts';

/** The run folder a RUN_DIR argument names: the folder itself, or the folder of a results.json. */
async function runFolder(given: string): Promise<string> {
  const path = resolve(given);
  const info = await stat(path).catch(() => undefined);
  if (info === undefined)
    throw new ConfigError(`${quoteInput(given)}: no such run folder (give results/<run-id>, its results.json, or --latest)`);
  return info.isDirectory() ? path : basename(path) === 'results.json' ? dirname(path) : path;
}

/** Hands the file to the desktop's opener; where there is none (a server), says so and leaves the file. */
function openInBrowser(file: string, io: CommandIo): Promise<void> {
  return new Promise((done) => {
    const child = spawn('xdg-open', [file], { stdio: 'ignore', detached: true });
    child.once('error', () => {
      io.stderr.write(`retrolab: --open: xdg-open is not available here; open ${file} in a browser\n`);
      done();
    });
    child.once('spawn', () => {
      child.unref();
      done();
    });
  });
}

/**
 * `retrolab report [RUN_DIR | --latest] [--baseline FILE] [--open]`: writes
 * RUN_DIR/report.html from RUN_DIR/results.json (lab and run write it too);
 * with --baseline the changes against that run are marked instead of those
 * the run stored.
 */
export async function reportCommand(args: ParsedArgs, io: CommandIo): Promise<number> {
  const given = args.positionals[0];
  if (given !== undefined && args.flag('latest'))
    throw new UsageError('give RUN_DIR or --latest, not both', { name: args.command.name, usage: usageLines(args.command) });
  const runDir = given === undefined ? join(resultsDir(), 'latest') : await runFolder(given);
  const results = await readRunResults(join(runDir, 'results.json'), { signal: io.signal });
  const baselineFile = args.string('baseline');
  let baseline;
  if (baselineFile !== undefined) {
    const comparison = compareWithBaseline(results, await readRunResults(baselineFile, { signal: io.signal }));
    baseline = { name: resolve(baselineFile), changes: comparison.changes, warnings: comparison.warnings };
  }
  const file = await writeRunReport(runDir, { results, signal: io.signal, baseline });
  io.stdout.write(`report: ${file}\n`);
  if (args.flag('open')) await openInBrowser(file, io);
  return EXIT.ok;
}
