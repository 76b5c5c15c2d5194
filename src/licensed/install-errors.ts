import { RetrolabError, errorMessage } from '../errors.ts';
import { VmError, type VmArtifacts } from '../qemu/errors.ts';
import { formatDuration, type InstallStage } from './install-plan.ts';
import type { LicensedTarget } from './licensed-config.ts';

/**
 * Failures of an unattended install. Each names the stage and the work
 * directory, which is kept on failure: it holds the disk as setup left it,
 * the answer floppy, each stage's serial log and the screenshot.
 */

/** What to try when a stage hangs: the stage's own hint (from the install plan), then more time. */
export function stageTimeoutFix(stage: Pick<InstallStage, 'stuckHint'>): string {
  const slower = 'if setup was still working, run again with a larger --timeout-minutes';
  return `${stage.stuckHint ?? 'look at the screenshot: a setup screen waiting for input means the answer file does not cover that question'}; ${slower}`;
}

/** A stage did not end (the guest did not reset or power off) within its timeout; QEMU was killed. */
export class InstallStageTimeoutError extends VmError {
  readonly stage: InstallStage;
  readonly timeoutMs: number;
  readonly workDir: string;
  readonly fix: string;

  constructor(target: LicensedTarget, stage: InstallStage, workDir: string, artifacts: VmArtifacts) {
    const fix = stageTimeoutFix(stage);
    super(
      `install stage ${stage.number} (${stage.what}, booted from ${stage.boot}) did not end within its timeout of ${formatDuration(stage.timeoutMs)}; QEMU was killed` +
        (artifacts.screenshotPath ? '' : ' (no screenshot: QEMU did not answer in time)'),
      target,
      artifacts,
      { context: { stage: stage.number, boot: stage.boot, timeoutMs: stage.timeoutMs, workDir } },
    );
    this.message += `\n  work directory kept: ${workDir}\n  fix: ${fix}`;
    this.stage = stage;
    this.timeoutMs = stage.timeoutMs;
    this.workDir = workDir;
    this.fix = fix;
  }
}

/** Every planned stage ended, but the disk never passed the installed check. */
export class InstallIncompleteError extends RetrolabError {
  readonly target: LicensedTarget;
  readonly stagesRun: number;
  readonly lastCheck: string;
  readonly workDir: string;

  constructor(target: LicensedTarget, stagesRun: number, lastCheck: string, workDir: string) {
    super(
      `${target}: setup ran ${stagesRun} stage(s), each ending in a reboot, but the disk still does not hold an installed ${target}: ${lastCheck}\n` +
        `  work directory kept: ${workDir} (each stage's serial log, the disk as setup left it)\n` +
        '  fix: boot the disk by hand to see where setup stops (the answer file or the boot floppy may restart setup every time)',
      { context: { target, stagesRun, lastCheck, workDir } },
    );
    this.target = target;
    this.stagesRun = stagesRun;
    this.lastCheck = lastCheck;
    this.workDir = workDir;
  }
}

/** Anything else that broke an install after its work directory existed (QEMU, the disk tools, preparing); `cause` is the original. */
export class InstallFailedError extends RetrolabError {
  readonly target: LicensedTarget;
  readonly during: string;
  readonly workDir: string;

  constructor(target: LicensedTarget, during: string, workDir: string, cause: unknown) {
    super(`${target}: install failed during ${during}: ${errorMessage(cause)}\n  work directory kept: ${workDir}`, {
      cause,
      context: { target, during, workDir },
    });
    this.target = target;
    this.during = during;
    this.workDir = workDir;
  }
}
