import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGuestApps } from '../../src/guest-apps/build.ts';
import { ConfigError } from '../../src/errors.ts';
import { UnusableImageError } from '../../src/licensed/errors.ts';
import { prepareImage } from '../../src/licensed/prepare-image.ts';
import { licensedReadiness } from '../../src/licensed/readiness.ts';
import { manifestPathFor } from '../../src/licensed/prepared-manifest.ts';
import type { ProgressEvent } from '../../src/report/progress.ts';
import {
  AUTOEXEC_BAT,
  ME_AUTOEXEC_BAT,
  fatExists,
  fatGet,
  makeFatDisk,
  makeNt4Disk,
  makeNtfsDisk,
  makeWin2000Disk,
  makeWin9xDisk,
  makeWinMeDisk,
} from './licensed-fixtures.ts';

let dir: string;
let agentExe: string;
let agent: Buffer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'licensed-prepare-'));
  const [built] = await buildGuestApps({ only: ['agent'] });
  agentExe = built!.path;
  agent = await readFile(agentExe);
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function sha(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

/** The prepared qcow2 back as raw, to read it with mtools. */
function toRaw(qcow2: string): string {
  const raw = `${qcow2}.check.raw`;
  execFileSync('qemu-img', ['convert', '-U', '-f', 'qcow2', '-O', 'raw', qcow2, raw]);
  return raw;
}

const text = (b: Buffer) => b.toString('latin1');

describe('prepare 95/98 on FAT', () => {
  it('FAT16 win98 raw: agent, .reg with RunServices/logon/MaxConnections as a string, WIN.INI run=, AUTOEXEC.BAT, marker; original untouched', async () => {
    const image = join(dir, 'w98-fat16.img');
    const offset = await makeWin9xDisk(image, 16);
    const before = await sha(image);
    const out = join(dir, 'w98-prepared.qcow2');
    const prepared = await prepareImage({ target: 'win98', image, agentExe, out, maxConnections: 40 });
    expect(await sha(image)).toBe(before);
    expect(prepared).toMatchObject({
      path: out,
      reused: false,
      fileSystem: 'fat16',
      marker: { target: 'win98', maxConnections: 40, preparedFrom: 'w98-fat16.img' },
    });
    expect((JSON.parse(execFileSync('qemu-img', ['info', '--output=json', out]).toString()) as { format: string }).format).toBe('qcow2');

    const raw = toRaw(out);
    expect(fatGet(raw, offset, 'RETROLAB\\AGENT.EXE').equals(agent)).toBe(true);
    const reg = text(fatGet(raw, offset, 'RETROLAB\\AUTOSTRT.REG'));
    expect(reg.startsWith('REGEDIT4\r\n\r\n')).toBe(true);
    expect(reg).toContain(
      '[HKEY_LOCAL_MACHINE\\Software\\Microsoft\\Windows\\CurrentVersion\\RunServices]\r\n"RetrolabAgent"="C:\\\\RETROLAB\\\\AGENT.EXE"\r\n',
    );
    expect(reg).toContain('[HKEY_LOCAL_MACHINE\\Network\\Logon]\r\n"UserProfiles"=dword:00000000\r\n');
    expect(reg).toContain('"AutoAdminLogon"="1"');
    expect(reg).toContain('[HKEY_LOCAL_MACHINE\\System\\CurrentControlSet\\Services\\VxD\\MSTCP]\r\n"MaxConnections"="40"\r\n');
    expect(reg.endsWith('\r\n\r\n')).toBe(true);

    expect(text(fatGet(raw, offset, 'WINDOWS\\WIN.INI'))).toBe(
      '[windows]\r\nload=\r\nrun=C:\\RETROLAB\\AGENT.EXE\r\nNullPort=None\r\n\r\n[Desktop]\r\nWallpaper=(None)\r\n',
    );
    expect(text(fatGet(raw, offset, 'AUTOEXEC.BAT'))).toBe(
      `${AUTOEXEC_BAT}REM retrolab begin\r\nIF EXIST C:\\RETROLAB\\AUTOSTRT.REG C:\\WINDOWS\\REGEDIT.EXE C:\\RETROLAB\\AUTOSTRT.REG\r\n` +
        'IF EXIST C:\\RETROLAB\\AUTOSTRT.REG REN C:\\RETROLAB\\AUTOSTRT.REG AUTOSTRT.DON\r\nREM retrolab end\r\n',
    );
    const marker = text(fatGet(raw, offset, 'RETROLAB\\PREPARED.TXT'));
    expect(marker).toMatch(
      /^RETROLAB PREPARED IMAGE\r\nformat=1\r\ntarget=win98\r\nretrolab=\d+\.\d+\.\d+\r\nagent-sha256=[0-9a-f]{64}\r\nmax-connections=40\r\nprepared-from=w98-fat16.img\r\nprepared-at=\S+\r\n$/,
    );
    expect(marker).toContain(`agent-sha256=${createHash('sha256').update(agent).digest('hex')}`);
    expect(fatExists(raw, offset, 'WINDOWS\\Start Menu\\Programs\\StartUp')).toBe(true);

    const manifest = JSON.parse(await readFile(manifestPathFor(out), 'utf8')) as { marker: { maxConnections: number } };
    expect(manifest.marker.maxConnections).toBe(40);
    expect(await licensedReadiness('win98', { env: { RETROLAB_IMAGE_WIN98: out }, root: dir })).toMatchObject({
      state: 'ready',
      image: out,
    });
    expect(await licensedReadiness('win98', { env: { RETROLAB_IMAGE_WIN98: image }, root: dir })).toMatchObject({ state: 'not prepared' });
    expect(await licensedReadiness('win98', { env: {}, root: dir })).toMatchObject({ state: 'not configured' });
  }, 60_000);

  it('FAT32 win95 from a qcow2: MaxConnections is a DWORD on plain 95, a string with Winsock 2', async () => {
    for (const winsock2 of [false, true]) {
      const raw = join(dir, `w95-${winsock2}.img`);
      const offset = await makeWin9xDisk(raw, 32, { winsock2 });
      const image = join(dir, `w95-${winsock2}.qcow2`);
      execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, image]);
      const before = await sha(image);
      const out = join(dir, `w95-${winsock2}-prepared.qcow2`);
      const prepared = await prepareImage({ target: 'win95', image, agentExe, out, maxConnections: 16 });
      expect(prepared.fileSystem).toBe('fat32');
      expect(await sha(image)).toBe(before);
      const reg = text(fatGet(toRaw(out), offset, 'RETROLAB\\AUTOSTRT.REG'));
      expect(reg).toContain(winsock2 ? '"MaxConnections"="16"' : '"MaxConnections"=dword:00000010');
    }
  }, 60_000);

  it('without --max-connections the .reg leaves MSTCP alone and the marker says default', async () => {
    const image = join(dir, 'w98-default.img');
    const offset = await makeWin9xDisk(image, 16);
    const out = join(dir, 'w98-default.qcow2');
    await prepareImage({ target: 'win98', image, agentExe, out });
    const raw = toRaw(out);
    expect(text(fatGet(raw, offset, 'RETROLAB\\AUTOSTRT.REG'))).not.toContain('MSTCP');
    expect(text(fatGet(raw, offset, 'RETROLAB\\PREPARED.TXT'))).toContain('max-connections=default\r\n');
  }, 60_000);

  it('a logon account on 98 is the flag at fault, as in image install: a ConfigError naming --user/--password and the NT targets', async () => {
    const image = join(dir, 'w98-logon.img');
    await makeWin9xDisk(image, 16);
    const error = await prepareImage({
      target: 'win98',
      image,
      agentExe,
      out: join(dir, 'w98-logon.qcow2'),
      logon: { user: 'me', password: '' },
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    // It was an UnusableImageError that named the (sound) image as the problem.
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).not.toBeInstanceOf(UnusableImageError);
    expect((error as Error).message).toMatch(
      /^--user\/--password: the automatic logon is a Windows NT setting, not Windows 98's; drop --user\/--password, or use a Windows NT target \(.*winnt4.*\)$/,
    );
  }, 60_000);
});

describe('prepare Windows Me on FAT32', () => {
  it('agent, .reg with MaxConnections as a string, WIN.INI run=; AUTOEXEC.BAT left alone (Me runs no real-mode program from it) and the user told so', async () => {
    const image = join(dir, 'me-fat32.img');
    const offset = await makeWinMeDisk(image);
    const events: ProgressEvent[] = [];
    const out = join(dir, 'me-prepared.qcow2');
    const prepared = await prepareImage({
      target: 'winme',
      image,
      agentExe,
      out,
      maxConnections: 50,
      onProgress: (event) => events.push(event),
    });
    expect(prepared).toMatchObject({ fileSystem: 'fat32', marker: { target: 'winme', maxConnections: 50 } });
    const raw = toRaw(out);
    expect(fatGet(raw, offset, 'RETROLAB\\AGENT.EXE').equals(agent)).toBe(true);
    expect(text(fatGet(raw, offset, 'RETROLAB\\AUTOSTRT.REG'))).toContain('"MaxConnections"="50"');
    expect(text(fatGet(raw, offset, 'WINDOWS\\WIN.INI'))).toContain('run=C:\\RETROLAB\\AGENT.EXE\r\n');
    expect(text(fatGet(raw, offset, 'AUTOEXEC.BAT'))).toBe(ME_AUTOEXEC_BAT);
    const warnings = events.flatMap((e) => (e.kind === 'warn' ? [e.message] : []));
    expect(warnings).toEqual([expect.stringContaining('Windows Me ignores real-mode commands in AUTOEXEC.BAT (KB Q269524)')]);
  }, 60_000);
});

describe('prepare Windows 2000 on FAT (hivex)', () => {
  it("writes the NT autostart into 2000's SOFTWARE hive: AutoAdminLogon, the logon account, the Run value", async () => {
    const image = join(dir, 'w2k.img');
    const offset = await makeWin2000Disk(image);
    const out = join(dir, 'w2k-prepared.qcow2');
    const prepared = await prepareImage({ target: 'win2000', image, agentExe, out, logon: { user: 'lab', password: 'pw' } });
    expect(prepared.marker.target).toBe('win2000');
    const raw = toRaw(out);
    const hive = join(dir, 'w2k-SOFTWARE');
    await writeFile(hive, fatGet(raw, offset, 'WINNT\\SYSTEM32\\CONFIG\\SOFTWARE'));
    const winlogon = execFileSync('hivexregedit', ['--export', hive, '\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon']).toString(
      'latin1',
    );
    const hex = (value: string) => [...Buffer.from(`${value}\0`, 'utf16le')].map((b) => b.toString(16).padStart(2, '0')).join(',');
    expect(winlogon).toContain(`"AutoAdminLogon"=hex(1):${hex('1')}`);
    expect(winlogon).toContain(`"DefaultUserName"=hex(1):${hex('lab')}`);
    expect(execFileSync('hivexregedit', ['--export', hive, '\\Microsoft\\Windows\\CurrentVersion\\Run']).toString('latin1')).toContain(
      `"RetrolabAgent"=hex(1):${hex('C:\\RETROLAB\\AGENT.EXE')}`,
    );
    // 2000 is NT: MSTCP MaxConnections does not exist there.
    await expect(prepareImage({ target: 'win2000', image, agentExe, out: join(dir, 'w2k-x.qcow2'), maxConnections: 40 })).rejects.toThrow(
      'Windows 2000 has no such limit',
    );
  }, 60_000);
});

describe('prepare NT 4 on FAT (hivex)', () => {
  it('sets AutoAdminLogon, DefaultUserName/Password and the Run value in the SOFTWARE hive, keeps other values', async () => {
    const image = join(dir, 'nt4.img');
    const offset = await makeNt4Disk(image);
    const before = await sha(image);
    const out = join(dir, 'nt4-prepared.qcow2');
    await prepareImage({ target: 'winnt4', image, agentExe, out, logon: { user: 'lab', password: 'pw' } });
    expect(await sha(image)).toBe(before);
    const raw = toRaw(out);
    expect(fatGet(raw, offset, 'RETROLAB\\AGENT.EXE').equals(agent)).toBe(true);
    expect(text(fatGet(raw, offset, 'RETROLAB\\PREPARED.TXT'))).toContain('target=winnt4\r\n');
    const hive = join(dir, 'SOFTWARE');
    await writeFile(hive, fatGet(raw, offset, 'WINNT\\SYSTEM32\\CONFIG\\SOFTWARE'));
    const utf16 = (s: string) => [...Buffer.from(`${s}\0`, 'utf16le')].map((b) => b.toString(16).padStart(2, '0')).join(',');
    const winlogon = execFileSync('hivexregedit', ['--export', hive, 'Microsoft\\Windows NT\\CurrentVersion\\Winlogon']).toString();
    expect(winlogon).toContain(`"AutoAdminLogon"=hex(1):${utf16('1')}`);
    expect(winlogon).toContain(`"DefaultUserName"=hex(1):${utf16('lab')}`);
    expect(winlogon).toContain(`"DefaultPassword"=hex(1):${utf16('pw')}`);
    expect(winlogon).toContain(`"Shell"=hex(1):${utf16('Explorer.exe')}`);
    const run = execFileSync('hivexregedit', ['--export', hive, 'Microsoft\\Windows\\CurrentVersion\\Run']).toString();
    expect(run).toContain(`"RetrolabAgent"=hex(1):${utf16('C:\\RETROLAB\\AGENT.EXE')}`);
  }, 60_000);
});

describe('unusable inputs', () => {
  async function failure(run: Promise<unknown>): Promise<UnusableImageError> {
    const error = await run.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UnusableImageError);
    return error as UnusableImageError;
  }

  it('a missing file names the path', async () => {
    const missing = join(dir, 'nope.img');
    const error = await failure(prepareImage({ target: 'win98', image: missing, agentExe }));
    expect(error.message).toContain(`${missing}: no such file`);
  });

  it('NTFS points to setup media', async () => {
    const image = join(dir, 'ntfs.img');
    await makeNtfsDisk(image);
    const error = await failure(prepareImage({ target: 'winnt4', image, agentExe, out: join(dir, 'x.qcow2') }));
    expect(error.message).toContain('holds NTFS');
    expect(error.fix).toContain('retrolab image setup-media --target winnt4');
  });

  it('no partition table: an empty disk and a bare FAT volume', async () => {
    const empty = join(dir, 'empty.img');
    await writeFile(empty, Buffer.alloc(1024 * 1024));
    expect((await failure(prepareImage({ target: 'win98', image: empty, agentExe, out: join(dir, 'x.qcow2') }))).message).toContain(
      'no partition table',
    );
    const bare = join(dir, 'bare.img');
    execFileSync('mkfs.fat', ['-C', bare, '8192'], { stdio: 'pipe' });
    const error = await failure(prepareImage({ target: 'win98', image: bare, agentExe, out: join(dir, 'x.qcow2') }));
    expect(error.message).toContain('no partition table: sector 0 is a FAT');
    expect(error.fix).toContain('whole disk image');
  });

  it('an image already prepared', async () => {
    const image = join(dir, 'w98-twice.img');
    await makeWin9xDisk(image, 16);
    const once = join(dir, 'w98-once.qcow2');
    await prepareImage({ target: 'win98', image, agentExe, out: once });
    const error = await failure(prepareImage({ target: 'win98', image: once, agentExe, out: join(dir, 'w98-twice.qcow2') }));
    expect(error.message).toContain('already prepared');
    expect(error.message).toContain('target=win98');
  }, 60_000);

  it('a wrong target says which one the disk holds', async () => {
    const nt = join(dir, 'nt-wrong.img');
    await makeNt4Disk(nt);
    const error = await failure(prepareImage({ target: 'win98', image: nt, agentExe, out: join(dir, 'x.qcow2') }));
    expect(error.message).toContain('--target win98, but the disk holds Windows NT');
    expect(error.fix).toContain('--target win2000 or winnt4');
    const w9x = join(dir, 'w9x-wrong.img');
    await makeWin9xDisk(w9x, 16);
    expect((await failure(prepareImage({ target: 'winnt4', image: w9x, agentExe, out: join(dir, 'x.qcow2') }))).fix).toContain(
      '--target win95 or win98 or winme',
    );
  }, 60_000);

  it('a FAT disk with no Windows on it, and an NT hive without Winlogon', async () => {
    const blank = join(dir, 'blank.img');
    await makeFatDisk(blank, 16);
    expect((await failure(prepareImage({ target: 'win98', image: blank, agentExe, out: join(dir, 'x.qcow2') }))).message).toContain(
      'no installed Windows found on C: (looked for MSDOS.SYS, BOOT.INI)',
    );
    const nt = join(dir, 'nt-nokeys.img');
    await makeNt4Disk(nt, { withKeys: false });
    expect((await failure(prepareImage({ target: 'winnt4', image: nt, agentExe, out: join(dir, 'x.qcow2') }))).message).toContain(
      'has no key Microsoft\\Windows NT\\CurrentVersion\\Winlogon',
    );
  }, 60_000);

  it('--max-connections is refused on NT 4 and out of range', async () => {
    const image = join(dir, 'unused.img');
    await expect(prepareImage({ target: 'winnt4', image, agentExe, maxConnections: 50 })).rejects.toThrow(
      /MaxConnections exists only on Windows 95\/98/,
    );
    await expect(prepareImage({ target: 'win98', image, agentExe, maxConnections: 3 })).rejects.toThrow(
      /--max-connections: 3 must be a whole number from 8/,
    );
  });
});
