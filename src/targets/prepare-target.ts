import { loadVmSpec } from '../config/load-vm-spec.ts';
import type { TargetName } from '../config/vm-spec.ts';
import type { DockerClient } from '../docker/docker-client.ts';
import { readFile } from 'node:fs/promises';
import { buildGuestApps, type GuestBuildResult } from '../guest-apps/build.ts';
import type { GuestAppName } from '../guest-apps/guest-app-table.ts';
import type { GuestToolchain, PatchRecord } from '../model/run-results.ts';
import { maxGuestFileBytes } from '../licensed/licensed-config.ts';
import { licensedReadiness } from '../licensed/readiness.ts';
import type { ProgressSink } from '../report/progress.ts';
import { TargetSkippedError } from './errors.ts';
import { checkGuest, type GuestFacts } from './guest-check.ts';
import { prepareQemuTarget } from './qemu-target.ts';
import type { SavedStatePatch, TargetHandle } from './target-handle.ts';
import { patchedWineImage, prepareWineTarget, startWineGuest } from './wine-target.ts';

export interface PrepareOptions {
  docker: DockerClient;
  signal?: AbortSignal;
  onProgress?: ProgressSink;
  /** Where artifacts of the preparation go (a QEMU cold boot that fails); made only when one is written. */
  artifactsDir?: string;
  /** `--patch-when saved-state`: installed once, before the state every guest starts from (QEMU: the saved VM state; wine: a committed image). */
  patch?: SavedStatePatch;
}

/** A started guest that passed the first-boot check. */
export interface StartedTarget extends TargetHandle {
  readonly facts: GuestFacts;
}

/** Where a guest program's bytes come from. */
export type ProgramSource = (name: GuestAppName, options: { signal?: AbortSignal }) => Promise<Uint8Array>;

export interface GuestStartOptions {
  signal?: AbortSignal;
  onProgress?: ProgressSink;
  /** Where this guest's artifacts go (results/<run-id>/artifacts/<target>/<scenario>); made only when one is written. */
  artifactsDir?: string;
}

/**
 * A target made ready once, before any scenario: guest programs built,
 * licence readiness checked, the wine-vm disk found or built, the accelerator
 * chosen, the saved VM state found or made. `startGuest` then does only what
 * each scenario needs for a clean guest of its own: restore (or create a
 * container), connect, check. Schedulers call it once per scenario.
 */
export interface PreparedTarget {
  readonly target: TargetName;
  /** How long the preparation took. */
  readonly prepareMs: number;
  /** The guest programs built for this target (the same bytes for every guest). */
  readonly programs: ProgramSource;
  /** The compiler that built `programs` (a fake in unit tests may leave it out). */
  readonly toolchain?: GuestToolchain;
  /** The patch in the state every guest starts from (PrepareOptions.patch); its entries record it as theirs. */
  readonly patch?: PatchRecord;
  /** What the last guest's first-boot check found; undefined before the first guest. */
  readonly facts: GuestFacts | undefined;
  /** A fresh guest; disposing it stops it and deletes what it wrote. Throws GuestMismatchError (guest already stopped) for an image of another system. */
  startGuest(options?: GuestStartOptions): Promise<StartedTarget>;
}

/**
 * Prepares any target. Throws TargetSkippedError for a licensed target
 * without a configured, prepared image (with the fix).
 */
export async function prepareTarget(target: TargetName, options: PrepareOptions): Promise<PreparedTarget> {
  const started = Date.now();
  const call = { signal: options.signal };
  const spec = await loadVmSpec(target, call);
  const maxFileBytes = await maxGuestFileBytes(call);
  const limits = maxFileBytes !== undefined ? { maxFileBytes } : {};
  let start: (options: GuestStartOptions) => Promise<TargetHandle>;
  let built: readonly GuestBuildResult[];
  let patch: PatchRecord | undefined;
  if (spec.kind === 'wine-container') {
    const wine = await prepareWineTarget(options);
    built = wine.built;
    const patched = options.patch
      ? await patchedWineImage({
          docker: options.docker,
          ...limits,
          binDir: wine.binDir,
          patch: options.patch,
          ...call,
          onProgress: options.onProgress,
        })
      : undefined;
    patch = patched?.record;
    start = (opts) => startWineGuest({ docker: options.docker, ...limits, binDir: wine.binDir, image: patched?.image, ...opts });
  } else {
    let image: string | undefined;
    if (spec.licensed) {
      const readiness = await licensedReadiness(target, call);
      if (readiness.state !== 'ready') {
        throw new TargetSkippedError(
          target,
          `licensed target ${readiness.state}: ${readiness.reason}`,
          `${readiness.fix} (README: Licensed targets)`,
        );
      }
      image = readiness.image;
    }
    // Every guest program, once: a scenario's guest then only gets them copied in.
    built = await buildGuestApps({ ...call, onProgress: options.onProgress });
    const qemu = await prepareQemuTarget(spec, { ...options, ...limits, image });
    patch = qemu.patch;
    start = (opts) => qemu.startGuest(opts);
  }

  const paths = new Map(built.map((program) => [program.name, program.path]));
  const programs: ProgramSource = async (name, opts) => {
    const path = paths.get(name);
    if (path === undefined) throw new Error(`prepareTarget built no ${name}`);
    return readFile(path, { signal: opts.signal });
  };

  let facts: GuestFacts | undefined;
  const first = built[0];
  return {
    target,
    prepareMs: Date.now() - started,
    programs,
    ...(first ? { toolchain: { kind: first.toolchain, identity: first.toolchainIdentity } } : {}),
    patch,
    get facts() {
      return facts;
    },
    async startGuest(opts: GuestStartOptions = {}) {
      const handle = await start({ onProgress: options.onProgress, ...opts });
      try {
        const checked = checkGuest(spec, await handle.agent.sysinfo({ signal: opts.signal }));
        if (facts === undefined)
          (opts.onProgress ?? options.onProgress)?.({
            kind: 'step',
            scope: target,
            message: `guest: ${checked.description}; programs: ${checked.programs.join(', ')}`,
          });
        facts = checked;
        return Object.assign(handle, { facts: checked });
      } catch (error) {
        await handle[Symbol.asyncDispose]();
        throw error;
      }
    },
  };
}
