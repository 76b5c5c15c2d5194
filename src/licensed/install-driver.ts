import { access, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { QemuVmSpec } from '../config/vm-spec.ts';
import type { DockerClient } from '../docker/docker-client.ts';
import { ConfigError } from '../errors.ts';
import type { ProgressSink } from '../report/progress.ts';
import { silentProgress } from '../report/progress.ts';
import { RUN_DIR_IN_CONTAINER, containerUser, prepareWritableDirectory, type RunDirectory } from '../qemu/run-directory.ts';
import { cacheDir } from '../util/paths.ts';
import { trackPath } from '../util/owner-ledger.ts';
import { answerFiles, type InstallAnswers } from './answer-files.ts';
import { checkGuestSettings, type LogonAccount } from './guest-payload.ts';
import { installedWindowsCheck, type InstalledCheck, type InstalledCheckResult } from './install-check.ts';
import { InstallFailedError, InstallIncompleteError, InstallStageTimeoutError } from './install-errors.ts';
import { checkInstallIso, createInstallDisk, writeAnswerFloppy } from './install-media.ts';
import { DEFAULT_STAGE_TIMEOUT_MINUTES, formatDuration, planInstallStages, type InstallStage } from './install-plan.ts';
import { runInstallStage, type StageOutcome } from './install-stage.ts';
import type { LicensedTarget } from './licensed-config.ts';
import { loadLicensedOs } from './licensed-os.ts';
import { checkOutputPath, type ProtectedFile } from './output-guard.ts';
import { outputFileIn, prepareImage, type PreparedImage } from './prepare-image.ts';

/**
 * `retrolab image install`: from the user's install CD and product key to a
 * prepared image, with nobody at the keyboard. The answer files go on a
 * floppy, setup runs stage by stage under QEMU (TCG) until the disk passes
 * the installed check, and the installed disk is prepared like any other.
 * Everything happens in a work directory under the cache; the ISO and the
 * boot floppy are only read. On failure the work directory is kept (disk,
 * floppy, serial logs, screenshot) and every error says where it is.
 */

export interface InstallOptions {
  docker: DockerClient;
  target: LicensedTarget;
  /** The install CD image; lent to QEMU read-only. */
  iso: string;
  answers: InstallAnswers;
  /** The agent built for the guests, for the preparation at the end. */
  agentExe: string;
  /** The user's DOS startup disk (95/98/ME optionally, NT 4 always); the answer file goes into a copy of it. */
  bootFloppy?: string;
  /** Where the prepared image goes (default as `image prepare`: .cache/prepared/; a folder gets <target>-prepared.qcow2). */
  out?: string;
  /** Replace an existing `out` (never the ISO or the boot floppy). */
  force?: boolean;
  diskSizeMb?: number;
  /** Per stage (default 60 minutes); ignored when `stages` is given. */
  stageTimeoutMs?: number;
  maxConnections?: number;
  /** NT's automatic logon for the prepared image. */
  logon?: LogonAccount;
  /** Default: vms/<target>/spec.json. */
  spec?: QemuVmSpec;
  /** Default: planInstallStages() for the target. */
  stages?: InstallStage[];
  /** Default: installedWindowsCheck (what `prepare` needs to find). */
  isInstalled?: InstalledCheck;
  /** Default: the cache directory; work directories go in `install/`, installed disks in `installed/`. */
  cacheRoot?: string;
  /** How often a running stage reports (default 30 s). */
  progressIntervalMs?: number;
  signal?: AbortSignal;
  onProgress?: ProgressSink;
}

export interface InstallResult {
  prepared: PreparedImage;
  /** The disk as setup left it (qcow2), kept so it can be prepared again with other options. */
  installedDisk: string;
  stages: StageOutcome[];
  check: InstalledCheckResult;
  durationMs: number;
}

export async function installImage(options: InstallOptions): Promise<InstallResult> {
  const { target } = options;
  const progress = options.onProgress ?? silentProgress;
  const call = { signal: options.signal };
  const started = Date.now();

  // Every input is checked before an hour of setup, not after it.
  const licensed = await loadLicensedOs(target, call);
  answerFiles(licensed.install, options.answers);
  await checkGuestSettings(licensed, options, call);
  const iso = resolve(options.iso);
  await checkInstallIso(iso);
  try {
    await access(options.agentExe);
  } catch (error) {
    throw new ConfigError(`the agent ${options.agentExe} does not exist; build it first (npm run build:guest)`, { cause: error });
  }
  if (options.out !== undefined) {
    // Checked before setup as well as at the end (where the installed disk joins the protected files).
    const inputs: ProtectedFile[] = [{ path: iso, role: 'the install CD (--iso)' }];
    if (options.bootFloppy !== undefined) inputs.push({ path: options.bootFloppy, role: 'the boot floppy (--boot-floppy)' });
    await checkOutputPath(await outputFileIn(options.out, target), { protect: inputs, force: options.force ?? false });
  }
  const spec = options.spec ?? licensed.spec;
  const stages =
    options.stages ??
    planInstallStages(licensed, {
      bootFloppy: options.bootFloppy !== undefined,
      stageTimeoutMs: options.stageTimeoutMs ?? DEFAULT_STAGE_TIMEOUT_MINUTES * 60_000,
    });
  if (stages.length === 0) throw new ConfigError('an install needs at least one stage');
  const isInstalled = options.isInstalled ?? installedWindowsCheck;
  const diskSizeMb = options.diskSizeMb ?? licensed.install.diskSizeMb;

  const root = options.cacheRoot ?? cacheDir();
  await mkdir(join(root, 'install'), { recursive: true });
  const workDir = await mkdtemp(join(root, 'install', `${target}-`));
  // Until it is removed or kept on purpose (a failed install keeps it to look at), a dead run's reaper removes it.
  const untrack = trackPath(workDir);
  await prepareWritableDirectory(workDir);
  const runDir: RunDirectory = {
    hostPath: workDir,
    containerPath: RUN_DIR_IN_CONTAINER,
    user: containerUser(),
    // The work directory outlives every stage: it is removed only after success.
    [Symbol.asyncDispose]: () => Promise.resolve(),
  };
  progress({ kind: 'step', scope: target, message: `unattended install in ${workDir}` });

  let during = 'writing the answer floppy';
  let floppyFailed = false;
  try {
    let floppy;
    try {
      floppy = await writeAnswerFloppy({
        licensed,
        answers: options.answers,
        dir: workDir,
        bootFloppy: options.bootFloppy,
        ...call,
      });
    } catch (error) {
      // Nothing to look at yet: the user's input was unusable.
      if (error instanceof ConfigError) {
        floppyFailed = true;
        await rm(workDir, { recursive: true, force: true });
      }
      throw error;
    }
    progress({
      kind: 'step',
      scope: target,
      message: `answer floppy: ${floppy.files.join(', ')}${floppy.copiedFrom ? ` in a copy of ${floppy.copiedFrom}` : ''}`,
    });
    during = licensed.install.route === 'dos-winnt' ? "creating C: with the CD's I386 folder" : 'creating the target disk';
    const disk = await createInstallDisk(licensed, { dir: workDir, sizeMb: diskSizeMb, iso, ...call });

    const outcomes: StageOutcome[] = [];
    let check: InstalledCheckResult = { installed: false, detail: 'no stage has run' };
    for (const stage of stages) {
      during = `install stage ${stage.number}`;
      outcomes.push(
        await runInstallStage({
          docker: options.docker,
          target,
          spec,
          stage,
          stageCount: stages.length,
          runDir,
          disk,
          floppy: floppy.path,
          iso,
          progressIntervalMs: options.progressIntervalMs,
          ...call,
          onProgress: progress,
        }),
      );
      during = `the installed check after stage ${stage.number}`;
      check = await isInstalled(
        { path: disk, format: 'qcow2' },
        { target, family: licensed.family.name, stage: stage.number, scratchDir: workDir, ...call },
      );
      progress({
        kind: 'step',
        scope: target,
        message: `after stage ${stage.number}: ${check.installed ? 'installed' : 'not installed yet'}: ${check.detail}`,
      });
      if (check.installed) break;
    }
    if (!check.installed) throw new InstallIncompleteError(target, outcomes.length, check.detail, workDir);

    during = 'keeping the installed disk';
    await mkdir(join(root, 'installed'), { recursive: true });
    const installedDisk = join(root, 'installed', `${basename(workDir)}.qcow2`);
    await rename(disk, installedDisk);
    during = `preparing the installed disk ${installedDisk}`;
    const prepared = await prepareImage({
      target,
      image: installedDisk,
      agentExe: options.agentExe,
      out: options.out,
      force: options.force,
      maxConnections: options.maxConnections,
      logon: options.logon,
      ...call,
      onProgress: progress,
    });
    await rm(workDir, { recursive: true, force: true });
    untrack();
    const durationMs = Date.now() - started;
    progress({
      kind: 'done',
      scope: target,
      message: `installed in ${outcomes.length} stage(s) (${formatDuration(durationMs)}) and prepared`,
      durationMs,
    });
    return { prepared, installedDisk, stages: outcomes, check, durationMs };
  } catch (error) {
    untrack();
    if (options.signal?.aborted) {
      progress({ kind: 'warn', scope: target, message: `interrupted during ${during}; work directory kept: ${workDir}` });
      throw error;
    }
    if (error instanceof InstallStageTimeoutError || error instanceof InstallIncompleteError) throw error;
    if (error instanceof ConfigError && floppyFailed) throw error;
    throw new InstallFailedError(target, during, workDir, error);
  }
}
