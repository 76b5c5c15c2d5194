import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, chown, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDocker, type DockerClient } from '../../src/docker/docker-client.ts';
import { LABEL } from '../../src/docker/labels.ts';
import { buildGuestApps } from '../../src/guest-apps/build.ts';
import { readDiskLayout } from '../../src/licensed/disk-layout.ts';
import { installImage, type InstallOptions } from '../../src/licensed/install-driver.ts';
import { InstallIncompleteError, InstallStageTimeoutError } from '../../src/licensed/install-errors.ts';
import { ANSWER_FLOPPY, WINNT_AUTOEXEC_BLOCK } from '../../src/licensed/install-media.ts';
import { planInstallStages } from '../../src/licensed/install-plan.ts';
import { runInstallStage } from '../../src/licensed/install-stage.ts';
import { PARTITION_START_LBA, createWinntSourceDisk } from '../../src/licensed/winnt-source-disk.ts';
import { RUN_DIR_IN_CONTAINER, containerUser, prepareWritableDirectory } from '../../src/qemu/run-directory.ts';
import { loadVmSpec } from '../../src/config/load-vm-spec.ts';
import { loadLicensedOs } from '../../src/licensed/licensed-os.ts';
import { manifestPathFor, readPreparedManifest } from '../../src/licensed/prepared-manifest.ts';
import type { ProgressEvent } from '../../src/report/progress.ts';
import { PNG_SIGNATURE } from '../../src/qemu/ppm-to-png.ts';
import { WIN_INI, fatGet, fatPut, makeNt4Disk, makeWin9xDisk, writeAt } from '../unit/licensed-fixtures.ts';
import {
  ANSWER_BEGIN,
  ANSWER_END,
  BOOT_PROGRAM_BYTES,
  CHUNK_BYTES,
  DOS_STAND_IN_BANNER,
  DOS_STAND_IN_PARTITION,
  dosStandInBootSector,
  FIRST_BOOT_BANNER,
  FIRST_BOOT_DONE,
  INSTALLED_LINE,
  NO_ANSWER_LINE,
  SETUP_BANNER,
  firstBootMbrCode,
  setupBootProgram,
} from '../support/tiny-setup-guest.ts';

// The unattended-install driver on real QEMU boots (TCG, qemu-runner
// container) of a hand-written stand-in for Windows setup on a bootable ISO:
// stage 1 boots the CD, prints the answer file it reads from the floppy the
// driver wrote, copies a FAT16 disk laid out like an installed Win98 to C:
// with MSDOS.SYS still deleted, and resets; stage 2 boots C:, whose MBR code
// restores MSDOS.SYS ("setup finishes on first boot") and resets again. The
// driver's own win98 stage plan and installed check decide when it is done.

const PRODUCT_KEY = 'TINY1-SETUP-22222-33333-44444';

let docker: DockerClient;
let work: string;
let agentExe: string;
let iso: string;
let isoSha: string;

/** The driver's win98 flow on the tiny setup ISO; each test adds its stages, media and limits. */
function installTiny(options: Omit<InstallOptions, 'docker' | 'target' | 'iso' | 'answers' | 'agentExe'>) {
  return installImage({ docker, target: 'win98', iso, answers: { productKey: PRODUCT_KEY }, agentExe, ...options });
}

beforeAll(async () => {
  docker = await connectDocker();
  work = await mkdtemp(join(tmpdir(), 'retrolab-install-test-'));
  const [agent] = await buildGuestApps({ only: ['agent'] });
  agentExe = agent!.path;
  iso = await makeTinySetupIso(join(work, 'iso'), { makeDisk: (disk) => makeWin9xDisk(disk, 16), finishedFile: 'MSDOS   SYS' });
  isoSha = await sha256(iso);
});

afterAll(async () => {
  await docker[Symbol.asyncDispose]();
  await rm(work, { recursive: true, force: true });
});

describe('image install on a tiny setup guest', () => {
  it('runs setup from the CD, then from C:, until the disk holds Windows, and prepares it', async () => {
    const events: ProgressEvent[] = [];
    const cacheRoot = join(work, 'cache-ok');
    const out = join(work, 'prepared-win98.qcow2');
    const result = await installTiny({
      diskSizeMb: 64,
      stageTimeoutMs: 90_000,
      cacheRoot,
      out,
      maxConnections: 40,
      progressIntervalMs: 2_000,
      onProgress: (event) => events.push(event),
    });

    expect(result.stages.map((s) => [s.stage.number, s.stage.boot, s.endedBy])).toEqual([
      [1, 'cdrom', 'guest-reset'],
      [2, 'disk', 'guest-reset'],
    ]);
    const first = result.stages[0]!.serialTail;
    expect(first).toContain(`${SETUP_BANNER}\r\n${ANSWER_BEGIN}\r\n[Setup]\r\n`);
    expect(first).toContain(`ProductKey="${PRODUCT_KEY}"`);
    expect(first).toContain('[Retrolab.Autostart]');
    expect(first).toContain(`${ANSWER_END}\r\nINSTALLING\r\n${INSTALLED_LINE}`);
    expect(result.stages[1]!.serialTail).toBe(`${FIRST_BOOT_BANNER}\r\n${FIRST_BOOT_DONE}\r\n`);

    const steps = events.flatMap((e) => (e.kind === 'step' ? [e.message] : []));
    expect(steps.some((m) => /^after stage 1: not installed yet: no Windows on C: yet/.test(m))).toBe(true);
    expect(steps).toContain('after stage 2: installed: C: (FAT16) has WINDOWS\\WIN.INI');
    const lines = events.flatMap((e) => (e.kind === 'log' ? [e.line] : []));
    expect(lines).toContain(`COM1: ProductKey="${PRODUCT_KEY}"`);
    expect(lines.some((l) => l.startsWith('QMP event SHUTDOWN') && l.includes('guest-reset'))).toBe(true);

    const raw = join(work, 'installed.raw');
    execFileSync('qemu-img', ['convert', '-U', '-f', 'qcow2', '-O', 'raw', result.installedDisk, raw]);
    const layout = await readDiskLayout(raw);
    expect(layout.fileSystem).toBe('fat16');
    expect(fatGet(raw, layout.volumeOffset, 'WINDOWS\\WIN.INI').toString('latin1')).toBe(WIN_INI);
    expect(fatGet(raw, layout.volumeOffset, 'MSDOS.SYS').toString('latin1')).toContain('WinDir=C:\\WINDOWS');

    expect(result.prepared).toMatchObject({
      path: out,
      reused: false,
      fileSystem: 'fat16',
      marker: { target: 'win98', maxConnections: 40 },
    });
    const manifest = await readPreparedManifest(out);
    expect(manifest?.marker.target).toBe('win98');
    await access(manifestPathFor(out));
    const preparedRaw = join(work, 'prepared.raw');
    execFileSync('qemu-img', ['convert', '-U', '-f', 'qcow2', '-O', 'raw', out, preparedRaw]);
    expect(fatGet(preparedRaw, layout.volumeOffset, 'RETROLAB\\PREPARED.TXT').toString('latin1')).toContain('target=win98');
    expect(fatGet(preparedRaw, layout.volumeOffset, 'RETROLAB\\AGENT.EXE').equals(await readFile(agentExe))).toBe(true);

    expect(await readdir(join(cacheRoot, 'install'))).toEqual([]);
    expect(await sha256(iso)).toBe(isoSha);
    expect(await containersOfThisRun()).toEqual([]);
  });

  it('win2000: the CD boots with WINNT.SIF ([Data] first) on A:, C: ends up holding NT, and the SOFTWARE hive gets the autostart', async () => {
    const ntIso = await makeTinySetupIso(join(work, 'iso-nt'), { makeDisk: (disk) => makeNt4Disk(disk), finishedFile: 'BOOT    INI' });
    const cacheRoot = join(work, 'cache-w2k');
    const out = join(work, 'prepared-win2000.qcow2');
    const result = await installImage({
      docker,
      target: 'win2000',
      iso: ntIso,
      answers: { productKey: PRODUCT_KEY },
      agentExe,
      diskSizeMb: 64,
      stageTimeoutMs: 90_000,
      cacheRoot,
      out,
    });
    // The driver's own win2000 plan: the CD first (no boot floppy on this route), then C:.
    expect(result.stages.map((s) => [s.stage.number, s.stage.boot, s.endedBy])).toEqual([
      [1, 'cdrom', 'guest-reset'],
      [2, 'disk', 'guest-reset'],
    ]);
    const first = result.stages[0]!.serialTail;
    expect(first).toContain(
      `${SETUP_BANNER}\r\n${ANSWER_BEGIN}\r\n[Data]\r\nAutoPartition=1\r\nMsDosInitiated="0"\r\nUnattendedInstall="Yes"\r\n`,
    );
    expect(first).toContain(`ProductID="${PRODUCT_KEY}"`);
    expect(result.check.detail).toBe('C: (FAT16) has WINNT\\SYSTEM32\\CONFIG\\SOFTWARE');
    expect(result.prepared).toMatchObject({
      path: out,
      reused: false,
      fileSystem: 'fat16',
      marker: { target: 'win2000', maxConnections: null },
    });
    const raw = join(work, 'prepared-w2k.raw');
    execFileSync('qemu-img', ['convert', '-U', '-f', 'qcow2', '-O', 'raw', out, raw]);
    const layout = await readDiskLayout(raw);
    const hive = join(work, 'w2k-SOFTWARE');
    await writeFile(hive, fatGet(raw, layout.volumeOffset, 'WINNT\\SYSTEM32\\CONFIG\\SOFTWARE'));
    const run = execFileSync('hivexregedit', ['--export', hive, '\\Microsoft\\Windows\\CurrentVersion\\Run']).toString('latin1');
    expect(run).toContain('"RetrolabAgent"');
    expect(await containersOfThisRun()).toEqual([]);
  });

  it("winnt4: the user's DOS floppy boots first and finds C: laid out for winnt /b; the floppy copy carries UNATTEND.TXT and the AUTOEXEC block", async () => {
    // A stand-in NT 4 CD (I386 with WINNT.EXE) and a stand-in DOS floppy that reports what it finds on C: and restarts.
    const ntCd = await makeNtStandInCd();
    const bootFloppy = join(work, 'dos-stand-in.img');
    execFileSync('mkfs.fat', ['-C', '-n', 'STARTUP', bootFloppy, '1440'], { stdio: 'pipe' });
    await writeAt(bootFloppy, 0, dosStandInBootSector((await readFile(bootFloppy)).subarray(0, 512)));
    fatPut(bootFloppy, 0, 'AUTOEXEC.BAT', '@ECHO OFF\r\n');
    const floppySha = await sha256(bootFloppy);

    const cacheRoot = join(work, 'cache-nt4');
    // The driver's own winnt4 plan, cut after its first stage: the stand-in cannot run winnt.
    const stages = planInstallStages(await loadLicensedOs('winnt4'), { bootFloppy: true, stageTimeoutMs: 60_000, maxStages: 1 });
    const error = await installImage({
      docker,
      target: 'winnt4',
      iso: ntCd,
      answers: { productKey: '123-4567890' },
      agentExe,
      bootFloppy,
      diskSizeMb: 64,
      stages,
      cacheRoot,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InstallIncompleteError);
    const incomplete = error as InstallIncompleteError;
    expect(incomplete.lastCheck).toMatch(/^no Windows on C: yet/);

    const serial = (await readFile(join(incomplete.workDir, 'stage-1-serial.log'))).toString('latin1');
    expect(serial).toBe(`${DOS_STAND_IN_BANNER}\r\n${DOS_STAND_IN_PARTITION}NTSETUP    \r\n`);
    const floppy = join(incomplete.workDir, ANSWER_FLOPPY);
    expect(fatGet(floppy, 0, 'UNATTEND.TXT').toString('latin1')).toContain('OemPreinstall=Yes');
    expect(fatGet(floppy, 0, 'AUTOEXEC.BAT').toString('latin1')).toBe(
      ['@ECHO OFF', 'REM retrolab begin', ...WINNT_AUTOEXEC_BLOCK, 'REM retrolab end', ''].join('\r\n'),
    );
    const raw = join(work, 'nt4-c.raw');
    execFileSync('qemu-img', ['convert', '-U', '-f', 'qcow2', '-O', 'raw', join(incomplete.workDir, 'disk.qcow2'), raw]);
    const layout = await readDiskLayout(raw);
    expect(fatGet(raw, layout.volumeOffset, 'I386\\WINNT.EXE').toString('latin1')).toBe('MZ stand-in');
    expect(await sha256(bootFloppy)).toBe(floppySha);
    expect(await containersOfThisRun()).toEqual([]);
  });

  it("winnt4: the C: retrolab makes boots: its MBR code starts the active partition's boot sector (which winnt /b makes NT's)", async () => {
    const workDir = join(work, 'nt4-mbr');
    await mkdir(workDir);
    await prepareWritableDirectory(workDir);
    const runDir = {
      hostPath: workDir,
      containerPath: RUN_DIR_IN_CONTAINER,
      user: containerUser(),
      [Symbol.asyncDispose]: () => Promise.resolve(),
    };
    const source = await createWinntSourceDisk({ dir: workDir, sizeMb: 64, iso: await makeNtStandInCd() });
    // Stands in for the boot sector winnt /b writes: says so on COM1 (copying a spare sector) and resets.
    await writeAt(source.path, PARTITION_START_LBA * 512, firstBootMbrCode(1, 2));
    const disk = join(workDir, 'disk.qcow2');
    execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', source.path, disk]);
    if ((process.getuid?.() ?? 0) === 0) {
      const [uid, gid] = containerUser().split(':').map(Number) as [number, number];
      await chown(disk, uid, gid);
    }
    const floppy = join(workDir, 'blank.img');
    execFileSync('mkfs.fat', ['-C', floppy, '1440'], { stdio: 'pipe' });
    const spec = await loadVmSpec('winnt4');
    if (spec.kind !== 'qemu') throw new Error('winnt4 is a QEMU target');
    const outcome = await runInstallStage({
      docker,
      target: 'winnt4',
      spec,
      stage: { number: 2, boot: 'disk', what: 'C: boots', timeoutMs: 60_000 },
      stageCount: 2,
      runDir,
      disk,
      floppy,
      iso,
    });
    expect(outcome.endedBy).toBe('guest-reset');
    expect(outcome.serialTail).toBe(`${FIRST_BOOT_BANNER}\r\n${FIRST_BOOT_DONE}\r\n`);
    expect(await containersOfThisRun()).toEqual([]);
  });

  it('times out a stage that never ends: screenshot, typed error, work directory kept, boot floppy untouched', async () => {
    // A user's boot floppy whose first file is not an answer file: the tiny setup finds no INI text at LBA 33 and waits.
    const bootFloppy = join(work, 'user-boot-floppy.img');
    execFileSync('mkfs.fat', ['-C', '-n', 'STARTUP', bootFloppy, '1440'], { stdio: 'pipe' });
    fatPut(bootFloppy, 0, 'README.TXT', 'a startup disk, not an answer file\r\n');
    const floppySha = await sha256(bootFloppy);
    const cacheRoot = join(work, 'cache-timeout');
    const events: ProgressEvent[] = [];
    const started = Date.now();
    const error = await installTiny({
      bootFloppy,
      diskSizeMb: 64,
      stages: [{ number: 1, boot: 'cdrom', what: 'tiny setup without an answer file', timeoutMs: 15_000 }],
      cacheRoot,
      progressIntervalMs: 3_000,
      onProgress: (event) => events.push(event),
    }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(60_000);

    expect(error).toBeInstanceOf(InstallStageTimeoutError);
    const timeout = error as InstallStageTimeoutError;
    const [workDir] = await readdir(join(cacheRoot, 'install'));
    const kept = join(cacheRoot, 'install', workDir!);
    expect(timeout.workDir).toBe(kept);
    expect(timeout.stage.number).toBe(1);
    expect(timeout.message).toContain(
      'win98: install stage 1 (tiny setup without an answer file, booted from cdrom) did not end within its timeout of 15.0 s; QEMU was killed',
    );
    expect(timeout.message).toContain(`screenshot: ${timeout.screenshotPath}`);
    expect(timeout.message).toContain(`work directory kept: ${kept}`);
    expect(timeout.message).toContain('fix: look at the screenshot');
    expect(timeout.lastSerialLines).toEqual([SETUP_BANNER, NO_ANSWER_LINE]);
    // While it waited, progress said the stage, the time against the timeout, QEMU's run state and the guest's last line, and ended.
    const following = events.flatMap((e) => (e.kind === 'step' && e.scope === 'win98 stage 1/1' ? [e.message] : []));
    expect(following[0]).toBe('tiny setup without an answer file: booting from cdrom (timeout 15.0 s)');
    const waited = events.flatMap((e) => (e.kind === 'progress' && e.scope === 'win98 stage 1/1' ? [e] : []));
    expect(waited[0]).toMatchObject({ what: 'tiny setup without an answer file', limitMs: 15_000, detail: 'nothing on COM1 yet' });
    expect(waited.some((e) => e.detail === 'guest running; last on COM1: "NO ANSWER FILE ON A:, WAITING"')).toBe(true);
    expect(waited.map((e) => e.elapsedMs)).toEqual([...waited.map((e) => e.elapsedMs)].sort((a, b) => a - b));
    expect(waited.at(-1)?.end).toBe(true);
    expect(waited.at(-1)?.elapsedMs).toBeGreaterThanOrEqual(14_000);

    const screenshot = timeout.screenshotPath!;
    expect(screenshot.startsWith(kept)).toBe(true);
    const png = await readFile(screenshot);
    expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    const image = decodePng(png);
    expect([image.width, image.height]).toEqual([720, 400]);
    // The guest cleared the screen and wrote two lines: text in the first 16-pixel row, nothing from the fourth on.
    expect(litPixels(image, 0, 16)).toBeGreaterThan(100);
    expect(litPixels(image, 16, 32)).toBeGreaterThan(100);
    expect(litPixels(image, 48, 400)).toBe(0);

    expect(await sha256(bootFloppy)).toBe(floppySha);
    const copy = join(kept, ANSWER_FLOPPY);
    expect(fatGet(copy, 0, 'README.TXT').toString('latin1')).toBe('a startup disk, not an answer file\r\n');
    expect(fatGet(copy, 0, 'MSBATCH.INF').toString('latin1')).toContain(`ProductKey="${PRODUCT_KEY}"`);
    expect(await readFile(join(kept, 'stage-1-serial.log'), 'latin1')).toBe(`${SETUP_BANNER}\r\n${NO_ANSWER_LINE}\r\n`);
    await access(join(kept, 'disk.qcow2'));
    expect(await containersOfThisRun()).toEqual([]);
  });

  it('says setup did not finish when every stage ended but the disk is not installed', async () => {
    const cacheRoot = join(work, 'cache-incomplete');
    // Stage 1 alone leaves MSDOS.SYS deleted: the first boot from C: never happens.
    const error = await installTiny({
      diskSizeMb: 64,
      stages: [{ number: 1, boot: 'cdrom', what: 'setup starts from the CD', timeoutMs: 90_000 }],
      cacheRoot,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InstallIncompleteError);
    const incomplete = error as InstallIncompleteError;
    const [workDir] = await readdir(join(cacheRoot, 'install'));
    expect(incomplete.workDir).toBe(join(cacheRoot, 'install', workDir!));
    expect(incomplete.stagesRun).toBe(1);
    expect(incomplete.message).toContain(
      'win98: setup ran 1 stage(s), each ending in a reboot, but the disk still does not hold an installed win98: no Windows on C: yet (looked for MSDOS.SYS, BOOT.INI)',
    );
    expect(await readFile(join(incomplete.workDir, 'stage-1-serial.log'), 'latin1')).toContain(INSTALLED_LINE);
  });

  it('stops QEMU and removes its container when aborted, and keeps the work directory', async () => {
    const controller = new AbortController();
    const cacheRoot = join(work, 'cache-abort');
    const events: ProgressEvent[] = [];
    const running = installTiny({
      bootFloppy: decoyFloppy(join(work, 'abort-floppy.img')),
      diskSizeMb: 64,
      stages: [{ number: 1, boot: 'cdrom', what: 'tiny setup waiting forever', timeoutMs: 120_000 }],
      cacheRoot,
      signal: controller.signal,
      onProgress: (event) => {
        events.push(event);
        if (event.kind === 'log' && event.line === `COM1: ${NO_ANSWER_LINE}`) controller.abort(new Error('test: Ctrl-C'));
      },
    });
    const started = Date.now();
    await expect(running).rejects.toThrow('test: Ctrl-C');
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(await containersOfThisRun()).toEqual([]);
    const [workDir] = await readdir(join(cacheRoot, 'install'));
    const warnings = events.flatMap((e) => (e.kind === 'warn' ? [e.message] : []));
    expect(warnings.some((message) => message.includes(`work directory kept: ${join(cacheRoot, 'install', workDir!)}`))).toBe(true);
  });
});

/**
 * The tiny setup ISO: the boot program followed (in the same file) by the
 * payload, a 64 MB FAT16 disk laid out like an installed system (Win98:
 * MSDOS.SYS; NT: BOOT.INI) whose MBR carries the first-boot code, with the
 * directory entry of the file that says where Windows is (`finishedFile`, 8.3
 * as in the directory) deleted and the intact root directory sector parked at
 * LBA 1 for the first boot to put back.
 */
async function makeTinySetupIso(
  dir: string,
  layout: { makeDisk: (path: string) => Promise<number>; finishedFile: string },
): Promise<string> {
  await mkdir(join(dir, 'content'), { recursive: true });
  const disk = join(dir, 'payload.img');
  const offset = await layout.makeDisk(disk);
  const image = await readFile(disk);
  const boot = image.subarray(offset, offset + 512);
  const reserved = boot.readUInt16LE(14);
  const fats = boot[16]!;
  const rootEntries = boot.readUInt16LE(17);
  const fatSectors = boot.readUInt16LE(22);
  const rootLba = offset / 512 + reserved + fats * fatSectors;
  const root = image.subarray(rootLba * 512, rootLba * 512 + rootEntries * 32);
  let entry = -1;
  for (let at = 0; at < root.length; at += 32) if (root.toString('latin1', at, at + 11) === layout.finishedFile) entry = at;
  expect(entry, `${layout.finishedFile} in the payload root directory`).toBeGreaterThanOrEqual(0);
  const sectorLba = rootLba + Math.floor(entry / 512);
  const intact = Buffer.from(image.subarray(sectorLba * 512, sectorLba * 512 + 512));
  await writeAt(disk, 512, intact);
  await writeAt(disk, entry + rootLba * 512, Buffer.from([0xe5]));
  await writeAt(disk, 0, firstBootMbrCode(1, sectorLba));

  const payload = await readFile(disk);
  let end = payload.length;
  while (end > 0 && payload[end - 1] === 0) end--;
  const chunks = Math.ceil(end / CHUNK_BYTES);
  const bootFile = Buffer.alloc(BOOT_PROGRAM_BYTES + chunks * CHUNK_BYTES);
  setupBootProgram(chunks).copy(bootFile, 0);
  payload.copy(bootFile, BOOT_PROGRAM_BYTES, 0, chunks * CHUNK_BYTES);
  await writeFile(join(dir, 'content', 'SETUP.BIN'), bootFile);
  const iso = join(dir, 'tiny-setup.iso');
  execFileSync(
    'xorriso',
    [
      '-as',
      'mkisofs',
      '-quiet',
      '-V',
      'TINYSETUP',
      '-b',
      'SETUP.BIN',
      '-no-emul-boot',
      '-boot-load-size',
      '4',
      '-boot-info-table',
      '-o',
      iso,
      join(dir, 'content'),
    ],
    { stdio: 'pipe' },
  );
  expect((await stat(iso)).size).toBeGreaterThan(bootFile.length);
  return iso;
}

/** A stand-in NT 4 CD: I386 with WINNT.EXE and TXTSETUP.SIF (what the winnt route looks for). */
async function makeNtStandInCd(): Promise<string> {
  const content = join(work, 'nt4-cd');
  await mkdir(join(content, 'I386'), { recursive: true });
  await writeFile(join(content, 'I386', 'WINNT.EXE'), 'MZ stand-in');
  await writeFile(join(content, 'I386', 'TXTSETUP.SIF'), '[SetupData]\r\n');
  const ntCd = join(work, 'nt4-cd.iso');
  await rm(ntCd, { force: true });
  execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-V', 'NTWKS40A', '-o', ntCd, content], { stdio: 'pipe' });
  return ntCd;
}

function decoyFloppy(path: string): string {
  execFileSync('mkfs.fat', ['-C', path, '1440'], { stdio: 'pipe' });
  fatPut(path, 0, 'COMMAND.COM', 'not an answer file');
  return path;
}

async function containersOfThisRun(): Promise<string[]> {
  const found = await docker.listContainers({ [LABEL.runId]: docker.runId });
  return found.map((c) => c.id);
}

async function sha256(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

interface Rgb {
  width: number;
  height: number;
  pixels: Buffer;
}

/** Decodes the PNGs ppm-to-png.ts writes: 8-bit RGB, one IDAT, filter 0 on every row. */
function decodePng(png: Buffer): Rgb {
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  const idatLength = png.readUInt32BE(33);
  expect(png.toString('latin1', 37, 41)).toBe('IDAT');
  const raw = inflateSync(png.subarray(41, 41 + idatLength));
  const stride = width * 3;
  const pixels = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    expect(raw[y * (stride + 1)]).toBe(0);
    raw.copy(pixels, y * stride, y * (stride + 1) + 1, (y + 1) * (stride + 1));
  }
  return { width, height, pixels };
}

/** Pixels that are not black in rows [from, to). */
function litPixels(image: Rgb, from: number, to: number): number {
  let lit = 0;
  for (let at = from * image.width * 3; at < to * image.width * 3; at += 3) {
    if (image.pixels[at]! + image.pixels[at + 1]! + image.pixels[at + 2]! > 0) lit++;
  }
  return lit;
}
