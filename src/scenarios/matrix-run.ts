import { loadExpectations } from '../config/expectations.ts';
import type { TargetName } from '../config/vm-spec.ts';
import type { DockerClient } from '../docker/docker-client.ts';
import { errorMessage } from '../errors.ts';
import {
  currentHostInfo,
  makeRunId,
  resultEntryFrom,
  RESULTS_SCHEMA_VERSION,
  type GuestStart,
  type PatchRecord,
  type ResultEntry,
  type RunResults,
  type Verdict,
} from '../model/run-results.ts';
import type { ScenarioName } from '../model/scenario-catalog.ts';
import type { ProgressSink } from '../report/progress.ts';
import { silentProgress } from '../report/progress.ts';
import { GuestMismatchError, TargetSkippedError } from '../targets/errors.ts';
import { prepareTarget, type PreparedTarget, type PrepareOptions, type StartedTarget } from '../targets/prepare-target.ts';
import { infraErrorVerdict, skippedVerdict } from '../verdict/verdict.ts';
import { PatchInstallError, preparePatch, type PatchSpec } from './patch.ts';
import { PhaseClock } from './phase-clock.ts';
import { runScenarioOnFreshGuest, runScenarioOnGuest, type ScenarioUnitOptions } from './scenario-unit.ts';

export interface MatrixOptions {
  docker: DockerClient;
  targets: readonly TargetName[];
  scenarios: readonly ScenarioName[];
  signal?: AbortSignal;
  onProgress?: ProgressSink;
  /** Cycles per program run instead of each scenario's own. */
  cycles?: number;
  /** Copied into every scenario's guest (and installed) before the scenario runs. */
  patch?: PatchSpec;
  /** Run every scenario of a target in one guest (today's speed, no isolation); the entries say `reused`. */
  reuseGuest?: boolean;
  /** Where each scenario's artifacts go (results/<run-id>/artifacts/<target>/<scenario>); `prepare` for a target's preparation. */
  artifactsDir?: (target: TargetName, scenario: ScenarioName | 'prepare') => string;
  /** Passed to each scenario run (settle time, timeouts, program source). */
  run?: ScenarioUnitOptions['run'];
  /** How a target is prepared; prepareTarget by default. */
  prepare?: PrepareFn;
  /**
   * Called as each entry is decided, for live reporting. `target`: the entry
   * comes from a target that did not start (skipped or broken), which the
   * progress sink has already been told once for all its scenarios.
   */
  onEntry?: (entry: ResultEntry, origin: 'scenario' | 'target') => void;
}

/** How the matrix gets a target ready; prepareTarget, or a fake in unit tests. */
export type PrepareFn = (target: TargetName, options: PrepareOptions) => Promise<PreparedTarget>;

/**
 * Runs every scenario on every target and decides each verdict. Each target
 * is prepared once (programs, disk, saved state); then every scenario runs on
 * a fresh guest of its own (runScenarioOnFreshGuest), or, with `reuseGuest`,
 * all of them on one guest that is replaced only after an infra-error. A
 * target that cannot run here is `skipped` with the fix; one that breaks is an
 * `infra-error` for the scenarios it could not run, with its artifacts saved.
 */
export async function runMatrix(options: MatrixOptions): Promise<RunResults> {
  const progress = options.onProgress ?? silentProgress;
  const prepare = options.prepare ?? prepareTarget;
  const call = { signal: options.signal };
  const startedAt = new Date();
  const entries: ResultEntry[] = [];
  const add = (entry: ResultEntry, origin: 'scenario' | 'target' = 'scenario') => {
    entries.push(entry);
    options.onEntry?.(entry, origin);
  };
  const patch = options.patch ? await preparePatch(options.patch, call) : undefined;

  for (const target of options.targets) {
    options.signal?.throwIfAborted();
    const expectations = await loadExpectations(target, call);
    let prepared: PreparedTarget;
    const targetStarted = Date.now();
    const failTarget = (verdict: Verdict, scenarios: readonly ScenarioName[], extra: { patch?: PatchRecord } = {}) => {
      progress({ kind: verdict.status === 'skipped' ? 'step' : 'warn', scope: target, message: `${verdict.status}: ${verdict.reason}` });
      for (const scenario of scenarios)
        add(resultEntryFrom(verdict, { target, scenario, durationMs: Date.now() - targetStarted, ...extra }), 'target');
    };
    try {
      const prepareArtifacts = options.artifactsDir?.(target, 'prepare');
      prepared = await prepare(target, {
        docker: options.docker,
        onProgress: progress,
        ...call,
        artifactsDir: prepareArtifacts,
      });
    } catch (error) {
      options.signal?.throwIfAborted();
      failTarget(
        error instanceof TargetSkippedError
          ? skippedVerdict(error.reason, error.fix)
          : infraErrorVerdict(`${target} could not be prepared: ${errorMessage(error)}`),
        options.scenarios,
      );
      continue;
    }

    const unit: ScenarioUnitOptions = {
      expectations,
      onProgress: progress,
      ...call,
      cycles: options.cycles,
      patch,
      run: options.run,
      artifactsDir: options.artifactsDir,
    };
    const done = new Set<ScenarioName>();
    try {
      const scenarioEntries = options.reuseGuest
        ? runReusingGuest(prepared, options.scenarios, unit, progress)
        : runEachOnFreshGuest(prepared, options.scenarios, unit);
      for await (const entry of scenarioEntries) {
        done.add(entry.scenario as ScenarioName);
        add(prepared.toolchain ? { ...entry, toolchain: prepared.toolchain } : entry);
      }
    } catch (error) {
      options.signal?.throwIfAborted();
      const rest = options.scenarios.filter((scenario) => !done.has(scenario));
      if (error instanceof GuestMismatchError)
        failTarget(infraErrorVerdict(`${target}: first-boot check failed: ${errorMessage(error)}`, error.fix), rest);
      else if (error instanceof PatchInstallError)
        failTarget(
          infraErrorVerdict(`${target}: ${errorMessage(error)}`, 'fix the patch or its --patch-install command; no scenario ran unpatched'),
          rest,
          { patch: error.record },
        );
      else throw error;
    }
  }

  return {
    schemaVersion: RESULTS_SCHEMA_VERSION,
    runId: makeRunId(startedAt),
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    host: currentHostInfo(options.docker.endpoint),
    entries,
  };
}

async function* runEachOnFreshGuest(
  prepared: PreparedTarget,
  scenarios: readonly ScenarioName[],
  unit: ScenarioUnitOptions,
): AsyncGenerator<ResultEntry> {
  for (const scenario of scenarios) {
    unit.signal?.throwIfAborted();
    yield await runScenarioOnFreshGuest(prepared, scenario, unit);
  }
}

/**
 * --reuse-guest: one guest for the target's scenarios, as fast as it gets and
 * as the entries say (`reused` after the first). A guest that ended a
 * scenario in an infra-error (a hang, a silent agent) is not trusted again:
 * the next scenario gets a fresh one.
 */
async function* runReusingGuest(
  prepared: PreparedTarget,
  scenarios: readonly ScenarioName[],
  unit: ScenarioUnitOptions,
  progress: ProgressSink,
): AsyncGenerator<ResultEntry> {
  let shared: StartedTarget | undefined;
  let sharedPatch: PatchRecord | undefined;
  try {
    for (const scenario of scenarios) {
      unit.signal?.throwIfAborted();
      const clock = new PhaseClock();
      let guestStart: GuestStart;
      if (shared === undefined) {
        try {
          const artifactsDir = unit.artifactsDir?.(prepared.target, scenario);
          shared = await clock.time('guestStart', () => prepared.startGuest({ signal: unit.signal, artifactsDir }));
        } catch (error) {
          unit.signal?.throwIfAborted();
          if (error instanceof GuestMismatchError) throw error;
          const phases = clock.finish(0);
          yield resultEntryFrom(infraErrorVerdict(`${prepared.target}: the guest did not start: ${errorMessage(error)}`), {
            target: prepared.target,
            scenario,
            durationMs: phases.wall,
            phases,
          });
          continue;
        }
        guestStart = shared.guest;
        sharedPatch = undefined;
      } else {
        guestStart = { start: 'reused', id: shared.guest.id, startMs: 0 };
      }
      const entry = await runScenarioOnGuest(shared, scenario, {
        ...unit,
        run: { programs: prepared.programs, ...unit.run },
        clock,
        guestStart,
        appliedPatch: sharedPatch,
      });
      sharedPatch = entry.patch ?? sharedPatch;
      if (entry.verdict === 'infra-error') {
        progress({
          kind: 'warn',
          scope: `${prepared.target} ${scenario}`,
          message: 'infra-error: this guest is stopped; the next scenario gets a fresh one',
        });
        const broken = shared;
        shared = undefined;
        await broken[Symbol.asyncDispose]();
      }
      yield entry;
    }
  } finally {
    await shared?.[Symbol.asyncDispose]();
  }
}
