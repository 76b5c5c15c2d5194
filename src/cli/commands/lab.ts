import { access, copyFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { chooseHosts } from '../../docker/host-address.ts';
import { connectRunHosts, type RunHosts } from '../../docker/run-hosts.ts';
import { ensureImagesOnHosts } from '../../images/host-images.ts';
import { configLocation, loadRetrolabConfig } from '../../licensed/licensed-config.ts';
import { errorMessage } from '../../errors.ts';
import { TOOLCHAIN_ENV } from '../../guest-apps/toolchain.ts';
import {
  currentHostInfo,
  makeRunId,
  resultEntryFrom,
  RESULTS_SCHEMA_VERSION,
  tallyRunTotals,
  type ResultEntry,
  type RunResults,
  type RunSettings,
} from '../../model/run-results.ts';
import { consoleProgress } from '../../report/progress.ts';
import { writeRunReport } from '../../report/write-report.ts';
import { artifactsFolder, listArtifacts, pruneEmptyFolders } from '../../results/artifact-list.ts';
import { compareWithBaseline } from '../../results/baseline-compare.ts';
import { formatPhaseTotals } from '../../results/phase-totals.ts';
import { readRunResults, writeRunResults } from '../../results/results-writer.ts';
import { retrolabVersion } from '../../results/retrolab-version.ts';
import { formatSummaryTable } from '../../results/summary-table.ts';
import { matrixItems, runMatrix } from '../../scenarios/matrix-run.ts';
import { validatePatchDir } from '../../scenarios/patch.ts';
import { resultsDir } from '../../util/paths.ts';
import { releasedPathCount } from '../../util/owner-ledger.ts';
import { infraErrorVerdict } from '../../verdict/verdict.ts';
import type { CommandIo } from '../command.ts';
import { EXIT } from '../exit-codes.ts';
import { labOptionsRecord, parseLabOptions, type LabOptions } from '../lab-options.ts';
import { checkOutputPaths } from '../output-paths.ts';
import type { ParsedArgs } from '../parsed-args.ts';
import { checkRunConfig } from '../run-config-check.ts';
import { runOutcome } from '../run-outcome.ts';

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

function runSettings(options: LabOptions, entries: readonly ResultEntry[]): RunSettings {
  const patchHash = entries.find((entry) => entry.patch)?.patch?.sha256 ?? null;
  return {
    targets: options.targets,
    scenarios: options.scenarios,
    cycles: options.cycles ?? null,
    patch:
      options.patchDir === undefined
        ? null
        : { dir: resolve(options.patchDir), installCommand: options.patchInstall ?? null, hash: patchHash },
    toolchain: {
      asked: options.toolchain ?? null,
      used: [...new Set(entries.flatMap((entry) => (entry.toolchain ? [entry.toolchain.kind] : [])))].sort(),
    },
    reuseGuest: options.reuseGuest,
  };
}

/**
 * lab and run: everything that can be checked is checked before anything
 * starts (exit 2, nothing written); from then on, whatever happens — a broken
 * engine, a failed patch, Ctrl-C — results/<run-id>/ is written and
 * results/latest moved, with infra-error entries naming the cause, and the
 * last line says why the exit code is what it is.
 */
async function labOrRun(options: LabOptions, io: CommandIo): Promise<number> {
  const resultsRoot = resolve(options.out ?? resultsDir());
  await checkRunConfig(options.targets, { signal: io.signal });
  await checkOutputPaths({ resultsRoot, baseline: options.baseline });
  // Every guest build in this run (targets, deploys, the wine-vm disk) reads the choice from here.
  if (options.toolchain) process.env[TOOLCHAIN_ENV] = options.toolchain;
  if (options.patchDir) await validatePatchDir(options.patchDir);
  const baselineExists = options.baseline ? await exists(options.baseline) : false;
  const baseline = options.baseline && baselineExists ? await readRunResults(options.baseline, { signal: io.signal }) : undefined;

  const config = await loadRetrolabConfig({ signal: io.signal });
  const addresses = chooseHosts({
    flags: options.hosts,
    jobs: options.jobs,
    config: config.hosts,
    configRoot: configLocation().root,
    env: process.env,
  });
  // What this run is asked to decide: the whole matrix, or its shard's part of it.
  const wanted = matrixItems({
    targets: options.targets,
    scenarios: options.scenarios,
    reuseGuest: options.reuseGuest,
    shard: options.shard,
  }).flatMap((item) => item.scenarios.map((scenario) => ({ target: item.target, scenario })));

  const startedAt = new Date();
  const runId = makeRunId(startedAt);
  const runDir = join(resultsRoot, runId);
  const progress = consoleProgress({ verbose: options.verbose });
  const entries: ResultEntry[] = [];
  const fromTarget = new Set<ResultEntry>();
  let stoppedBy: string | undefined;
  let endpoint: string | undefined;
  // What Ctrl-C makes the run remove is counted from the moment it comes, for the closing line.
  let runHosts: RunHosts | undefined;
  const atInterrupt = { containers: 0, paths: 0 };
  const onInterrupt = () => {
    atInterrupt.containers = runHosts?.removedContainerCount ?? 0;
    atInterrupt.paths = releasedPathCount();
  };
  io.signal.addEventListener('abort', onInterrupt, { once: true });
  let usedHosts: { name: string; url: string; slots: number }[] = [];
  try {
    await using connected = await connectRunHosts(addresses, { signal: io.signal, onProgress: progress });
    runHosts = connected;
    endpoint = connected.hosts[0]?.docker.endpoint;
    usedHosts = connected.hosts.map((host) => ({ name: host.name, url: host.url, slots: host.slots }));
    // Every host gets the runner images of this checkout (copied from the local engine by input hash) before any work starts.
    await ensureImagesOnHosts(connected.hosts, {
      signal: io.signal,
      onProgress: progress,
      wineVmGuest: options.targets.includes('wine-vm'),
    });
    if (connected.hosts.length > 1 || usedHosts.some((host) => host.slots > 1))
      progress({
        kind: 'step',
        scope: 'hosts',
        message: usedHosts.map((host) => `${host.name} (${host.slots} slot${host.slots === 1 ? '' : 's'})`).join(', '),
      });
    await runMatrix({
      hosts: connected.hosts,
      targets: options.targets,
      scenarios: options.scenarios,
      signal: io.signal,
      onProgress: progress,
      cycles: options.cycles,
      reuseGuest: options.reuseGuest,
      shard: options.shard,
      ...(options.sampleShare !== undefined ? { run: { sampleShare: options.sampleShare } } : {}),
      ...(options.patchDir
        ? { patch: { dir: resolve(options.patchDir), installCommand: options.patchInstall }, patchWhen: options.patchWhen }
        : {}),
      artifactsDir: (target, scenario) => artifactsFolder(runDir, target, scenario),
      onEntry: (entry, origin) => {
        entries.push(entry);
        // A target that did not start was reported once already; its scenarios' entries say the same again.
        if (origin === 'target') fromTarget.add(entry);
        else
          progress({
            kind: 'step',
            scope: `${entry.target} ${entry.scenario}`,
            message: `${entry.verdict.toUpperCase()}${entry.host !== undefined && usedHosts.length > 1 ? ` on ${entry.host}` : ''}: ${entry.reason}`,
          });
      },
    });
  } catch (error) {
    if (!io.signal.aborted) {
      stoppedBy = errorMessage(error).split('\n')[0] ?? 'unknown error';
      progress({ kind: 'warn', scope: 'lab', message: `the run stopped: ${stoppedBy}` });
    }
  }
  const interrupted = io.signal.aborted;
  io.signal.removeEventListener('abort', onInterrupt);

  // What the run could not get to is an infra-error naming why, so nothing it was asked for goes missing from the results.
  if (stoppedBy !== undefined) {
    const decided = new Set(entries.map((entry) => `${entry.target}\u0000${entry.scenario}`));
    for (const { target, scenario } of wanted) {
      if (decided.has(`${target}\u0000${scenario}`)) continue;
      entries.push(
        resultEntryFrom(infraErrorVerdict(`not run: the run stopped before it: ${stoppedBy}`), { target, scenario, durationMs: 0 }),
      );
    }
  }
  // Entries arrive as their hosts finish them; results.json keeps the matrix order of a one-host run.
  const position = new Map(wanted.map(({ target, scenario }, index) => [`${target}\u0000${scenario}`, index]));
  entries.sort(
    (a, b) => (position.get(`${a.target}\u0000${a.scenario}`) ?? Infinity) - (position.get(`${b.target}\u0000${b.scenario}`) ?? Infinity),
  );
  for (const entry of entries) {
    const own = await listArtifacts(runDir, artifactsFolder(runDir, entry.target, entry.scenario));
    const prepare =
      fromTarget.has(entry) || entry.verdict === 'infra-error'
        ? await listArtifacts(runDir, artifactsFolder(runDir, entry.target, 'prepare'))
        : [];
    if (own.length + prepare.length > 0) entry.artifacts = [...own, ...prepare];
  }
  await pruneEmptyFolders(join(runDir, 'artifacts'));

  const results: RunResults = {
    schemaVersion: RESULTS_SCHEMA_VERSION,
    runId,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    host: currentHostInfo(endpoint),
    ...(usedHosts.length > 0 ? { hosts: usedHosts } : {}),
    ...(options.shard ? { shard: { ...options.shard, targets: [...options.targets], scenarios: [...options.scenarios] } } : {}),
    retrolab: await retrolabVersion(),
    options: labOptionsRecord(options),
    settings: runSettings(options, entries),
    totals: tallyRunTotals(entries),
    ...(interrupted ? { interrupted: true } : {}),
    ...(stoppedBy !== undefined ? { stoppedBy } : {}),
    entries,
  };
  const comparison = baseline
    ? compareWithBaseline(results, baseline, {
        strict: options.baselineStrict,
        leakRateTolerance: options.tolerance,
      })
    : undefined;
  if (options.baseline) results.baseline = resolve(options.baseline);
  if (comparison) {
    results.baselineChanges = comparison.changes;
    results.baselineWarnings = comparison.warnings;
  }
  // No signal: after Ctrl-C the results are exactly what must still be written.
  const written = await writeRunResults(results, { dir: resultsRoot });
  // A live progress line left on the terminal would run into the summary.
  progress.clear();

  io.stdout.write(`\n${formatSummaryTable(results, { width: process.stdout.columns || 120 })}\n`);
  const phases = formatPhaseTotals(results);
  if (phases) io.stdout.write(`\n${phases}\n`);
  // The page is for people; a run whose report cannot be written still has its results and its exit code.
  const report = await writeRunReport(written.directory, { results }).catch((error: unknown) => {
    io.stderr.write(`retrolab: warning: report.html not written: ${errorMessage(error)}\n`);
    return undefined;
  });
  io.stdout.write(
    `results: ${written.resultsFile}\n         ${written.junitFile}\n${report ? `         ${report}\n` : ''}         ${written.latestLink} -> ${results.runId}\n`,
  );
  const skipped = entries.filter((entry) => entry.verdict === 'skipped');
  const skippedTargets = [...new Map(skipped.map((entry) => [entry.target, entry])).values()];
  for (const entry of skippedTargets)
    io.stdout.write(`skipped ${entry.target}: ${entry.reason}${entry.fix ? `\n  to enable: ${entry.fix}` : ''}\n`);

  if (comparison) {
    for (const warning of comparison.warnings) io.stdout.write(`\nwarning: not comparable with ${options.baseline}: ${warning}`);
    if (comparison.warnings.length > 0) io.stdout.write('\n');
    io.stdout.write(
      comparison.changes.length > 0
        ? `\n${comparison.changes.length} change(s) against ${options.baseline} (${comparison.regressions.length} regression(s), ${comparison.improvements.length} improvement(s)):\n${comparison.changes.map((change) => `  ${change.text}`).join('\n')}\n`
        : `\nno change against ${options.baseline}${options.baselineStrict ? '' : ' (in what this run ran)'}\n`,
    );
  } else if (options.baseline) {
    if (interrupted || stoppedBy !== undefined) {
      io.stdout.write(`\nnot stored as the baseline ${options.baseline}: the run did not finish\n`);
    } else {
      await copyFile(written.resultsFile, options.baseline);
      io.stdout.write(`\nstored this run as the baseline ${options.baseline}\n`);
    }
  }

  const outcome = runOutcome(results, { failOnSkip: options.failOnSkip });
  if (interrupted) {
    // Counted from Ctrl-C on: what the unwinding removed (each guest's own cleanup, then the hosts' dispose).
    const containers = (runHosts?.removedContainerCount ?? 0) - atInterrupt.containers;
    const folders = releasedPathCount() - atInterrupt.paths;
    io.stderr.write(
      `retrolab: interrupted: removed ${containers} container(s) and ${folders} work folder(s) (guest overlays, run folders) this run still had; wrote ${written.directory} (results.json marked interrupted, ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'} decided so far)\n`,
    );
  }
  io.stdout.write(`${outcome.line}\n`);
  return interrupted ? EXIT.interrupted : outcome.code;
}
