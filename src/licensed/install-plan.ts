import { ConfigError } from '../errors.ts';
import type { BootDevice } from '../qemu/command-line.ts';
import type { LicensedOs } from './licensed-os.ts';
import { quoteInput } from '../util/quote-input.ts';

/**
 * What an unattended install of each licensed target looks like from the
 * outside: how big the blank disk is, and the QEMU runs ("stages") setup
 * needs. Setup reboots several times; every reboot ends a stage (QEMU runs
 * with -no-reboot), and the next stage boots from the disk, with the CD and
 * the answer floppy still attached. The stage lists are upper bounds: the
 * driver stops as soon as the installed check passes after a stage, and more
 * stages than these means setup is going round in circles. Disk sizes,
 * bounds and routes come from the OS profiles (src/os/os-profiles.ts).
 */

export interface InstallStage {
  /** 1-based, in the order they run. */
  number: number;
  /** The device the firmware boots first in this stage. */
  boot: BootDevice;
  /** What setup is doing in this stage, for progress and messages. */
  what: string;
  timeoutMs: number;
  /** What a stage that hangs here most likely waits for, and what to do (for the timeout error). */
  stuckHint?: string;
}

export const DEFAULT_STAGE_TIMEOUT_MINUTES = 60;
export const DISK_SIZE_RANGE_MB = { min: 64, max: 8000 } as const;
export const TIMEOUT_RANGE_MINUTES = { min: 1, max: 1440 } as const;

const LOOK = 'look at the screenshot: a setup screen waiting for input means the answer file does not cover that question';

/**
 * The stages of one install: the install media first, then the disk, up to
 * the OS's bound. The first stage boots what the install route starts from:
 * the user's DOS boot floppy (required for NT 4's `winnt /b`, optional on
 * 95/98/ME whose CDs may boot), or the CD (2000, which reads WINNT.SIF from A:).
 */
export function planInstallStages(
  licensed: Pick<LicensedOs, 'target' | 'install' | 'family'>,
  options: { bootFloppy: boolean; stageTimeoutMs: number; maxStages?: number },
): InstallStage[] {
  const { target, install } = licensed;
  if (options.bootFloppy && install.bootFloppy === 'none') {
    throw new ConfigError(
      `--boot-floppy: ${target} installs from its bootable CD, which reads ${install.answerFile} from the answer floppy; drop --boot-floppy`,
    );
  }
  if (!options.bootFloppy && install.bootFloppy === 'required') {
    throw new ConfigError(
      `--boot-floppy: required for ${target}: its documented unattended route is DOS on a FAT C: running \`winnt /b /s:C:\\I386 /u:A:\\${install.answerFile}\` (KB Q155197, Q153768); give a DOS boot floppy image (e.g. a Windows 95/98 startup disk) with --boot-floppy`,
    );
  }
  const count = options.maxStages ?? install.maxStages;
  if (!Number.isInteger(count) || count < 1) throw new ConfigError(`max stages: ${count} must be a whole number of at least 1`);
  const first: InstallStage = options.bootFloppy
    ? {
        number: 1,
        boot: 'floppy',
        what:
          install.route === 'dos-winnt' ? 'DOS boots from the floppy and runs winnt /b from C:\\I386' : 'setup starts from the boot floppy',
        timeoutMs: options.stageTimeoutMs,
        stuckHint:
          install.route === 'dos-winnt'
            ? `${LOOK}; a DOS prompt means the floppy's AUTOEXEC.BAT did not reach the retrolab block that runs C:\\I386\\WINNT.EXE (a menu or a missing driver on the floppy stops it earlier); a winnt screen asking to restart means winnt does not restart by itself (not documented either way)`
            : `${LOOK}; a DOS prompt means the boot floppy's AUTOEXEC.BAT did not start setup with A:\\${install.answerFile}`,
      }
    : {
        number: 1,
        boot: 'cdrom',
        what: 'setup starts from the CD',
        timeoutMs: options.stageTimeoutMs,
        stuckHint: `${LOOK}; a "No bootable device" or blank screen means the CD does not boot on its own${install.bootFloppy === 'optional' ? ' (Win95 retail CDs never do): give your boot floppy with --boot-floppy' : ''}`,
      };
  const cpu =
    licensed.family.name === 'win9x'
      ? '; "Windows protection error" on 95 or 98 FE is the fast-CPU bug: patch the install with FIX95CPU or patcher9x (README, "Licensed targets")'
      : '';
  const rest = Array.from({ length: count - 1 }, (_, i): InstallStage => ({
    number: i + 2,
    boot: 'disk',
    what: 'setup continues from C:',
    timeoutMs: options.stageTimeoutMs,
    stuckHint: `${LOOK}${cpu}`,
  }));
  return [first, ...rest];
}

/**
 * The firmware's boot order for a stage: its device first, then the disk, so
 * a stage that boots the install media falls through to C: as a PC would.
 */
export function stageBootOrder(stage: Pick<InstallStage, 'boot'>): BootDevice[] {
  return stage.boot === 'disk' ? ['disk'] : [stage.boot, 'disk'];
}

export function parseDiskSizeMb(value: string | undefined, licensed: Pick<LicensedOs, 'target' | 'install'>): number {
  if (value === undefined) return licensed.install.diskSizeMb;
  const { min, max } = DISK_SIZE_RANGE_MB;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new ConfigError(
      `--disk-size-mb: ${quoteInput(value)} must be a whole number of MB from ${min} to ${max} (default for ${licensed.target}: ${licensed.install.diskSizeMb})`,
    );
  }
  return Number(value);
}

export function parseStageTimeoutMs(value: string | undefined): number {
  if (value === undefined) return DEFAULT_STAGE_TIMEOUT_MINUTES * 60_000;
  const { min, max } = TIMEOUT_RANGE_MINUTES;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new ConfigError(
      `--timeout-minutes: ${quoteInput(value)} must be a whole number of minutes from ${min} to ${max} (the longest one setup stage may take; default ${DEFAULT_STAGE_TIMEOUT_MINUTES})`,
    );
  }
  return Number(value) * 60_000;
}

/** `1 h 02 min`, `3 min 20 s`, `12.5 s`: elapsed times in progress lines and messages. */
export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const totalSeconds = Math.round(ms / 1000);
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  if (hours > 0) return `${hours} h ${String(minutes).padStart(2, '0')} min`;
  return `${minutes} min ${String(seconds).padStart(2, '0')} s`;
}
