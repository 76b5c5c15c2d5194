import { stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { AgentClient } from '../agent/agent-client.ts';
import { resolveFileSource } from '../config/load-vm-spec.ts';
import type { QemuVmSpec } from '../config/vm-spec.ts';
import type { DockerClient } from '../docker/docker-client.ts';
import type { HostFiles } from '../docker/host-files.ts';
import { patchRecord, type PatchRecord } from '../model/run-results.ts';
import { RUNNER_IMAGES } from '../docker/image-names.ts';
import { buildGuestApps } from '../guest-apps/build.ts';
import { hashInputs } from '../images/input-hash.ts';
import { ensureWineVmGuest } from '../images/wine-vm-disk.ts';
import { familyOf } from '../os/os-profiles.ts';
import { chooseAccel } from '../qemu/accel.ts';
import type { GuestForward } from '../qemu/command-line.ts';
import { createOverlay, type DiskImageInfo } from '../qemu/overlay-disk.ts';
import { QemuVm } from '../qemu/qemu-vm.ts';
import { containerUser, createHostRunDirectory } from '../qemu/run-directory.ts';
import type { ProgressSink } from '../report/progress.ts';
import { reportWaits } from '../report/wait-reporter.ts';
import { silentProgress } from '../report/progress.ts';
import { ResourceStack } from '../util/dispose.ts';
import { resultsDir } from '../util/paths.ts';
import type { WaitProgress } from '../wait/wait-for.ts';
import { TargetSkippedError } from './errors.ts';
import type { PeerEndpoint, SavedStatePatch, TargetHandle } from './target-handle.ts';
import { beginWarmState, findWarmState, type WarmState } from './warm-state.ts';

/**
 * Where the guest reaches the scenario peer: slirp hands each connection to a
 * fresh reader that drains what the guest sends and closes after 3 s. It must
 * drain: a reader that exits with bytes still coming makes slirp's write fail
 * and slirp then resets the guest's connection, which drops it from the guest's
 * table (a held socket vanished from NETSTAT that way, measured on wine-vm).
 */
const PEER: PeerEndpoint = { host: '10.0.2.100', port: 7000 };
/** Exported for tests that restore the saved state with a QemuVm of their own: a restore needs the command line the state was saved with. */
export const PEER_FORWARD: GuestForward = {
  guestAddress: PEER.host,
  guestPort: PEER.port,
  to: "cmd:sh -c 'timeout 3 cat >/dev/null'",
};

/** Bumped when what a saved state holds changes (2: the guest work folder is made before saving). */
const STATE_RECIPE = 2;

interface BootMedia {
  golden: string;
  kernel?: { image: string; initrd: string };
  /** Identifies the golden image's content for the warm-state key. */
  identity: string;
}

/** Longer than any scenario's own deadlines: the watch is for silence, not for length. */
const SCENARIO_WATCH_LIMIT_MS = 4 * 60 * 60_000;

export interface StartQemuTargetOptions {
  docker: DockerClient;
  signal?: AbortSignal;
  onProgress?: ProgressSink;
  /** Ignore (and replace) a cached saved state. */
  coldBoot?: boolean;
  /** The disk image to boot, instead of the spec's source (a licensed target's prepared image). */
  image?: string;
  /** `--patch-when saved-state`: installed after the cold boot, before the state is saved; its key is part of the state's. */
  patch?: SavedStatePatch;
  /** The most the agent client takes in one getFile (limits.maxGuestFileMiB). */
  maxFileBytes?: number;
  /**
   * Told how long the warm start took, from the run overlay's creation to the
   * agent's answer: the same span a cold boot's coldBootMs covers (the bench
   * compares the two).
   */
  onWarmStart?: (warmStartMs: number) => void;
  /** Where this guest's artifacts go (a run passes results/<run-id>/artifacts/<target>/<scenario>); made only when one is written. */
  artifactsDir?: string;
}

async function fileIdentity(path: string): Promise<string> {
  const info = await stat(path);
  return `${path}:${info.size}:${info.mtimeMs}`;
}

async function bootMedia(spec: QemuVmSpec, options: StartQemuTargetOptions, agentExe: string | undefined): Promise<BootMedia> {
  if ('build' in spec.disk.image) {
    const guest = await ensureWineVmGuest({
      docker: options.docker,
      agentExe,
      signal: options.signal,
      onProgress: options.onProgress,
    });
    // Built here; a host that does not see this machine's files gets copies in its cache (once, by checksum).
    const provide = (path: string) => options.docker.files.provideFile(path, { signal: options.signal, onProgress: options.onProgress });
    return {
      golden: await provide(guest.disk),
      kernel: { image: await provide(guest.kernel), initrd: await provide(guest.initrd) },
      identity: guest.hash,
    };
  }
  const image = options.image ? { ok: true as const, path: options.image } : resolveFileSource(spec.disk.image);
  if (!image.ok) throw new TargetSkippedError(spec.target, image.reason, image.fix);
  const identity = await fileIdentity(image.path).catch(() => {
    throw new TargetSkippedError(
      spec.target,
      `the configured image ${image.path} does not exist`,
      `point the variable at your ${spec.target} disk image`,
    );
  });
  // The user's image is only read: on a host that does not see this machine's files, from a checked copy in its cache.
  const golden = await options.docker.files.provideFile(image.path, { signal: options.signal, onProgress: options.onProgress });
  return { golden, identity };
}

/** Boots cold to agent ready and saves (replacing) the warm state; for the bench. Returns the cold boot time. */
export async function coldBootQemuTarget(spec: QemuVmSpec, options: StartQemuTargetOptions): Promise<{ coldBootMs: number }> {
  const call = { signal: options.signal };
  const [agent] = await buildGuestApps({ only: ['agent'], ...call });
  const media = await bootMedia(spec, options, agent?.path);
  const accel = await chooseAccel(options.docker, spec, { ...call, onProgress: options.onProgress ?? silentProgress });
  const { coldBootMs } = await saveColdBootState(
    spec,
    media,
    await warmStateKey(spec, media, accel.accel, options.docker, agent?.sha256, options.patch?.key),
    accel.accel,
    options,
  );
  return { coldBootMs };
}

async function warmStateKey(
  spec: QemuVmSpec,
  media: BootMedia,
  accel: 'tcg' | 'kvm',
  docker: DockerClient,
  agentSha: string | undefined,
  patch: string | undefined,
): Promise<string> {
  if (agentSha === undefined) throw new Error('buildGuestApps returned no agent');
  const runner = (await docker.imageLabels(RUNNER_IMAGES.qemu)) ?? {};
  return hashInputs({
    image: media.identity,
    spec,
    qemuRunner: runner,
    agent: agentSha,
    accel,
    peer: PEER_FORWARD,
    recipe: STATE_RECIPE,
    ...(patch === undefined ? {} : { patch }),
  });
}

/**
 * A QEMU target made ready to start guests: its disk (built for wine-vm),
 * the accelerator, and the saved VM state at agent ready. `startGuest` then
 * only creates a throwaway overlay, restores the state and connects.
 */
export interface PreparedQemuTarget {
  readonly spec: QemuVmSpec;
  readonly accel: 'tcg' | 'kvm';
  readonly warm: WarmState;
  /** The patch installed before the state was saved (`--patch-when saved-state`). */
  readonly patch?: PatchRecord;
  /** A guest of its own, restored from the saved state onto a fresh overlay; disposing it stops it and deletes the overlay. */
  startGuest(options: Pick<StartQemuTargetOptions, 'signal' | 'onProgress' | 'onWarmStart' | 'artifactsDir'>): Promise<TargetHandle>;
}

/**
 * Everything a QEMU target needs before its first guest, done once: the agent
 * program, the golden image (the wine-vm disk is built when missing), the
 * accelerator, and the saved state — found by the hash of its inputs, or made
 * by one cold boot to "agent ready".
 */
export async function prepareQemuTarget(spec: QemuVmSpec, options: StartQemuTargetOptions): Promise<PreparedQemuTarget> {
  const progress = options.onProgress ?? silentProgress;
  const { docker } = options;
  const call = { signal: options.signal };
  const [agent] = await buildGuestApps({ only: ['agent'], ...call });
  const media = await bootMedia(spec, options, agent?.path);
  const accel = await chooseAccel(docker, spec, { ...call, onProgress: progress });
  const key = await warmStateKey(spec, media, accel.accel, docker, agent?.sha256, options.patch?.key);

  const found = options.coldBoot ? undefined : await findWarmState(docker.files, spec.target, key);
  const ready = found ?? (await saveColdBootState(spec, media, key, accel.accel, options));
  const patch = patchOfState(ready, found !== undefined, options.patch);
  const template = await runOverlayTemplate(docker, ready, options);
  return {
    spec,
    accel: accel.accel,
    warm: ready,
    patch,
    startGuest: (start) =>
      startWarm(spec, media, ready, template, accel.accel, {
        docker,
        maxFileBytes: options.maxFileBytes,
        ...start,
      }),
  };
}

/**
 * Starts a QEMU target with its agent connected. The first start boots cold
 * to "agent ready", saves the VM state with its disk overlay, and every start
 * after that (with the same image, spec, QEMU and agent) resumes from it.
 */
export async function startQemuTarget(spec: QemuVmSpec, options: StartQemuTargetOptions): Promise<TargetHandle> {
  const prepared = await prepareQemuTarget(spec, options);
  return prepared.startGuest(options);
}

async function saveColdBootState(
  spec: QemuVmSpec,
  media: BootMedia,
  key: string,
  accel: 'tcg' | 'kvm',
  options: StartQemuTargetOptions,
): Promise<WarmState & { coldBootMs: number }> {
  const progress = options.onProgress ?? silentProgress;
  const started = Date.now();
  progress({ kind: 'step', scope: spec.target, message: 'no saved state for these inputs: cold boot to agent ready, then save it' });
  const building = await beginWarmState(options.docker.files, spec.target, key);
  try {
    const saved = await bootAndSave(spec, media, accel, building.stateFile, building.goldenOverlay, options);
    const state = await building.commit({
      stateBytes: saved.bytes,
      inputs: { image: media.identity, accel, ...(saved.patch === undefined ? {} : { patch: saved.patch }) },
    });
    progress({
      kind: 'done',
      scope: spec.target,
      message: `saved the VM state (${Math.round(saved.bytes / 1e6)} MB)`,
      durationMs: Date.now() - started,
    });
    return { ...state, coldBootMs: saved.coldBootMs };
  } catch (error) {
    await building.abandon();
    throw error;
  }
}

/** Boots on a fresh overlay of the golden image, saves the state at agent ready, and moves the overlay next to the state. */
async function bootAndSave(
  spec: QemuVmSpec,
  media: BootMedia,
  accel: 'tcg' | 'kvm',
  stateFile: string,
  overlayDestination: string,
  options: StartQemuTargetOptions,
): Promise<{ bytes: number; coldBootMs: number; patch?: PatchRecord }> {
  const progress = options.onProgress ?? silentProgress;
  const started = Date.now();
  await using runDir = await createHostRunDirectory(options.docker.files, options);
  const disk = await createOverlay(
    options.docker,
    { backing: media.golden, overlay: posix.join(runDir.hostPath, 'golden.qcow2') },
    options,
  );
  let saved: { bytes: number };
  let coldBootMs: number;
  // QEMU's serial line, its monitor, then the agent's banner: each wait shows as it lasts.
  using waits = reportWaits(progress, spec.target);
  let patch: PatchRecord | undefined;
  {
    await using vm = await QemuVm.start({
      docker: options.docker,
      spec,
      runDir,
      artifactsDir: options.artifactsDir ?? join(resultsDir(), 'artifacts', `${options.docker.runId}-${spec.target}-cold`),
      accel,
      disk,
      kernel: media.kernel,
      forwards: { guest: [PEER_FORWARD] },
      onProgress: progress,
      onWait: waits.onWait,
      signal: options.signal,
    });
    const agent = await connectAgent(vm, { ...options, onWait: waits.onWait });
    waits.end();
    coldBootMs = Date.now() - started;
    progress({
      kind: 'step',
      scope: spec.target,
      message: `agent ready after a cold boot (${(coldBootMs / 1000).toFixed(1)} s): saving the VM state`,
    });
    // Made once here, so every warm start finds it on its overlay without a command of its own
    // (an EXEC is a shell start in the guest: ~1 s under Wine and TCG). `NUL` inside a folder exists
    // exactly when the folder does, on command.com as on cmd.
    const guestWorkDir = familyOf(spec.os).guestWorkDir;
    await agent.execChecked(`if not exist ${guestWorkDir}\\NUL mkdir ${guestWorkDir}`, {
      timeoutMs: 30_000,
      signal: options.signal,
    });
    if (options.patch) {
      progress({ kind: 'step', scope: spec.target, message: 'installing the patch once, before the state is saved' });
      patch = await options.patch.install({ agent, guestWorkDir }, { signal: options.signal });
    }
    saved = await vm.saveState(stateFile, options);
    await agent.close().catch(() => undefined);
  }
  await options.docker.files.move(disk.path, overlayDestination, options);
  return { ...saved, coldBootMs, ...(patch === undefined ? {} : { patch }) };
}

async function startWarm(
  spec: QemuVmSpec,
  media: BootMedia,
  warm: WarmState,
  template: DiskImageInfo,
  accel: 'tcg' | 'kvm',
  options: StartQemuTargetOptions,
): Promise<TargetHandle> {
  const progress = options.onProgress ?? silentProgress;
  const started = Date.now();
  await using stack = new ResourceStack();
  const runDir = stack.use(await createHostRunDirectory(options.docker.files, options));
  const overlay = await copyRunOverlay(options.docker.files, template, posix.join(runDir.hostPath, 'run.qcow2'), options);
  const artifactsDir = options.artifactsDir ?? join(resultsDir(), 'artifacts', `${options.docker.runId}-${spec.target}`);
  using waits = reportWaits(progress, spec.target);
  const vm = stack.use(
    await QemuVm.start({
      docker: options.docker,
      spec,
      runDir,
      artifactsDir,
      accel,
      disk: overlay,
      kernel: media.kernel,
      incomingStateFile: warm.stateFile,
      forwards: { guest: [PEER_FORWARD] },
      onProgress: progress,
      onWait: waits.onWait,
      signal: options.signal,
    }),
  );
  const agent = stack.use(await connectAgent(vm, { ...options, onWait: waits.onWait }));
  waits.end();
  const warmStartMs = Date.now() - started;
  options.onWarmStart?.(warmStartMs);
  const guest = { start: 'saved-state' as const, id: vm.container.id.slice(0, 12), startMs: warmStartMs, from: warm.key.slice(0, 16) };
  progress({ kind: 'done', scope: spec.target, message: `agent ready (warm start from saved state)`, durationMs: warmStartMs });
  // The saved state was taken after the work folder was made (bootAndSave), so it exists on this overlay.
  const guestWorkDir = familyOf(spec.os).guestWorkDir;
  const owned = stack.move();
  return {
    target: spec.target,
    agent,
    peer: PEER,
    guestWorkDir,
    artifactsDir,
    guest,
    serialLine: vm.serial,
    async collectArtifacts(reason: string) {
      const saved = await vm.collectArtifacts(reason.replace(/[^a-z0-9]+/gi, '-').slice(0, 40));
      return [saved.serialLogPath, saved.screenshotPath].filter((p): p is string => typeof p === 'string');
    },
    watch: (during, operation, watchOptions = {}) =>
      vm.guard(during, operation, {
        // The scenario's own deadlines bound its length; this only catches a guest that went quiet.
        timeoutMs: SCENARIO_WATCH_LIMIT_MS,
        silence: { limitMs: spec.timeouts.serialSilenceMs, silentForMs: () => agent.silentWhileWaitingMs },
        signal: watchOptions.signal,
      }),
    [Symbol.asyncDispose]: () => owned[Symbol.asyncDispose](),
  };
}

const TEMPLATE = 'run-template.qcow2';
const TEMPLATE_INFO = 'run-template.json';

/**
 * An empty overlay on the saved state's disk, made once per saved state
 * (qemu-img in a container, and its backing chain read, three container runs
 * in all) and kept beside the state. Every warm start copies it: an empty
 * qcow2 overlay is a small file naming its backing image by absolute path,
 * so a copy is the same as a new one, without a container.
 */
async function runOverlayTemplate(docker: DockerClient, warm: WarmState, options: { signal?: AbortSignal }): Promise<DiskImageInfo> {
  const files = docker.files;
  const path = posix.join(warm.dir, TEMPLATE);
  const infoPath = posix.join(warm.dir, TEMPLATE_INFO);
  try {
    const info = await files.readText(infoPath, options);
    if (info !== undefined && (await files.exists(path, options))) return JSON.parse(info) as DiskImageInfo;
  } catch {
    // Half made by a run that stopped: make it again.
  }
  await using runDir = await createHostRunDirectory(files, options);
  const made = await createOverlay(docker, { backing: warm.goldenOverlay, overlay: posix.join(runDir.hostPath, TEMPLATE) }, options);
  const info: DiskImageInfo = { ...made, path, chain: [{ path, format: 'qcow2' }, ...made.chain.slice(1)] };
  const partial = `${path}.${process.pid}.tmp`;
  await files.copy(made.path, partial, options);
  await files.writeText(infoPath, `${JSON.stringify(info, null, 2)}\n`, options);
  await files.move(partial, path, options);
  return info;
}

/** A fresh run overlay: a copy of the template, writable by the container's user. */
async function copyRunOverlay(
  files: HostFiles,
  template: DiskImageInfo,
  overlay: string,
  options: { signal?: AbortSignal },
): Promise<DiskImageInfo> {
  await files.copy(template.path, overlay, { owner: containerUser(), signal: options.signal });
  return { ...template, path: overlay, chain: [{ path: overlay, format: 'qcow2' }, ...template.chain.slice(1)] };
}

/**
 * The patch record of a saved state: the one its cold boot installed, kept in
 * its meta.json. `reused`: an earlier run made the state (and ran the
 * command); its exit code and output are that run's.
 */
function patchOfState(state: WarmState, reused: boolean, patch: SavedStatePatch | undefined): PatchRecord | undefined {
  if (patch === undefined) return undefined;
  const parsed = patchRecord.safeParse(state.inputs?.patch);
  if (!parsed.success)
    throw new Error(
      `the saved state ${state.dir} was made for a patch but its meta.json holds no valid patch record; delete that folder to make it again`,
    );
  return { ...parsed.data, appliedTo: 'saved-state', savedState: { kind: 'vm-state', id: state.key.slice(0, 16), reused } };
}

/**
 * The agent on the guest's COM1, said HELLO to until it answers within the
 * spec's boot-to-ready time; when it does not, the serial tail and a
 * screenshot are saved (QemuVm.waitForReady).
 */
function connectAgent(vm: QemuVm, options: { signal?: AbortSignal; maxFileBytes?: number; onWait?: WaitProgress }): Promise<AgentClient> {
  return vm.waitForReady(
    (signal) =>
      AgentClient.connect(vm.serial, {
        signal,
        handshakeTimeoutMs: vm.spec.timeouts.bootToReadyMs,
        maxFileBytes: options.maxFileBytes,
        onWait: options.onWait,
      }),
    { signal: options.signal },
  );
}
