import { access, copyFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { connectDocker } from '../../docker/docker-client.ts';
import { consoleProgress } from '../../report/progress.ts';
import { compareWithBaseline, formatBaselineChange } from '../../results/baseline-compare.ts';
import { readRunResults, writeRunResults } from '../../results/results-writer.ts';
import { formatPhaseTotals } from '../../results/phase-totals.ts';
import { formatSummaryTable } from '../../results/summary-table.ts';
import { runMatrix } from '../../scenarios/matrix-run.ts';
import { validatePatchDir } from '../../scenarios/patch.ts';
import type { CommandIo } from '../command.ts';
import { EXIT } from '../exit-codes.ts';
import { parseLabOptions, type LabOptions } from '../lab-options.ts';
import { checkOutputPaths } from '../output-paths.ts';
import { checkRunConfig } from '../run-config-check.ts';
import { TOOLCHAIN_ENV } from '../../guest-apps/toolchain.ts';
import { resultsDir } from '../../util/paths.ts';
import type { ParsedArgs } from '../parsed-args.ts';

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** `retrolab lab`: every scenario on every target unless narrowed. */
export async function labCommand(args: ParsedArgs, io: CommandIo): Promise<number> {
  return labOrRun(await parseLabOptions(args, 'lab'), io);
}

/** `retrolab run`: the targets and scenarios named (both required). */
export async function runCommand(args: ParsedArgs, io: CommandIo): Promise<number> {
  return labOrRun(await parseLabOptions(args, 'run'), io);
}

async function labOrRun(options: LabOptions, io: CommandIo): Promise<number> {
  const resultsRoot = options.out ?? resultsDir();
  await checkRunConfig(options.targets, { signal: io.signal });
  await checkOutputPaths({ resultsRoot, ...(options.baseline !== undefined ? { baseline: options.baseline } : {}) });
  // Every guest build in this run (targets, deploys, the wine-vm disk) reads the choice from here.
  if (options.toolchain) process.env[TOOLCHAIN_ENV] = options.toolchain;
  if (options.patchDir) await validatePatchDir(options.patchDir);
  const baselineExists = options.baseline ? await exists(options.baseline) : false;
  const baseline = options.baseline && baselineExists ? await readRunResults(options.baseline, { signal: io.signal }) : undefined;

  const progress = consoleProgress({ verbose: options.verbose });
  await using docker = await connectDocker({ signal: io.signal, onProgress: progress });
  const results = await runMatrix({
    docker,
    targets: options.targets,
    scenarios: options.scenarios,
    signal: io.signal,
    onProgress: progress,
    ...(options.cycles ? { cycles: options.cycles } : {}),
    reuseGuest: options.reuseGuest,
    ...(options.patchDir ? { patch: { dir: resolve(options.patchDir), ...(options.patchInstall ? { installCommand: options.patchInstall } : {}) } } : {}),
    // A target that did not start was reported once already; its scenarios' entries say the same again.
    onEntry: (entry, origin) => {
      if (origin === 'scenario') progress({ kind: 'step', scope: `${entry.target} ${entry.scenario}`, message: `${entry.verdict.toUpperCase()}: ${entry.reason}` });
    },
  });
  if (options.baseline) results.baseline = resolve(options.baseline);
  const written = await writeRunResults(results, { dir: resultsRoot, signal: io.signal });

  io.stdout.write(`\n${formatSummaryTable(results, { width: process.stdout.columns ?? 120 })}\n`);
  const phases = formatPhaseTotals(results);
  if (phases) io.stdout.write(`\n${phases}\n`);
  io.stdout.write(`results: ${written.resultsFile}\n         ${written.junitFile}\n         ${written.latestLink} -> ${results.runId}\n`);
  const skipped = results.entries.filter((e) => e.verdict === 'skipped');
  const skippedTargets = [...new Map(skipped.map((e) => [e.target, e])).values()];
  for (const entry of skippedTargets) io.stdout.write(`skipped ${entry.target}: ${entry.reason}${entry.fix ? `\n  to enable: ${entry.fix}` : ''}\n`);

  let changed = false;
  if (options.baseline && baseline) {
    // A subset run says nothing about what it left out, unless asked to.
    const changes = compareWithBaseline(results, baseline, options.tolerance !== undefined ? { leakRateTolerance: options.tolerance } : {}).filter(
      (change) => options.baselineStrict || change.kind !== 'removed',
    );
    changed = changes.length > 0;
    io.stdout.write(changed ? `\n${changes.length} change(s) against ${options.baseline}:\n${changes.map((c) => `  ${formatBaselineChange(c)}`).join('\n')}\n` : `\nno change against ${options.baseline}\n`);
  } else if (options.baseline) {
    await copyFile(written.resultsFile, options.baseline);
    io.stdout.write(`\nstored this run as the baseline ${options.baseline}\n`);
  }

  if (results.entries.some((e) => e.verdict === 'infra-error')) return EXIT.infrastructure;
  if (changed || results.entries.some((e) => e.verdict === 'fail')) return EXIT.failed;
  if (options.failOnSkip && skipped.length > 0) {
    io.stdout.write(`exit 1: ${skipped.length} scenario(s) skipped and --fail-on-skip was given\n`);
    return EXIT.failed;
  }
  return EXIT.ok;
}
