import { ConfigError } from '../errors.ts';
import type { BootDevice } from '../qemu/command-line.ts';
import type { LicensedTarget } from './licensed-config.ts';
import { quoteInput } from '../util/quote-input.ts';

/**
 * What an unattended install of each licensed target looks like from the
 * outside: how big the blank disk is, and the QEMU runs ("stages") setup
 * needs. Setup reboots several times; every reboot ends a stage (QEMU runs
 * with -no-reboot), and the next stage boots from the disk, with the CD and
 * the answer floppy still attached. The stage lists are upper bounds: the
 * driver stops as soon as the installed check passes after a stage, and more
 * stages than these means setup is going round in circles. The bounds were
 * not measured on real setups here; they leave room above the two or three
 * reboots 95/98 and NT 4 setups make.
 */

export interface InstallStage {
  /** 1-based, in the order they run. */
  number: number;
  /** The device the firmware boots first in this stage. */
  boot: BootDevice;
  /** What setup is doing in this stage, for progress and messages. */
  what: string;
  timeoutMs: number;
}

export interface TargetInstallDefaults {
  diskSizeMb: number;
  /** Most QEMU runs setup may need, the first from the install media. */
  maxStages: number;
  /** Whether the user may give a boot floppy (95/98: their startup disk). */
  bootFloppy: boolean;
}

/**
 * Disk sizes within what the notes give (shared/notes/legacy-windows.md,
 * "Running them in QEMU"): FAT16 on 95 retail, so at most 2 GB; NT 4's
 * system partition must stay under 7.8 GB, and preparation needs it FAT
 * (at most 2 GB for a FAT16 that 9x tools can read too). 98 gets the same
 * 2000 MB: larger disks only make its ScanDisk and file copy slower under TCG.
 */
export const INSTALL_DEFAULTS: Record<LicensedTarget, TargetInstallDefaults> = {
  win95: { diskSizeMb: 2000, maxStages: 6, bootFloppy: true },
  win98: { diskSizeMb: 2000, maxStages: 6, bootFloppy: true },
  winnt4: { diskSizeMb: 2000, maxStages: 4, bootFloppy: false },
};

export const DEFAULT_STAGE_TIMEOUT_MINUTES = 60;
export const DISK_SIZE_RANGE_MB = { min: 64, max: 8000 } as const;
export const TIMEOUT_RANGE_MINUTES = { min: 1, max: 1440 } as const;

/** The stages of one install: the install media first, then the disk, up to the target's bound. */
export function planInstallStages(
  target: LicensedTarget,
  options: { bootFloppy: boolean; stageTimeoutMs: number; maxStages?: number },
): InstallStage[] {
  const defaults = INSTALL_DEFAULTS[target];
  if (options.bootFloppy && !defaults.bootFloppy) {
    throw new ConfigError(`--boot-floppy: ${target} installs from its bootable CD; a boot floppy is only taken for win95 and win98`);
  }
  const count = options.maxStages ?? defaults.maxStages;
  if (!Number.isInteger(count) || count < 1) throw new ConfigError(`max stages: ${count} must be a whole number of at least 1`);
  const first: InstallStage = options.bootFloppy
    ? { number: 1, boot: 'floppy', what: 'setup starts from the boot floppy', timeoutMs: options.stageTimeoutMs }
    : { number: 1, boot: 'cdrom', what: 'setup starts from the CD', timeoutMs: options.stageTimeoutMs };
  const rest = Array.from({ length: count - 1 }, (_, i): InstallStage => ({
    number: i + 2,
    boot: 'disk',
    what: 'setup continues from C:',
    timeoutMs: options.stageTimeoutMs,
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

export function parseDiskSizeMb(value: string | undefined, target: LicensedTarget): number {
  if (value === undefined) return INSTALL_DEFAULTS[target].diskSizeMb;
  const { min, max } = DISK_SIZE_RANGE_MB;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new ConfigError(`--disk-size-mb: ${quoteInput(value)} must be a whole number of MB from ${min} to ${max} (default for ${target}: ${INSTALL_DEFAULTS[target].diskSizeMb})`);
  }
  return Number(value);
}

export function parseStageTimeoutMs(value: string | undefined): number {
  if (value === undefined) return DEFAULT_STAGE_TIMEOUT_MINUTES * 60_000;
  const { min, max } = TIMEOUT_RANGE_MINUTES;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new ConfigError(`--timeout-minutes: ${quoteInput(value)} must be a whole number of minutes from ${min} to ${max} (the longest one setup stage may take; default ${DEFAULT_STAGE_TIMEOUT_MINUTES})`);
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
