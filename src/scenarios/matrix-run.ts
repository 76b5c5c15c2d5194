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
import { GuestStartError } from './errors.ts';
import { PatchInstallError, preparePatch, savedStatePatchOf, type PatchSpec, type PatchWhen } from './patch.ts';
import { PhaseClock } from './phase-clock.ts';
import { selectShard, type Shard } from '../scheduler/shard.ts';
import { schedule } from '../scheduler/work-scheduler.ts';
import { disposeGuest, runScenarioOnFreshGuest, runScenarioOnGuest, type ScenarioUnitOptions } from './scenario-unit.ts';

/** One Docker host the matrix may run on: `slots` scenarios at a time. */
export interface MatrixHost {
  /** What progress lines and results.json call it (`local`, `user@machine`). */
  name: string;
  docker: DockerClient;
  slots: number;
}

export interface MatrixOptions {
  /** The hosts the scenarios spread over (one, for a run on the local engine). */
  hosts: readonly MatrixHost[];
  targets: readonly TargetName[];
  scenarios: readonly ScenarioName[];
  signal?: AbortSignal;
  onProgress?: ProgressSink;
  /** Cycles per program run instead of each scenario's own. */
  cycles?: number;
  /** Copied into every scenario's guest (and installed) before the scenario runs. */
  patch?: PatchSpec;
  /** `per-guest` (default): the patch is installed in every scenario's guest; `saved-state`: once, before the state they all start from. */
  patchWhen?: PatchWhen;
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
  /** `--shard i/n`: only this part of the work items (split by matrixItemKeys, the same on every machine). */
  shard?: Shard;
}

/** How the matrix gets a target ready; prepareTarget, or a fake in unit tests. */
export type PrepareFn = (target: TargetName, options: PrepareOptions) => Promise<PreparedTarget>;

/** One unit the scheduler places: a scenario of a target (with --reuse-guest, all of a target's scenarios in one guest). */
export interface WorkItem {
  target: TargetName;
  scenarios: readonly ScenarioName[];
}

const itemKey = (item: WorkItem) => `${item.target} ${item.scenarios.join('+')}`;

/** The work items of a run (of its shard, with `shard`), in the order a whole run takes them. */
export function matrixItems(options: Pick<MatrixOptions, 'targets' | 'scenarios' | 'reuseGuest' | 'shard'>): WorkItem[] {
  const items: WorkItem[] = options.reuseGuest
    ? options.targets.map((target) => ({ target, scenarios: options.scenarios }))
    : options.targets.flatMap((target) => options.scenarios.map((scenario) => ({ target, scenarios: [scenario] })));
  return options.shard ? selectShard(items, itemKey, options.shard) : items;
}

/** A host stopped answering while an item ran on it: the scheduler queues the item again elsewhere. */
class HostDroppedError extends Error {
  constructor(host: string, detail: string) {
    super(`${host} stopped answering (${detail})`);
    this.name = 'HostDroppedError';
  }
}

/** Why the rest of a target cannot run (not prepared here, another system, a patch that does not install). */
interface TargetStop {
  verdict: Verdict;
  extra: { patch?: PatchRecord };
}

/**
 * Runs every scenario on every target and decides each verdict. The work
 * items — target × scenario, each on a fresh guest of its own
 * (runScenarioOnFreshGuest), or with `reuseGuest` one item per target whose
 * scenarios share a guest — are spread over the free slots of every host
 * (src/scheduler/work-scheduler.ts). A target is prepared once per host that
 * runs it (programs, disk, saved state), the first time an item of it lands
 * there; a target's first item runs alone, since its preparation makes what
 * the others reuse. A target that cannot run here is `skipped` with the fix;
 * one that breaks is an `infra-error` for the scenarios it could not run,
 * with its artifacts saved. An item whose host stops answering is queued
 * again once on another host; every entry records the host it ran on.
 */
export async function runMatrix(options: MatrixOptions): Promise<RunResults> {
  const progress = options.onProgress ?? silentProgress;
  const prepare = options.prepare ?? prepareTarget;
  const call = { signal: options.signal };
  const startedAt = new Date();
  const patch = options.patch ? await preparePatch(options.patch, call) : undefined;
  const savedStatePatch = patch !== undefined && options.patchWhen === 'saved-state' ? savedStatePatchOf(patch) : undefined;
  // Progress from several guests at once interleaves: each line then says which host it comes from.
  const parallel = options.hosts.length > 1 || options.hosts.some((host) => host.slots > 1);
  const onHost = (host: string): ProgressSink =>
    parallel ? (event) => progress({ ...event, scope: `${event.scope} @${host}` }) : progress;

  const expectations = new Map<TargetName, ReturnType<typeof loadExpectations>>();
  const expectationsOf = (target: TargetName) => {
    let loaded = expectations.get(target);
    if (!loaded) {
      loaded = loadExpectations(target, call);
      expectations.set(target, loaded);
    }
    return loaded;
  };

  // One preparation at a time: they build the same guest programs and disks into the same cache.
  let prepareQueue: Promise<unknown> = Promise.resolve();
  const preparations = new Map<string, Promise<PreparedTarget>>();
  const preparedOn = (target: TargetName, host: MatrixHost, signal: AbortSignal): Promise<PreparedTarget> => {
    const key = `${target}\u0000${host.name}`;
    let prepared = preparations.get(key);
    if (!prepared) {
      const artifactsDir = options.artifactsDir?.(target, 'prepare');
      const next = prepareQueue.then(() =>
        prepare(target, { docker: host.docker, onProgress: onHost(host.name), signal, artifactsDir, patch: savedStatePatch }),
      );
      prepareQueue = next.catch(() => undefined);
      prepared = next;
      preparations.set(key, prepared);
    }
    return prepared;
  };

  const stopped = new Map<TargetName, TargetStop>();
  const targetStarted = new Map<TargetName, number>();
  const stopTarget = (target: TargetName, stop: TargetStop) => {
    if (stopped.has(target)) return;
    stopped.set(target, stop);
    progress({
      kind: stop.verdict.status === 'skipped' ? 'step' : 'warn',
      scope: target,
      message: `${stop.verdict.status}: ${stop.verdict.reason}`,
    });
  };
  const stopEntries = (item: WorkItem, stop: TargetStop): ResultEntry[] =>
    item.scenarios.map((scenario) =>
      resultEntryFrom(stop.verdict, {
        target: item.target,
        scenario,
        durationMs: Date.now() - (targetStarted.get(item.target) ?? Date.now()),
        ...stop.extra,
      }),
    );

  const runItem = async (item: WorkItem, host: MatrixHost, signal: AbortSignal): Promise<ResultEntry[]> => {
    const { target } = item;
    if (!targetStarted.has(target)) targetStarted.set(target, Date.now());
    const before = stopped.get(target);
    if (before) return stopEntries(item, before);
    const hostProgress = onHost(host.name);
    let prepared: PreparedTarget;
    try {
      prepared = await preparedOn(target, host, signal);
    } catch (error) {
      signal.throwIfAborted();
      if (error instanceof PatchInstallError) {
        stopTarget(target, {
          verdict: infraErrorVerdict(
            `${target}: ${errorMessage(error)}`,
            'fix the patch or its --patch-install command; no scenario ran unpatched',
          ),
          extra: { patch: error.record },
        });
        return stopEntries(item, stopped.get(target)!);
      }
      if (!(error instanceof TargetSkippedError))
        throw new Error(`${target} could not be prepared on ${host.name}: ${errorMessage(error)}`, { cause: error });
      stopTarget(target, { verdict: skippedVerdict(error.reason, error.fix), extra: {} });
      return stopEntries(item, stopped.get(target)!);
    }
    const unit: ScenarioUnitOptions = {
      expectations: await expectationsOf(target),
      onProgress: hostProgress,
      signal,
      cycles: options.cycles,
      // Under saved-state the prepared target holds it already; its record is prepared.patch.
      patch: savedStatePatch === undefined ? patch : undefined,
      run: options.run,
      artifactsDir: options.artifactsDir,
    };
    const entries: ResultEntry[] = [];
    try {
      const scenarioEntries = options.reuseGuest
        ? runReusingGuest(prepared, item.scenarios, unit, hostProgress)
        : runEachOnFreshGuest(prepared, item.scenarios, unit);
      for await (const entry of scenarioEntries) {
        entries.push({ ...(prepared.toolchain ? { ...entry, toolchain: prepared.toolchain } : entry), host: host.name });
      }
    } catch (error) {
      signal.throwIfAborted();
      if (error instanceof GuestStartError) {
        // A host that went away fails every start: that is the host's to answer for (queued again elsewhere).
        if (!(await hostAnswers(host, signal))) throw new HostDroppedError(host.name, error.message);
        entries.push({ ...(prepared.toolchain ? { ...error.entry, toolchain: prepared.toolchain } : error.entry), host: host.name });
        stopTarget(target, {
          verdict: infraErrorVerdict(
            `not run: ${target}'s guest did not start for ${error.entry.scenario}, and every scenario needs a fresh one (${error.message})`,
            `see that scenario's artifacts; \`retrolab prepare --target ${target}\` shows whether a guest of it starts at all`,
          ),
          extra: {},
        });
      } else if (error instanceof GuestMismatchError)
        stopTarget(target, {
          verdict: infraErrorVerdict(`${target}: first-boot check failed: ${errorMessage(error)}`, error.fix),
          extra: {},
        });
      else if (error instanceof PatchInstallError)
        stopTarget(target, {
          verdict: infraErrorVerdict(
            `${target}: ${errorMessage(error)}`,
            'fix the patch or its --patch-install command; no scenario ran unpatched',
          ),
          extra: { patch: error.record },
        });
      else throw error;
      const rest: WorkItem = { target, scenarios: item.scenarios.slice(entries.length) };
      return [...entries, ...stopEntries(rest, stopped.get(target)!)];
    }
    // An infra-error is what a host that died mid-scenario looks like from inside: ask the host before believing it.
    if (entries.some((entry) => entry.verdict === 'infra-error') && !(await hostAnswers(host, signal))) {
      throw new HostDroppedError(host.name, entries.find((entry) => entry.verdict === 'infra-error')?.reason ?? 'infra-error');
    }
    return entries;
  };

  const items = matrixItems(options);
  const scheduled = await schedule<WorkItem, MatrixHost, ResultEntry[]>({
    items,
    hosts: options.hosts.map((host) => ({ name: host.name, slots: host.slots, handle: host })),
    keyOf: itemKey,
    groupOf: (item) => item.target,
    run: async (item, host, signal) => {
      const entries = await runItem(item, host.handle, signal);
      for (const entry of entries) {
        options.onEntry?.(entry, entry.host === undefined ? 'target' : 'scenario');
      }
      return entries;
    },
    failed: (item, error) => {
      const entries = item.scenarios.map((scenario) =>
        resultEntryFrom(infraErrorVerdict(errorMessage(error)), {
          target: item.target,
          scenario,
          durationMs: 0,
        }),
      );
      for (const entry of entries) options.onEntry?.(entry, 'scenario');
      return entries;
    },
    alive: (host, signal) => hostAnswers(host.handle, signal),
    lost: (item, hosts, reason) => {
      const entries = item.scenarios.map((scenario) =>
        resultEntryFrom(
          infraErrorVerdict(
            // An item lost on a host had started there: cut short, not "not run" (the chaos dockerd restart read so).
            hosts.length > 0 ? `cut short: its host dropped while it ran (${hosts.join(', then ')}): ${reason}` : `not run: ${reason}`,
            'check the host named (its engine, its SSH server, its network) and run the scenario again',
          ),
          { target: item.target, scenario, durationMs: 0 },
        ),
      );
      for (const entry of entries) options.onEntry?.(entry, 'scenario');
      return entries;
    },
    onEvent: (event) => {
      switch (event.kind) {
        case 'start':
          if (parallel || event.attempt > 1)
            progress({
              kind: 'step',
              scope: event.item,
              message: `on ${event.host}${event.attempt > 1 ? ` (attempt ${event.attempt})` : ''}`,
            });
          break;
        case 'host-lost':
          progress({ kind: 'warn', scope: event.host, message: `host lost: ${event.reason}; no more work goes there` });
          break;
        case 'requeued':
          progress({ kind: 'warn', scope: event.item, message: `queued again for another host: ${event.reason}` });
          break;
        case 'done':
          break;
      }
    },
    ...call,
  });

  return {
    schemaVersion: RESULTS_SCHEMA_VERSION,
    runId: makeRunId(startedAt),
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    host: currentHostInfo(options.hosts[0]?.docker.endpoint),
    entries: scheduled.flatMap((item) => item.result),
  };
}

async function hostAnswers(host: MatrixHost, signal: AbortSignal): Promise<boolean> {
  return host.docker.ping({ signal: AbortSignal.any([signal, AbortSignal.timeout(15_000)]) }).then(
    () => true,
    () => false,
  );
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
  let sharedPatch: PatchRecord | undefined = prepared.patch;
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
        sharedPatch = prepared.patch;
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
        await disposeGuest(broken, `${prepared.target} ${scenario}`, progress);
      }
      yield entry;
    }
  } finally {
    if (shared) await disposeGuest(shared, prepared.target, progress);
  }
}
