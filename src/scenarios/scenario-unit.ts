import type { TargetExpectations } from '../config/expectations.ts';
import { errorMessage } from '../errors.ts';
import { resultEntryFrom, type GuestStart, type PatchRecord, type ResultEntry } from '../model/run-results.ts';
import { SCENARIOS, type ScenarioName } from '../model/scenario-catalog.ts';
import type { ProgressSink } from '../report/progress.ts';
import { silentProgress } from '../report/progress.ts';
import { GuestMismatchError } from '../targets/errors.ts';
import { unsupportedScenario } from '../targets/guest-check.ts';
import type { PreparedTarget, StartedTarget } from '../targets/prepare-target.ts';
import { decideVerdict, infraErrorVerdict, skippedVerdict } from '../verdict/verdict.ts';
import { meteredHandle, type GuestTimeMeter } from './metered-agent.ts';
import { applyPatch, PatchInstallError, type PreparedPatch } from './patch.ts';
import { GuestStartError } from './errors.ts';
import { PhaseClock } from './phase-clock.ts';
import { runScenario, type RunScenarioOptions } from './scenario-runner.ts';

export interface ScenarioUnitOptions {
  expectations: TargetExpectations;
  signal?: AbortSignal;
  onProgress?: ProgressSink;
  /** Cycles per program run instead of the scenario's own. */
  cycles?: number;
  /** Installed in the scenario's guest before the scenario (results say so per entry). */
  patch?: PreparedPatch;
  /** Where a scenario's artifacts go (a run passes results/<run-id>/artifacts/<target>/<scenario>). */
  artifactsDir?: (target: string, scenario: ScenarioName) => string;
  /** Passed to runScenario (settle time, timeouts, where programs come from). */
  run?: Omit<RunScenarioOptions, 'signal' | 'onProgress' | 'cycles' | 'onPhase' | 'guestTime'>;
}

/**
 * The unit of work of a run: one scenario on a guest of its own. Starts a
 * fresh guest from the prepared target (QEMU: the saved state onto a new
 * overlay; wine: a new container), installs the patch, runs the scenario,
 * decides the verdict, and stops the guest — its overlay or container gone —
 * before it returns, so the next unit cannot inherit what this one leaked.
 * Schedulers (slots, hosts) call it with any prepared target.
 *
 * Returns the result entry, infra-error included. Throws only what ends the
 * whole target: GuestMismatchError (the image is another system),
 * PatchInstallError (the patch does not install), GuestStartError (no fresh
 * guest could be started: it carries the scenario's entry), and an abort.
 */
export async function runScenarioOnFreshGuest(
  prepared: PreparedTarget,
  scenario: ScenarioName,
  options: ScenarioUnitOptions,
): Promise<ResultEntry> {
  const clock = new PhaseClock();
  const definition = SCENARIOS[scenario];
  const target = prepared.target;
  // Known facts (an earlier guest's) spare a start for a scenario this system cannot run.
  const unsupported = prepared.facts ? unsupportedScenario(prepared.facts, definition) : undefined;
  if (unsupported) return skippedEntry(target, scenario, unsupported, options.onProgress);

  let guest: StartedTarget;
  try {
    const artifactsDir = options.artifactsDir?.(target, scenario);
    guest = await clock.time('guestStart', () => prepared.startGuest({ signal: options.signal, artifactsDir }));
  } catch (error) {
    options.signal?.throwIfAborted();
    if (error instanceof GuestMismatchError) throw error;
    const reason = `${target}: the scenario's guest did not start: ${errorMessage(error)}`;
    const phases = clock.finish(0);
    throw new GuestStartError(reason, resultEntryFrom(infraErrorVerdict(reason), { target, scenario, durationMs: phases.wall, phases }), {
      cause: error,
    });
  }
  try {
    return await runScenarioOnGuest(guest, scenario, {
      ...options,
      run: { programs: prepared.programs, ...options.run },
      clock,
      guestStart: guest.guest,
      appliedPatch: prepared.patch,
    });
  } finally {
    await disposeGuest(guest, `${target} ${scenario}`, options.onProgress);
  }
}

/**
 * Stops a scenario's guest. The entry stands whatever the cleanup does: a removal the engine did not answer
 * (a dockerd restart) once replaced the scenario's own reason. A failure is a warning; what the guest left is
 * the reaper's and the next sweep's to remove.
 */
export async function disposeGuest(guest: StartedTarget, scope: string, progress: ProgressSink = silentProgress): Promise<void> {
  try {
    await guest[Symbol.asyncDispose]();
  } catch (error) {
    progress({ kind: 'warn', scope, message: `the scenario's guest was not cleaned up: ${errorMessage(error)}` });
  }
}

/**
 * One scenario on a guest that is already running (the fresh one above, or
 * the shared one of --reuse-guest). `guestStart` is what the entry records
 * about the guest; `clock` has the guest's start in it when there was one.
 */
export async function runScenarioOnGuest(
  guest: StartedTarget,
  scenario: ScenarioName,
  options: ScenarioUnitOptions & { guestStart: GuestStart; clock?: PhaseClock; appliedPatch?: PatchRecord },
): Promise<ResultEntry> {
  const clock = options.clock ?? new PhaseClock();
  const progress = options.onProgress ?? silentProgress;
  const definition = SCENARIOS[scenario];
  const target = guest.target;
  const unsupported = unsupportedScenario(guest.facts, definition);
  if (unsupported) return skippedEntry(target, scenario, unsupported, progress);

  const meter: GuestTimeMeter = { ms: 0 };
  const handle = meteredHandle(guest, meter);
  const call = { signal: options.signal };
  let patch = options.appliedPatch;
  const entry = (fields: Omit<Parameters<typeof resultEntryFrom>[1], 'target' | 'scenario' | 'durationMs'>) => {
    const phases = clock.finish(meter.ms);
    return {
      target,
      scenario,
      durationMs: phases.wall,
      phases,
      guest: options.guestStart,
      patch,
      ...fields,
    };
  };
  try {
    if (options.patch && patch === undefined) {
      const prepared = options.patch;
      patch = await clock.time('patch', () => applyPatch(handle, prepared, call));
    }
    const run = (signal: AbortSignal | undefined) =>
      runScenario(handle, definition, {
        ...options.run,
        signal,
        onProgress: progress,
        onPhase: (phase, ms) => clock.add(phase, ms),
        guestTime: meter,
        cycles: options.cycles,
      });
    // Under the target's watchdog (QEMU), a guest that goes quiet is an infra-error within its silence budget.
    const observation = guest.watch ? await guest.watch(scenario, run, call) : await run(options.signal);
    const verdict = await clock.time('verdict', () => decideVerdict(observation, options.expectations.scenarios[scenario]));
    return resultEntryFrom(verdict, entry({ observation }));
  } catch (error) {
    options.signal?.throwIfAborted();
    if (error instanceof PatchInstallError) throw error;
    const files = await guest.collectArtifacts(`${scenario}: ${errorMessage(error)}`).catch(() => []);
    const verdict = infraErrorVerdict(`${errorMessage(error)}${files.length ? ` (artifacts: ${files.join(', ')})` : ''}`);
    return resultEntryFrom(verdict, entry({}));
  }
}

function skippedEntry(
  target: string,
  scenario: ScenarioName,
  unsupported: { reason: string; fix: string },
  progress: ProgressSink = silentProgress,
): ResultEntry {
  progress({ kind: 'step', scope: `${target} ${scenario}`, message: `skipped: ${unsupported.reason}` });
  return resultEntryFrom(skippedVerdict(unsupported.reason, unsupported.fix), { target, scenario, durationMs: 0 });
}
