import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, posix, resolve } from 'node:path';
import createDebug from 'debug';
import type { QemuVmSpec } from '../config/vm-spec.ts';
import { ConfigError } from '../errors.ts';
import type { BindMount } from '../docker/container-spec.ts';
import type { DockerClient } from '../docker/docker-client.ts';
import type { HostFiles } from '../docker/host-files.ts';
import type { StartedContainer } from '../docker/started-container.ts';
import { availableParallelism } from 'node:os';
import { RUNNER_IMAGES } from '../docker/image-names.ts';
import type { ProgressSink } from '../report/progress.ts';
import { silentProgress } from '../report/progress.ts';
import { ResourceStack } from '../util/dispose.ts';
import { waitForSocketListening } from '../wait/socket-listening.ts';
import type { WaitProgress } from '../wait/wait-for.ts';
import { QEMU_BINARY, QEMU_OVERHEAD_MB, RUN_FILES, qemuArguments, type QemuRunOptions } from './command-line.ts';
import { containerUserFor } from './accel.ts';
import {
  BootTimeoutError,
  GuestFrozenError,
  SerialSilenceError,
  VmCrashedError,
  VmDeadlineError,
  VmError,
  VmStartError,
  type VmArtifacts,
} from './errors.ts';
import type { DiskImageInfo } from './overlay-disk.ts';
import { convertPpmFileToPng } from './ppm-to-png.ts';
import type { QmpClient, VmStatus } from './qmp-client.ts';
import { waitForQmp } from './qmp-up.ts';
import { GuestNotRunningError, waitForGuestRunning } from './vm-running.ts';
import type { RunDirectory } from './run-directory.ts';
import { SerialLine, lastLinesOf } from './serial-line.ts';

const debug = createDebug('retrolab:qemu');

/** How long QEMU gets to create its sockets after the container starts. */
const SOCKET_WAIT_MS = 30_000;
const SILENCE_CHECK_MS = 250;
/** How often a guarded scenario asks QMP whether the guest's CPUs run. */
const STATUS_POLL_MS = 1_000;
/** A guest paused this long (or the whole silence budget, if shorter) is frozen, not between two QMP commands of our own. */
const FROZEN_GRACE_MS = 5_000;
/** After an operation fails, how long to wait for the sign that QEMU itself died (the sockets close at once). */
const CRASH_GRACE_MS = 1_500;

/** `forwards`, `devices`, `reboot` and `bootOrder` mean what they mean on QEMU's command line (QemuRunOptions). */
export interface QemuVmStartOptions extends Pick<QemuRunOptions, 'forwards' | 'devices' | 'reboot' | 'bootOrder'> {
  docker: DockerClient;
  spec: QemuVmSpec;
  runDir: RunDirectory;
  /** Host folder for serial logs and screenshots of this run. */
  artifactsDir: string;
  accel: 'tcg' | 'kvm';
  /** The run's qcow2 overlay, as createOverlay returns it; it must sit in the run directory. */
  disk?: Pick<DiskImageInfo, 'path' | 'chain'>;
  /** Host paths of a kernel (and initramfs) to boot directly. */
  kernel?: { image: string; initrd?: string };
  /** Host path of a saved state to start from instead of booting. */
  incomingStateFile?: string;
  /** Host path of a raw floppy image for drive A:; write-protected unless `readOnly` is false, which needs it in the run directory. */
  floppy?: { path: string; readOnly?: boolean };
  /** Host path of a CD image; lent to the container read-only. */
  cdrom?: { path: string };
  signal?: AbortSignal;
  onProgress?: ProgressSink;
  /** Told how the waits for QEMU's serial line and monitor go (see WaitProgress). */
  onWait?: WaitProgress;
}

/**
 * One QEMU guest in a hardened qemu-runner container: QMP and COM1 as unix
 * sockets in the bind-mounted run directory, no network for the container
 * (the guest has slirp), the container removed on dispose whatever happened.
 */
export class QemuVm implements AsyncDisposable {
  readonly spec: QemuVmSpec;
  readonly accel: 'tcg' | 'kvm';
  readonly qmp: QmpClient;
  /** COM1; hand it to whoever speaks the agent protocol. */
  readonly serial: SerialLine;
  readonly container: StartedContainer;
  readonly #runDir: RunDirectory;
  readonly #files: HostFiles;
  readonly #artifactsDir: string;
  readonly #resources: ResourceStack;
  readonly #exited: Promise<string>;
  readonly #startedAt: number;
  #exitReason: string | undefined;
  #stopping = false;

  private constructor(fields: {
    spec: QemuVmSpec;
    accel: 'tcg' | 'kvm';
    qmp: QmpClient;
    serial: SerialLine;
    container: StartedContainer;
    runDir: RunDirectory;
    files: HostFiles;
    artifactsDir: string;
    resources: ResourceStack;
    exited: Promise<string>;
    startedAt: number;
  }) {
    this.spec = fields.spec;
    this.accel = fields.accel;
    this.qmp = fields.qmp;
    this.serial = fields.serial;
    this.container = fields.container;
    this.#runDir = fields.runDir;
    this.#files = fields.files;
    this.#artifactsDir = fields.artifactsDir;
    this.#resources = fields.resources;
    this.#exited = fields.exited;
    this.#startedAt = fields.startedAt;
    void this.#exited.then((reason) => (this.#exitReason = reason));
  }

  /**
   * Starts QEMU (cold, or warm from a saved state), connects COM1 and QMP, and
   * for a warm start waits until the guest is `running` again, since bytes
   * written to the serial line before that are lost.
   */
  static async start(options: QemuVmStartOptions): Promise<QemuVm> {
    const { docker, spec, runDir } = options;
    const progress = options.onProgress ?? silentProgress;
    const startedAt = Date.now();
    await using stack = new ResourceStack();
    // The artifacts folder is made when something is written to it: a run without failures leaves no empty folders.
    const inRun = (name: string) => posix.join(runDir.containerPath, name);
    const binds: BindMount[] = [{ hostPath: runDir.hostPath, containerPath: runDir.containerPath }];
    const readOnly = (path: string) => binds.push({ hostPath: path, containerPath: path, readOnly: true });
    if (options.disk) {
      if (dirname(options.disk.path) !== runDir.hostPath) {
        throw new ConfigError(`The overlay ${options.disk.path} must be in the run directory ${runDir.hostPath}`, {
          context: { overlay: options.disk.path, runDir: runDir.hostPath },
        });
      }
      // Its backing files keep their host paths (see overlay-disk.ts).
      options.disk.chain.slice(1).forEach((entry) => readOnly(entry.path));
    }
    if (options.kernel) {
      readOnly(options.kernel.image);
      if (options.kernel.initrd) readOnly(options.kernel.initrd);
    }
    if (options.incomingStateFile) readOnly(options.incomingStateFile);
    // Media in the run directory are already there; anything else is lent read-only, alone.
    const media = (given: string, writable: boolean): string => {
      const path = resolve(given);
      if (dirname(path) === runDir.hostPath) return inRun(basename(path));
      if (writable) {
        throw new ConfigError(`A writable floppy must be in the run directory ${runDir.hostPath}: ${path}`, {
          context: { floppy: path, runDir: runDir.hostPath },
        });
      }
      readOnly(path);
      return path;
    };
    const floppy = options.floppy
      ? { path: media(options.floppy.path, options.floppy.readOnly === false), readOnly: options.floppy.readOnly ?? true }
      : undefined;
    const cdrom = options.cdrom ? { path: media(options.cdrom.path, false) } : undefined;
    const args = qemuArguments(spec, {
      accel: options.accel,
      runDir: runDir.containerPath,
      ...(options.disk ? { disk: { path: inRun(basename(options.disk.path)) } } : {}),
      kernel: options.kernel,
      incomingStateFile: options.incomingStateFile,
      forwards: options.forwards,
      devices: options.devices,
      reboot: options.reboot,
      floppy,
      cdrom,
      bootOrder: options.bootOrder,
    });
    progress({
      kind: 'step',
      scope: spec.target,
      message: `starting QEMU (${options.accel}, ${options.incomingStateFile ? 'warm from saved state' : 'cold boot'})`,
    });
    debug('%s %s', QEMU_BINARY, args.join(' '));
    const container = stack.use(
      await docker.start(
        {
          image: RUNNER_IMAGES.qemu,
          entrypoint: [QEMU_BINARY],
          cmd: args,
          binds,
          user: await containerUserFor(options.accel, docker),
          network: 'none',
          hardening: 'strict',
          // An init reaps the `cat` that migration runs, and lets the QEMU process itself be signalled.
          init: true,
          devices: options.accel === 'kvm' ? ['/dev/kvm'] : [],
          memoryMb: spec.memoryMb + QEMU_OVERHEAD_MB,
          // One core per vCPU (plan one per Win9x guest) and a little for QEMU's I/O thread.
          cpus: Math.min(availableParallelism(), spec.smp + 0.25),
        },
        { signal: options.signal },
      ),
    );
    const exited = container.waitForExit().then(
      (result) => `QEMU exited with status ${result.exitCode}${lastLine(result.stderr)}`,
      (error: unknown) => `the container ended: ${String(error)}`,
    );
    let serial: SerialLine;
    let qmp: QmpClient;
    try {
      let gone: string | undefined;
      void exited.then((reason) => (gone = reason));
      // On a host that does not see this machine's paths, both sockets are reached through its SSH connection.
      const open = (path: string, signal: AbortSignal | undefined) => docker.files.connect(path, { signal });
      const serialPath = posix.join(runDir.hostPath, RUN_FILES.serial);
      const serialSocket = await waitForSocketListening(serialPath, {
        connect: open,
        what: `QEMU's serial line (${RUN_FILES.serial}) to accept a connection`,
        timeoutMs: SOCKET_WAIT_MS,
        firstDelayMs: 20,
        maxDelayMs: 200,
        signal: options.signal,
        onProgress: options.onWait,
        check: () => {
          if (gone) throw new Error(`QEMU exited before opening ${RUN_FILES.serial}: ${gone}`);
        },
      });
      serial = stack.adopt(new SerialLine(serialSocket), (line) => void line.destroy());
      qmp = stack.use(
        await waitForQmp(posix.join(runDir.hostPath, RUN_FILES.qmp), {
          open,
          timeoutMs: SOCKET_WAIT_MS,
          signal: options.signal,
          onProgress: options.onWait,
          exitReason: () => gone,
        }),
      );
    } catch (error) {
      options.signal?.throwIfAborted();
      const stderr = container
        .output()
        .stderr.trim()
        .split('\n')
        .filter((line) => line.length > 0)
        .slice(-10);
      throw new VmStartError(spec.target, stderr, error);
    }
    const vm = new QemuVm({
      spec,
      accel: options.accel,
      qmp,
      serial,
      container,
      runDir,
      files: docker.files,
      artifactsDir: options.artifactsDir,
      resources: stack.move(),
      exited,
      startedAt,
    });
    if (options.incomingStateFile) {
      try {
        await vm.guard(
          'restoring the saved state',
          (signal) => vm.waitUntilRunning({ timeoutMs: spec.timeouts.bootToReadyMs, signal, onWait: options.onWait }),
          {
            timeoutMs: spec.timeouts.bootToReadyMs,
            signal: options.signal,
          },
        );
      } catch (error) {
        await vm[Symbol.asyncDispose]();
        throw error;
      }
    }
    progress({ kind: 'done', scope: spec.target, message: 'QEMU is up', durationMs: Date.now() - startedAt });
    return vm;
  }

  get hostRunDir(): string {
    return this.#runDir.hostPath;
  }

  /** Set once QEMU is gone, with what it said on the way out. */
  get exitReason(): string | undefined {
    return this.#exitReason;
  }

  async status(options: { signal?: AbortSignal } = {}): Promise<VmStatus> {
    return this.qmp.queryStatus(options);
  }

  /** Polls until the guest runs, within `timeoutMs`; a guest that settles in another state is a VmError with the artifacts. */
  async waitUntilRunning(options: { timeoutMs: number; signal?: AbortSignal; pollMs?: number; onWait?: WaitProgress }): Promise<void> {
    try {
      await waitForGuestRunning(this.qmp, { ...options, onProgress: options.onWait });
    } catch (error) {
      if (!(error instanceof GuestNotRunningError)) throw error;
      throw new VmError(error.message, this.spec.target, await this.collectArtifacts('not-running'), { cause: error });
    }
  }

  /**
   * Waits until `ready` resolves (the agent answered), within the spec's
   * boot-to-ready timeout; on failure the serial tail and a screenshot are saved.
   */
  async waitForReady<T>(ready: (signal: AbortSignal) => Promise<T>, options: { signal?: AbortSignal } = {}): Promise<T> {
    return this.guard('boot', ready, { timeoutMs: this.spec.timeouts.bootToReadyMs, boot: true, ...options });
  }

  /**
   * Runs an operation on the guest under the watchdog: a deadline, QEMU's
   * death, and (when `silenceMs` is given) a quiet serial line all end it with
   * a typed error whose artifacts are saved. Other failures of the operation
   * pass through unchanged.
   */
  async guard<T>(
    during: string,
    operation: (signal: AbortSignal) => Promise<T>,
    options: {
      timeoutMs: number;
      silenceMs?: number;
      /**
       * A silence budget measured by someone who knows when silence is wrong
       * (the agent client: a prompt request unanswered, no byte on the line).
       * With it, the guest's run state is also polled on QMP, so a stopped or
       * crashed CPU is reported as such.
       */
      silence?: { limitMs: number; silentForMs: () => number };
      boot?: boolean;
      signal?: AbortSignal;
    },
  ): Promise<T> {
    const controller = new AbortController();
    const outer = options.signal;
    const onOuterAbort = () => controller.abort(outer?.reason);
    outer?.addEventListener('abort', onOuterAbort, { once: true });
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    let silenceTimer: NodeJS.Timeout | undefined;
    let statusTimer: NodeJS.Timeout | undefined;
    type Watchdog =
      | { kind: 'deadline' }
      | { kind: 'silence'; silentMs: number }
      | { kind: 'frozen'; status: string; silentMs: number }
      | { kind: 'exit'; reason: string };
    const watchdog = new Promise<Watchdog>((resolve) => {
      timer = setTimeout(() => resolve({ kind: 'deadline' }), options.timeoutMs);
      if (options.silenceMs !== undefined) {
        const limit = options.silenceMs;
        silenceTimer = setInterval(() => {
          if (this.serial.silentForMs > limit) resolve({ kind: 'silence', silentMs: this.serial.silentForMs });
        }, SILENCE_CHECK_MS);
      }
      const { silence } = options;
      if (silence) {
        let notRunningSince: number | undefined;
        let polling = false;
        statusTimer = setInterval(() => {
          const silentMs = silence.silentForMs();
          if (silentMs > silence.limitMs) resolve({ kind: 'silence', silentMs });
          if (polling) return;
          polling = true;
          // A paused or crashed CPU answers nothing; QMP says so at once, from outside the guest.
          this.qmp
            .queryStatus({ signal: AbortSignal.timeout(STATUS_POLL_MS * 4) })
            .then((status) => {
              if (status.running) notRunningSince = undefined;
              else if ((notRunningSince ??= Date.now()) && Date.now() - notRunningSince >= Math.min(silence.limitMs, FROZEN_GRACE_MS)) {
                resolve({ kind: 'frozen', status: status.status, silentMs: this.serial.silentForMs });
              }
            })
            .catch(() => undefined)
            .finally(() => (polling = false));
        }, STATUS_POLL_MS);
      }
      void this.#exited.then((reason) => resolve({ kind: 'exit', reason }));
    });
    const running = operation(controller.signal).then(
      (value) => ({ kind: 'done' as const, value }),
      (error: unknown) => ({ kind: 'failed' as const, error }),
    );
    try {
      const first = await Promise.race([running, watchdog]);
      if (first.kind === 'done') return first.value;
      controller.abort(new Error(`watchdog: ${during}`));
      if (first.kind === 'failed') {
        const exit = await Promise.race([this.#exited, delay(CRASH_GRACE_MS).then(() => undefined)]);
        if (exit === undefined || this.#stopping) throw first.error;
        throw new VmCrashedError(this.spec.target, during, await this.collectArtifacts('crash'), withReason(first.error, exit));
      }
      const artifacts = await this.collectArtifacts(first.kind === 'exit' ? 'crash' : during.replace(/[^a-z0-9]+/gi, '-'));
      if (first.kind === 'exit') throw new VmCrashedError(this.spec.target, during, artifacts, new Error(first.reason));
      if (first.kind === 'silence') throw new SerialSilenceError(this.spec.target, during, first.silentMs, artifacts);
      if (first.kind === 'frozen') throw new GuestFrozenError(this.spec.target, during, first.status, first.silentMs, artifacts);
      if (options.boot) throw new BootTimeoutError(this.spec.target, Date.now() - started, artifacts);
      throw new VmDeadlineError(this.spec.target, during, options.timeoutMs, artifacts);
    } finally {
      clearTimeout(timer);
      clearInterval(silenceTimer);
      clearInterval(statusTimer);
      outer?.removeEventListener('abort', onOuterAbort);
    }
  }

  /**
   * Saves the running guest's state (RAM and devices; disks stay in their
   * overlay) to a host file, through a file in the run directory. The guest is
   * paused afterwards unless `resume` is set.
   */
  async saveState(
    hostPath: string,
    options: { resume?: boolean; signal?: AbortSignal } = {},
  ): Promise<{ bytes: number; durationMs: number }> {
    const name = 'state.bin';
    const started = Date.now();
    const result = await this.guard(
      'saving the VM state',
      (signal) => this.qmp.migrateToFile(posix.join(this.#runDir.containerPath, name), { signal }),
      { timeoutMs: 120_000, signal: options.signal },
    );
    await this.#files.move(posix.join(this.#runDir.hostPath, name), hostPath, options);
    if (options.resume) await this.qmp.cont(options);
    return { bytes: result.bytes, durationMs: Date.now() - started };
  }

  /** A PNG of the guest's screen in the artifacts folder; returns its path. */
  async screenshot(name: string, options: { signal?: AbortSignal } = {}): Promise<string> {
    const ppm = `${name}.ppm`;
    await this.qmp.screendump(posix.join(this.#runDir.containerPath, ppm), options);
    const png = join(this.#artifactsDir, `${name}.png`);
    await mkdir(this.#artifactsDir, { recursive: true });
    const onHost = posix.join(this.#runDir.hostPath, ppm);
    if (this.#files.kind === 'shared') {
      await convertPpmFileToPng(onHost, png, options);
    } else {
      // The screendump is on the guest's host: fetched next to where its PNG goes, converted there.
      const local = join(this.#artifactsDir, ppm);
      try {
        await this.#files.fetch(onHost, local, options);
        await convertPpmFileToPng(local, png, options);
      } finally {
        await rm(local, { force: true });
      }
    }
    await this.#files.remove(onHost, options);
    return png;
  }

  /** Saves the serial tail and, if QEMU still answers, a screenshot; never throws. */
  async collectArtifacts(label: string): Promise<VmArtifacts> {
    const stamp = `${label}-${Date.now() - this.#startedAt}ms`;
    const lastSerialLines = this.serial.lastLines(20);
    let serialLogPath: string | undefined = join(this.#artifactsDir, `${stamp}-serial.txt`);
    try {
      await mkdir(this.#artifactsDir, { recursive: true });
      await writeFile(serialLogPath, this.serial.tailText(), 'latin1');
    } catch (error) {
      debug('saving the serial tail failed: %O', error);
      serialLogPath = undefined;
    }
    let screenshotPath: string | undefined;
    if (!this.qmp.closed && this.#exitReason === undefined && this.spec.vga !== 'none') {
      try {
        screenshotPath = await this.screenshot(`${stamp}-screen`, { signal: AbortSignal.timeout(5_000) });
      } catch (error) {
        debug('screenshot failed: %O', error);
      }
    }
    let consoleLogPath: string | undefined;
    let lastConsoleLines: string[] = [];
    if (this.spec.consoleLog) {
      consoleLogPath = join(this.#artifactsDir, `${stamp}-console.txt`);
      try {
        await this.#files.fetch(posix.join(this.#runDir.hostPath, RUN_FILES.console), consoleLogPath, {
          signal: AbortSignal.timeout(10_000),
        });
        lastConsoleLines = lastLinesOf((await readFile(consoleLogPath)).toString('latin1'), 10);
      } catch (error) {
        debug('copying the guest console log failed: %O', error);
        consoleLogPath = undefined;
      }
    }
    return { lastSerialLines, serialLogPath, screenshotPath, consoleLogPath, lastConsoleLines };
  }

  /** Ends QEMU at once (SIGKILL by pid, inside the container), as a crash or power cut would. */
  async killQemu(): Promise<void> {
    await this.container.exec(['sh', '-c', `kill -KILL "$(cat ${posix.join(this.#runDir.containerPath, RUN_FILES.pid)})"`]);
  }

  /** Closes the sockets and removes the container; safe to call more than once. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#stopping = true;
    await this.#resources[Symbol.asyncDispose]();
  }
}

function lastLine(stderr: string): string {
  const line = stderr.trim().split('\n').at(-1);
  return line ? `: ${line}` : '';
}

function withReason(error: unknown, reason: string): Error {
  return new Error(reason, { cause: error });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
