import { loadExpectations } from '../config/expectations.ts';
import type { TargetName } from '../config/vm-spec.ts';
import type { DockerClient } from '../docker/docker-client.ts';
import { errorMessage } from '../errors.ts';
import type { ProgressSink } from '../report/progress.ts';
import { silentProgress } from '../report/progress.ts';
import { currentHostInfo, makeRunId, resultEntryFrom, RESULTS_SCHEMA_VERSION, type ResultEntry, type RunResults } from '../model/run-results.ts';
import { GuestMismatchError, TargetSkippedError } from '../targets/errors.ts';
import { unsupportedScenario } from '../targets/guest-check.ts';
import { startTarget, type StartedTarget } from '../targets/start-target.ts';
import { decideVerdict, infraErrorVerdict, skippedVerdict } from '../verdict/verdict.ts';
import type { PatchSpec } from './patch.ts';
import { applyPatch } from './patch.ts';
import { SCENARIOS, type ScenarioName } from '../model/scenario-catalog.ts';
import { runScenario } from './scenario-runner.ts';

export interface MatrixOptions {
  docker: DockerClient;
  targets: readonly TargetName[];
  scenarios: readonly ScenarioName[];
  signal?: AbortSignal;
  onProgress?: ProgressSink;
  /** Cycles per program run instead of each scenario's own. */
  cycles?: number;
  /** Copied into every guest (and installed) before its scenarios run. */
  patch?: PatchSpec;
  /**
   * Called as each entry is decided, for live reporting. `target`: the entry
   * comes from a target that did not start (skipped or broken), which the
   * progress sink has already been told once for all its scenarios.
   */
  onEntry?: (entry: ResultEntry, origin: 'scenario' | 'target') => void;
}

/**
 * Runs every scenario on every target and decides each verdict. A target that
 * cannot run here is `skipped` with the fix; one that breaks is an
 * `infra-error` for the scenarios it could not run, with its artifacts saved.
 */
export async function runMatrix(options: MatrixOptions): Promise<RunResults> {
  const progress = options.onProgress ?? silentProgress;
  const startedAt = new Date();
  const entries: ResultEntry[] = [];
  const add = (entry: ResultEntry, origin: 'scenario' | 'target' = 'scenario') => {
    entries.push(entry);
    options.onEntry?.(entry, origin);
  };

  for (const target of options.targets) {
    options.signal?.throwIfAborted();
    const expectations = await loadExpectations(target, options.signal ? { signal: options.signal } : {});
    let handle: StartedTarget;
    const targetStarted = Date.now();
    try {
      handle = await startTarget(target, { docker: options.docker, onProgress: progress, ...(options.signal ? { signal: options.signal } : {}) });
    } catch (error) {
      options.signal?.throwIfAborted();
      const verdict =
        error instanceof TargetSkippedError
          ? skippedVerdict(error.reason, error.fix)
          : error instanceof GuestMismatchError
            ? infraErrorVerdict(`${target}: first-boot check failed: ${errorMessage(error)}`, error.fix)
            : infraErrorVerdict(`${target} did not start: ${errorMessage(error)}`);
      progress({ kind: verdict.status === 'skipped' ? 'step' : 'warn', scope: target, message: `${verdict.status}: ${verdict.reason}` });
      for (const scenario of options.scenarios) add(resultEntryFrom(verdict, { target, scenario, durationMs: Date.now() - targetStarted }), 'target');
      continue;
    }
    await using live = handle;
    if (options.patch) await applyPatch(live, options.patch, options.signal ? { signal: options.signal } : {});
    for (const scenario of options.scenarios) {
      options.signal?.throwIfAborted();
      const started = Date.now();
      const unsupported = unsupportedScenario(live.facts, SCENARIOS[scenario]);
      if (unsupported) {
        progress({ kind: 'step', scope: `${target} ${scenario}`, message: `skipped: ${unsupported.reason}` });
        add(resultEntryFrom(skippedVerdict(unsupported.reason, unsupported.fix), { target, scenario, durationMs: 0 }));
        continue;
      }
      try {
        const observation = await runScenario(live, SCENARIOS[scenario], {
          onProgress: progress,
          ...(options.cycles ? { cycles: options.cycles } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
        });
        const verdict = decideVerdict(observation, expectations.scenarios[scenario]);
        add(resultEntryFrom(verdict, { target, scenario, durationMs: Date.now() - started, observation }));
      } catch (error) {
        options.signal?.throwIfAborted();
        const files = await live.collectArtifacts(`${scenario}: ${errorMessage(error)}`).catch(() => []);
        const verdict = infraErrorVerdict(`${errorMessage(error)}${files.length ? ` (artifacts: ${files.join(', ')})` : ''}`);
        add(resultEntryFrom(verdict, { target, scenario, durationMs: Date.now() - started }));
      }
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
