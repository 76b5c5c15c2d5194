import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { ProgressSink } from '../report/progress.ts';
import { silentProgress } from '../report/progress.ts';
import { cacheDir } from '../util/paths.ts';
import { readDiskLayout, type DiskLayout } from './disk-layout.ts';
import { convertImage, inspectImageFile } from './disk-image-file.ts';
import { UnusableImageError } from './errors.ts';
import { checkOutputPath } from './output-guard.ts';
import { FatVolume } from './fat-volume.ts';
import {
  AGENT_COMMAND,
  GUEST_DIR,
  GUEST_FILES,
  MARKER_FORMAT,
  autostartReg,
  readAutostartTemplate,
  checkGuestSettings,
  parseMarker,
  renderMarker,
  retrolabVersion,
  sha256,
  type LogonAccount,
  type PreparedMarker,
} from './guest-payload.ts';
import { setBatchBlock, setIniValue } from './ini-text.ts';
import { findInstalledWindows, type InstalledWindows } from './installed-windows.ts';
import type { LicensedTarget } from './licensed-config.ts';
import { loadLicensedOs, targetsOfFamily, type LicensedOs } from './licensed-os.ts';
import { SOFTWARE_PREFIX, hiveHasKey, mergeIntoHive } from './nt-hive.ts';
import { readPreparedManifest, writePreparedManifest } from './prepared-manifest.ts';
import { trackPath } from '../util/owner-ledger.ts';

export interface PrepareImageOptions {
  target: LicensedTarget;
  /** The user's disk image; only ever read. */
  image: string;
  /** The agent built for the guests (build/guest/agent.exe). */
  agentExe: string;
  /**
   * Default: .cache/prepared/<target>-<hash>.qcow2, reused while its inputs
   * are unchanged. An existing folder gets <target>-prepared.qcow2 inside it.
   */
  out?: string;
  /** Replace an existing `out` (never the image or a backing file of it). */
  force?: boolean;
  maxConnections?: number;
  /** NT family only: the account that logs on by itself (default Administrator, blank password). */
  logon?: LogonAccount;
  signal?: AbortSignal;
  onProgress?: ProgressSink;
}

export interface PreparedImage {
  path: string;
  marker: PreparedMarker;
  /** True when an earlier preparation with the same inputs was reused. */
  reused: boolean;
  fileSystem: DiskLayout['fileSystem'];
}

const SETUP_MEDIA_FIX = (target: LicensedTarget) =>
  `make setup media with \`retrolab image setup-media --target ${target}\` and run SETUP.BAT inside the guest once, then use the image as it is (see README, "Licensed targets")`;

/**
 * Writes a prepared qcow2 copy of a user's installed 95/98/ME/NT 4/2000 disk
 * in which the agent starts by itself on COM1, the way the target's OS family
 * says (src/os/os-family.ts, `autostart`). The original is converted to a raw
 * working copy (qemu-img reads it, nothing writes it), the copy is edited
 * with mtools (and hivex on NT), and the result converted to qcow2.
 */
export async function prepareImage(options: PrepareImageOptions): Promise<PreparedImage> {
  const { target } = options;
  const progress = options.onProgress ?? silentProgress;
  const call = { signal: options.signal };
  const started = Date.now();
  const licensed = await loadLicensedOs(target, call);
  await checkGuestSettings(licensed, options, call);
  const source = await inspectImageFile(resolve(options.image), call);
  const agent = await readFile(options.agentExe);
  const version = await retrolabVersion();
  const template = (await readAutostartTemplate(target)).render();
  const key = sha256(
    JSON.stringify([target, source.identity, options.maxConnections ?? null, options.logon ?? null, sha256(agent), template, version]),
  );
  const out =
    options.out === undefined
      ? // The cache's own file: replaced freely, but still never the user's image.
        await checkOutputPath(join(cacheDir(), 'prepared', `${target}-${key.slice(0, 16)}.qcow2`), { protect: source.files, force: true })
      : await checkOutputPath(await outputFileIn(options.out, target), { protect: source.files, force: options.force ?? false });
  const marker: PreparedMarker = {
    format: MARKER_FORMAT,
    target,
    retrolabVersion: version,
    agentSha256: sha256(agent),
    maxConnections: options.maxConnections ?? null,
    preparedFrom: basename(source.path),
    preparedAt: new Date().toISOString(),
  };
  if (options.out === undefined && (await exists(out))) {
    progress({ kind: 'done', scope: target, message: `reusing ${out}`, durationMs: Date.now() - started });
    const manifest = await readPreparedManifest(out);
    if (manifest) return { path: out, marker: manifest.marker, reused: true, fileSystem: manifest.fileSystem };
  }

  await mkdir(dirname(out), { recursive: true });
  let fileSystem: DiskLayout['fileSystem'] = 'unknown';
  const work = await mkdtemp(join(dirname(out), '.prepare-'));
  const untrack = trackPath(work);
  try {
    const raw = join(work, 'disk.raw');
    progress({ kind: 'step', scope: target, message: `copying ${source.path} (${source.format}) to a raw working copy` });
    await convertImage(source, { path: raw, format: 'raw' }, call);
    const layout = await readDiskLayout(raw, source.path);
    if (layout.fileSystem !== 'fat16' && layout.fileSystem !== 'fat32') {
      const what =
        layout.fileSystem === 'ntfs'
          ? 'NTFS'
          : layout.fileSystem === 'fat12'
            ? 'FAT12'
            : `an unknown file system (partition type 0x${layout.system.type.toString(16).padStart(2, '0')})`;
      throw new UnusableImageError(
        source.path,
        `partition ${layout.system.index + 1} holds ${what}; retrolab can only write FAT16/FAT32 offline`,
        SETUP_MEDIA_FIX(target),
      );
    }
    const volume = new FatVolume(raw, layout.volumeOffset, call);
    const markerPath = `${GUEST_DIR}\\${GUEST_FILES.marker}`;
    if (await volume.exists(markerPath)) {
      const found = parseMarker((await volume.read(markerPath)).toString('latin1'));
      throw new UnusableImageError(
        source.path,
        `already prepared (C:\\${markerPath} says target=${found?.target ?? '?'}, retrolab ${found?.retrolabVersion ?? '?'}, prepared ${found?.preparedAt ?? '?'})`,
        `use it as it is (export RETROLAB_IMAGE_${target.toUpperCase()}=${source.path}), or prepare the original image it was made from`,
      );
    }
    const installed = await findInstalledWindows(volume);
    await checkFamily(licensed, installed, source.path);
    progress({ kind: 'step', scope: target, message: `writing C:\\${GUEST_DIR} and the autostart on ${layout.fileSystem.toUpperCase()}` });
    await volume.mkdir(GUEST_DIR);
    await volume.write(`${GUEST_DIR}\\${GUEST_FILES.agent}`, agent);
    if (installed.family === 'win9x') {
      await prepareWin9x(volume, installed.windowsDir, options, licensed);
    } else if (installed.family === 'nt') {
      await prepareNt(volume, installed.systemRoot, work, options);
    }
    await volume.write(markerPath, renderMarker(marker));
    progress({ kind: 'step', scope: target, message: `writing ${out}` });
    const partial = join(work, 'prepared.qcow2');
    await convertImage({ path: raw, format: 'raw' }, { path: partial, format: 'qcow2' }, call);
    // Checked again: a long conversion gives another process time to put something there.
    await checkOutputPath(out, { protect: source.files, force: options.out === undefined || (options.force ?? false) });
    await rename(partial, out);
    await writePreparedManifest(out, { marker, fileSystem: layout.fileSystem, source: { path: source.path, identity: source.identity } });
    fileSystem = layout.fileSystem;
  } finally {
    await rm(work, { recursive: true, force: true });
    untrack();
  }
  progress({ kind: 'done', scope: target, message: `prepared ${out}`, durationMs: Date.now() - started });
  return { path: out, marker, reused: false, fileSystem };
}

async function checkFamily(licensed: LicensedOs, installed: InstalledWindows, image: string): Promise<void> {
  const { target } = licensed;
  if (installed.family === licensed.family.name) return;
  if (installed.family === 'none') {
    throw new UnusableImageError(
      image,
      `no installed Windows found on C: (looked for ${installed.looked.join(', ')})`,
      `give the disk of an installed ${target}, or install one with \`retrolab image install --target ${target}\``,
    );
  }
  const found =
    installed.family === 'nt'
      ? `Windows NT (${installed.systemRoot}\\SYSTEM32\\CONFIG\\SOFTWARE)`
      : `Windows 95/98/ME (${installed.windowsDir}\\WIN.INI)`;
  const right = (await targetsOfFamily(installed.family)).join(' or ');
  throw new UnusableImageError(
    image,
    `--target ${target}, but the disk holds ${found}`,
    `use --target ${right}, or give the ${target} image`,
  );
}

/**
 * 9x: AUTOSTRT.REG is applied once, by real-mode REGEDIT from AUTOEXEC.BAT
 * before Windows starts, so RunServices starts the agent (before any logon)
 * already on the first boot; it is then renamed so later boots skip it.
 * WIN.INI `run=` starts the agent as well, for the case the import did not
 * happen; a second agent finds COM1 taken and gives up after 30 s.
 * The StartUp folder needs a .LNK, which has no writer here.
 */
async function prepareWin9x(volume: FatVolume, windowsDir: string, options: PrepareImageOptions, licensed: LicensedOs): Promise<void> {
  const hasWinsock2 = await volume.exists(`${windowsDir}\\SYSTEM\\WS2_32.DLL`);
  const dword = licensed.os.maxConnectionsType === 'dword-without-winsock2' && !hasWinsock2;
  const reg = await autostartReg(options.target, {
    ...(options.maxConnections !== undefined ? { maxConnections: options.maxConnections, maxConnectionsType: dword ? 'dword' : 'sz' } : {}),
  });
  await volume.write(`${GUEST_DIR}\\${GUEST_FILES.autostart}`, reg.render());
  const winIni = `${windowsDir}\\WIN.INI`;
  const ini = (await volume.read(winIni)).toString('latin1');
  await volume.write(winIni, Buffer.from(setIniValue(ini, 'windows', 'run', AGENT_COMMAND), 'latin1'));
  if (licensed.os.realModeAutoexec === false) {
    // Me runs no real-mode program from AUTOEXEC.BAT (KB Q269524): WIN.INI run= is the autostart, from the first shell start on.
    options.onProgress?.({
      kind: 'warn',
      scope: options.target,
      message: `${licensed.os.title} ignores real-mode commands in AUTOEXEC.BAT (KB Q269524): the agent starts from WIN.INI run= when the shell starts; AUTOSTRT.REG (RunServices, no logon prompt${options.maxConnections !== undefined ? ', MaxConnections' : ''}) is imported only by the setup media's SETUP.BAT or an unattended install`,
    });
    return;
  }
  const autoexec = (await volume.exists('AUTOEXEC.BAT')) ? (await volume.read('AUTOEXEC.BAT')).toString('latin1') : '';
  const regFile = `C:\\${GUEST_DIR}\\${GUEST_FILES.autostart}`;
  const block = [`IF EXIST ${regFile} C:\\${windowsDir}\\REGEDIT.EXE ${regFile}`, `IF EXIST ${regFile} REN ${regFile} AUTOSTRT.DON`];
  await volume.write('AUTOEXEC.BAT', Buffer.from(setBatchBlock(autoexec, 'retrolab', block), 'latin1'));
}

/** NT (4.0, 2000): AutoAdminLogon and the Run value go straight into the SOFTWARE hive; AUTOSTRT.REG is kept for reference. */
async function prepareNt(volume: FatVolume, systemRoot: string, work: string, options: PrepareImageOptions): Promise<void> {
  const reg = await autostartReg(options.target, options.logon ? { logon: options.logon } : {});
  await volume.write(`${GUEST_DIR}\\${GUEST_FILES.autostart}`, reg.render());
  const hivePath = `${systemRoot}\\SYSTEM32\\CONFIG\\SOFTWARE`;
  const hive = join(work, 'SOFTWARE');
  await writeFile(hive, await volume.read(hivePath));
  const call = { signal: options.signal };
  for (const key of reg.keys) {
    const relative = key.path.slice(SOFTWARE_PREFIX.length + 1);
    if (!(await hiveHasKey(hive, relative, call))) {
      throw new UnusableImageError(
        options.image,
        `C:\\${hivePath} has no key ${relative} (not an NT SOFTWARE hive?)`,
        SETUP_MEDIA_FIX(options.target),
      );
    }
  }
  await mergeIntoHive(hive, reg, SOFTWARE_PREFIX, call);
  await volume.write(hivePath, await readFile(hive));
}

/** `--out DIR` (an existing folder) means DIR/<target>-prepared.qcow2. */
export async function outputFileIn(out: string, target: LicensedTarget): Promise<string> {
  const path = resolve(out);
  try {
    if ((await stat(path)).isDirectory()) return join(path, `${target}-prepared.qcow2`);
  } catch {
    // Not there yet: a file path.
  }
  return path;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
