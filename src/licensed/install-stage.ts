import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { QemuVmSpec } from '../config/vm-spec.ts';
import type { DockerClient } from '../docker/docker-client.ts';
import type { ProgressSink } from '../report/progress.ts';
import { silentProgress } from '../report/progress.ts';
import { trackProgress } from '../report/progress-tracker.ts';
import { RUN_FILES } from '../qemu/command-line.ts';
import { VmCrashedError } from '../qemu/errors.ts';
import { QemuVm } from '../qemu/qemu-vm.ts';
import type { RunDirectory } from '../qemu/run-directory.ts';
import { lastLinesOf } from '../qemu/serial-line.ts';
import { InstallStageTimeoutError } from './install-errors.ts';
import { formatDuration, stageBootOrder, type InstallStage } from './install-plan.ts';
import type { LicensedTarget } from './licensed-config.ts';

/**
 * One QEMU run of setup, under TCG in the qemu-runner container like every
 * other guest (QemuVm). It ends well when the guest resets or powers off
 * (QEMU runs with -no-reboot, so either makes it exit with status 0). While
 * it runs, progress says the stage, the elapsed time, QEMU's run state and
 * the last line the guest wrote on COM1; every byte of COM1 goes to the
 * stage's serial log in the work directory. Past its timeout the screen is
 * saved there and QEMU killed.
 */

export interface StageOutcome {
  stage: InstallStage;
  /** QMP's SHUTDOWN reason (`guest-reset`, `guest-shutdown`), or `exit` when QEMU left without one. */
  endedBy: string;
  durationMs: number;
  /** Everything the guest wrote on COM1 in this stage. */
  serialLog: string;
  /** The end of it (up to 16 KiB), as text. */
  serialTail: string;
}

export interface InstallStageOptions {
  docker: DockerClient;
  target: LicensedTarget;
  spec: QemuVmSpec;
  stage: InstallStage;
  /** Of the plan, for "stage 2/6". */
  stageCount: number;
  /** The work directory, which holds the disk and the floppy and is QEMU's run directory. */
  runDir: RunDirectory;
  disk: string;
  floppy: string;
  iso: string;
  /** How often QEMU's run state is asked for the progress line (the time on it moves every second regardless). */
  progressIntervalMs?: number;
  signal?: AbortSignal;
  onProgress?: ProgressSink;
}

const DEFAULT_PROGRESS_INTERVAL_MS = 5_000;

export async function runInstallStage(options: InstallStageOptions): Promise<StageOutcome> {
  const { stage, runDir, target } = options;
  const progress = options.onProgress ?? silentProgress;
  const scope = `${target} stage ${stage.number}/${options.stageCount}`;
  options.signal?.throwIfAborted();
  // A socket left by the previous stage's QEMU would answer nothing until the new one replaces it.
  for (const name of [RUN_FILES.serial, RUN_FILES.qmp, RUN_FILES.pid]) await rm(join(runDir.hostPath, name), { force: true });
  progress({ kind: 'step', scope, message: `${stage.what}: booting from ${stage.boot} (timeout ${formatDuration(stage.timeoutMs)})` });
  const started = Date.now();
  await using vm = await QemuVm.start({
    docker: options.docker,
    spec: options.spec,
    runDir,
    artifactsDir: runDir.hostPath,
    accel: 'tcg',
    disk: { path: options.disk, chain: [{ path: options.disk, format: 'qcow2' }] },
    floppy: { path: options.floppy },
    cdrom: { path: options.iso },
    bootOrder: stageBootOrder(stage),
    signal: options.signal,
    onProgress: progress,
  });

  const serialLog = join(runDir.hostPath, `stage-${stage.number}-serial.log`);
  const log = createWriteStream(serialLog);
  const logClosed = new Promise<void>((resolve) => log.once('close', resolve));
  let partial = '';
  let lastLine = '';
  vm.serial.on('data', (chunk: Buffer) => {
    if (!log.writableEnded) log.write(chunk);
    const lines = (partial + chunk.toString('latin1')).split(/\r\n|\n|\r/);
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.length === 0) continue;
      lastLine = lastLinesOf(line, 1)[0] ?? '';
      progress({ kind: 'log', scope, line: `COM1: ${lastLine}` });
    }
  });
  vm.serial.once('end', () => log.end());
  vm.serial.once('close', () => log.end());
  let shutdownReason: string | undefined;
  const offEvents = vm.qmp.onEvent((event) => {
    if (event.event === 'SHUTDOWN') shutdownReason = typeof event.data?.reason === 'string' ? event.data.reason : 'shutdown';
    progress({ kind: 'log', scope, line: `QMP event ${event.event}${event.data ? ` ${JSON.stringify(event.data)}` : ''}` });
  });
  // The time against the stage's timeout, every second; QEMU's run state and the guest's last line, as often as they are asked for.
  const waiting = trackProgress(progress, { scope, what: stage.what, limitMs: stage.timeoutMs, detail: 'nothing on COM1 yet' });
  const ticker = setInterval(() => {
    void vm
      .status({ signal: AbortSignal.timeout(2_000) })
      .then(
        (status) => status.status,
        () => 'no QMP answer',
      )
      .then((status) => {
        const said = lastLine ? `last on COM1: ${JSON.stringify(lastLine.slice(0, 120))}` : 'nothing on COM1 yet';
        waiting.set({ detail: `guest ${status}; ${said}` });
      });
  }, options.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS);

  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    type Ending = { kind: 'exit'; exitCode: number; stderr: string } | { kind: 'timeout' } | { kind: 'aborted' };
    const ending = await Promise.race<Ending>([
      vm.container.waitForExit().then(
        (result) => ({ kind: 'exit', exitCode: result.exitCode, stderr: result.stderr }),
        (error: unknown) => ({ kind: 'exit', exitCode: -1, stderr: String(error) }),
      ),
      new Promise<Ending>((resolve) => (timer = setTimeout(() => resolve({ kind: 'timeout' }), stage.timeoutMs))),
      new Promise<Ending>((resolve) => {
        onAbort = () => resolve({ kind: 'aborted' });
        if (options.signal?.aborted) onAbort();
        else options.signal?.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
    if (ending.kind === 'aborted') throw abortReason(options.signal);
    if (ending.kind === 'timeout') {
      const artifacts = await vm.collectArtifacts(`stage-${stage.number}-timeout`);
      throw new InstallStageTimeoutError(target, stage, runDir.hostPath, artifacts);
    }
    if (ending.exitCode !== 0) {
      const artifacts = await vm.collectArtifacts(`stage-${stage.number}-crash`);
      const said = ending.stderr.trim().split('\n').at(-1) ?? '';
      throw new VmCrashedError(
        target,
        `install stage ${stage.number}`,
        artifacts,
        new Error(`QEMU exited with status ${ending.exitCode}${said ? `: ${said}` : ''}`),
      );
    }
    const durationMs = Date.now() - started;
    const endedBy = shutdownReason ?? 'exit';
    progress({ kind: 'done', scope, message: `ended by ${endedBy}`, durationMs });
    return { stage, endedBy, durationMs, serialLog, serialTail: vm.serial.tailText() };
  } finally {
    clearTimeout(timer);
    clearInterval(ticker);
    waiting.end();
    if (onAbort) options.signal?.removeEventListener('abort', onAbort);
    offEvents();
    log.end();
    await logClosed;
  }
}

function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new Error(`aborted: ${String(reason)}`);
}
