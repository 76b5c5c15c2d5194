import { access, copyFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { listTargets } from '../../config/target-list.ts';
import { connectDocker } from '../../docker/docker-client.ts';
import { consoleProgress } from '../../report/progress.ts';
import { compareWithBaseline, formatBaselineChange } from '../../results/baseline-compare.ts';
import { readRunResults, writeRunResults } from '../../results/results-writer.ts';
import { formatPhaseTotals } from '../../results/phase-totals.ts';
import { formatSummaryTable } from '../../results/summary-table.ts';
import { runMatrix } from '../../scenarios/matrix-run.ts';
import { validatePatchDir } from '../../scenarios/patch.ts';
import { TOOLCHAIN_ENV } from '../../guest-apps/toolchain.ts';
import type { CommandIo } from '../command.ts';
import { EXIT } from '../exit-codes.ts';
import { parseLabOptions } from '../lab-options.ts';
import { checkRunConfig } from '../run-config-check.ts';

export const LAB_USAGE = `usage: retrolab lab [--target T]... [--scenario S]... [--cycles N]
                   [--baseline FILE [--tolerance 0.1]] [--patch DIR [--patch-install CMD]]
                   [--toolchain watcom|mingw] [--reuse-guest] [--verbose]
       retrolab run --target T --scenario S [same options]

Runs every scenario on every target (lab) or the ones named (run), writes
results/<run-id>/results.json, junit.xml and results/latest, and prints a summary.
--baseline FILE compares with a stored run (and stores this run there when FILE does not exist yet).
--patch DIR copies DIR into each scenario's guest and runs --patch-install there first.
Every scenario runs on a fresh guest (a warm start from the saved state, or a new
Wine container); --reuse-guest runs a target's scenarios in one guest instead
(faster, not isolated: a leak carries over; results.json says "reused").
--toolchain builds the guest programs with Open Watcom or mingw-w64 (default: Open Watcom when found;
RETROLAB_TOOLCHAIN does the same).`;

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** `retrolab lab` and `retrolab run`: the main job. */
export async function labCommand(args: string[], io: CommandIo, mode: 'lab' | 'run' = 'lab'): Promise<number> {
  if (args.includes('--help')) {
    io.stdout.write(`${LAB_USAGE}\n`);
    return EXIT.ok;
  }
  const options = parseLabOptions(args, { targets: await listTargets({ signal: io.signal }) });
  if (mode === 'run' && (!args.some((a) => a.startsWith('--target')) || !args.some((a) => a.startsWith('--scenario')))) {
    io.stderr.write(`retrolab run needs --target and --scenario\n${LAB_USAGE}\n`);
    return EXIT.usage;
  }
  await checkRunConfig(options.targets, { signal: io.signal });
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
  const written = await writeRunResults(results, { signal: io.signal });

  io.stdout.write(`\n${formatSummaryTable(results, { width: process.stdout.columns ?? 120 })}\n`);
  const phases = formatPhaseTotals(results);
  if (phases) io.stdout.write(`\n${phases}\n`);
  io.stdout.write(`results: ${written.resultsFile}\n         ${written.junitFile}\n         ${written.latestLink} -> ${results.runId}\n`);
  const skipped = results.entries.filter((e) => e.verdict === 'skipped');
  const skippedTargets = [...new Map(skipped.map((e) => [e.target, e])).values()];
  for (const entry of skippedTargets) io.stdout.write(`skipped ${entry.target}: ${entry.reason}${entry.fix ? `\n  to enable: ${entry.fix}` : ''}\n`);

  let changed = false;
  if (options.baseline && baseline) {
    const changes = compareWithBaseline(results, baseline, options.tolerance !== undefined ? { leakRateTolerance: options.tolerance } : {});
    changed = changes.length > 0;
    io.stdout.write(changed ? `\n${changes.length} change(s) against ${options.baseline}:\n${changes.map((c) => `  ${formatBaselineChange(c)}`).join('\n')}\n` : `\nno change against ${options.baseline}\n`);
  } else if (options.baseline) {
    await copyFile(written.resultsFile, options.baseline);
    io.stdout.write(`\nstored this run as the baseline ${options.baseline}\n`);
  }

  if (results.entries.some((e) => e.verdict === 'infra-error')) return EXIT.infrastructure;
  if (changed || results.entries.some((e) => e.verdict === 'fail')) return EXIT.failed;
  return EXIT.ok;
}
