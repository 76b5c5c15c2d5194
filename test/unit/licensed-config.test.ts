import { listLicensedTargets } from '../../src/config/target-list.ts';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGuestApps } from '../../src/guest-apps/build.ts';
import { setIniValue, setBatchBlock } from '../../src/licensed/ini-text.ts';
import { configLocation, configuredImage, loadRetrolabConfig } from '../../src/licensed/licensed-config.ts';
import { makeSetupMedia } from '../../src/licensed/setup-media.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'licensed-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('retrolab.config.json and the environment', () => {
  it('reports every problem as path: message', async () => {
    await writeFile(join(dir, 'retrolab.config.json'), JSON.stringify({ images: { win98: '', 'Win 2000': '/x' }, extra: 1 }));
    const error = await loadRetrolabConfig({ root: dir }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toContain('retrolab.config.json: images.win98: must be a path to a disk image');
    expect(error?.message).toMatch(/retrolab\.config\.json: images.*Win 2000/);
    expect(error?.message).toMatch(/retrolab\.config\.json: .*extra/);
  });

  it('takes every licensed target of vms/, winme and win2000 too, and refuses a name that is none', async () => {
    await writeFile(join(dir, 'retrolab.config.json'), JSON.stringify({ images: { winme: 'me.qcow2', win2000: '2k.qcow2' } }));
    expect(await configuredImage('win2000', { root: dir, env: {} })).toEqual({
      configured: true,
      path: join(dir, '2k.qcow2'),
      from: 'retrolab.config.json images.win2000',
    });
    const missing = await configuredImage('winme', { root: dir, env: { RETROLAB_IMAGE_WINME: '/me.img' } });
    expect(missing).toEqual({ configured: true, path: '/me.img', from: 'RETROLAB_IMAGE_WINME' });
    await writeFile(join(dir, 'retrolab.config.json'), JSON.stringify({ images: { win89: 'x.img', wine: 'y.img' } }));
    const error = await loadRetrolabConfig({ root: dir }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    const known = (await listLicensedTargets()).join(', ');
    expect(known).toContain('win2000, win95, win98, winme, winnt4');
    expect(error?.message.split('\n')).toEqual([
      `retrolab.config.json: images.win89: not a licensed target; use one of ${known}`,
      `retrolab.config.json: images.wine: not a licensed target; use one of ${known}`,
    ]);
  });

  it('the environment variable wins over the file; the file path is relative to the root', async () => {
    await writeFile(join(dir, 'retrolab.config.json'), JSON.stringify({ images: { win98: 'disks/98.img' } }));
    expect(await configuredImage('win98', { root: dir, env: {} })).toEqual({
      configured: true,
      path: join(dir, 'disks/98.img'),
      from: 'retrolab.config.json images.win98',
    });
    expect(await configuredImage('win98', { root: dir, env: { RETROLAB_IMAGE_WIN98: '/elsewhere/98.qcow2' } })).toEqual({
      configured: true,
      path: '/elsewhere/98.qcow2',
      from: 'RETROLAB_IMAGE_WIN98',
    });
    const missing = await configuredImage('winnt4', { root: dir, env: {} });
    expect(missing).toMatchObject({ configured: false });
    expect(missing.configured ? '' : missing.fix).toContain('retrolab image prepare --target winnt4');
  });

  it('RETROLAB_CONFIG moves the file: its messages name it, its relative paths are its folder’s, a missing one is an error', async () => {
    const elsewhere = join(dir, 'elsewhere');
    await mkdir(elsewhere, { recursive: true });
    const file = join(elsewhere, 'lab.json');
    await writeFile(file, JSON.stringify({ images: { win98: 'disks/98.img' } }));
    const env = { RETROLAB_CONFIG: file };
    expect(configLocation({ env })).toEqual({ file, root: elsewhere, shown: file, explicit: true });
    expect(await configuredImage('win98', { env })).toEqual({
      configured: true,
      path: join(elsewhere, 'disks/98.img'),
      from: `${file} images.win98`,
    });
    await writeFile(file, JSON.stringify({ limits: { maxGuestFileMiB: 'lots' } }));
    await expect(loadRetrolabConfig({ env })).rejects.toThrow(`${file}: limits.maxGuestFileMiB: must be a whole number of MiB`);
    await expect(loadRetrolabConfig({ env: { RETROLAB_CONFIG: join(elsewhere, 'none.json') } })).rejects.toThrow(
      `RETROLAB_CONFIG=${join(elsewhere, 'none.json')}: no such file`,
    );
    // A test's own root wins over the variable, so the tests above read their own file whatever the environment says.
    expect(configLocation({ root: dir, env }).file).toBe(join(dir, 'retrolab.config.json'));
  });
});

describe('INI and batch edits', () => {
  it('replaces the first key, drops duplicates, adds a missing key or section, keeps CRLF', () => {
    expect(setIniValue('[Windows]\nRun=a\nrun=b\n[x]\nrun=c\n', 'windows', 'run', 'Z')).toBe('[Windows]\r\nrun=Z\r\n[x]\r\nrun=c\r\n');
    expect(setIniValue('[windows]\r\nload=\r\n', 'windows', 'run', 'Z')).toBe('[windows]\r\nrun=Z\r\nload=\r\n');
    expect(setIniValue('[fonts]\r\n', 'windows', 'run', 'Z')).toBe('[fonts]\r\n[windows]\r\nrun=Z\r\n');
  });

  it('a batch block is replaced, not added twice', () => {
    const once = setBatchBlock('@ECHO OFF\r\n', 'retrolab', ['A']);
    expect(setBatchBlock(once, 'retrolab', ['B'])).toBe('@ECHO OFF\r\nREM retrolab begin\r\nB\r\nREM retrolab end\r\n');
  });
});

describe('setup media', () => {
  it('a 1.44 MB FAT12 floppy and an ISO with the agent, SETUP.BAT, the .reg files and the marker', async () => {
    const [agent] = await buildGuestApps({ only: ['agent'] });
    const media = await makeSetupMedia({ target: 'win95', agentExe: agent!.path, outDir: dir, maxConnections: 30 });
    expect((await readFile(media.floppy)).length).toBe(1440 * 1024);
    const env = { ...process.env, MTOOLS_SKIP_CHECK: '1' };
    const listing = execFileSync('mdir', ['-b', '-i', media.floppy, '::'], { env }).toString();
    for (const name of ['AGENT.EXE', 'SETUP.BAT', 'AUTOSTRT.REG', 'MAXCONN.REG', 'MAXCONND.REG', 'PREPARED.TXT'])
      expect(listing).toContain(`::/${name}`);
    const setup = execFileSync('mcopy', ['-n', '-i', media.floppy, '::/SETUP.BAT', '-'], { env }).toString('latin1');
    expect(setup).toContain('COPY AGENT.EXE C:\\RETROLAB\\AGENT.EXE\r\n');
    expect(setup).toContain('REGEDIT /S AUTOSTRT.REG\r\n');
    expect(setup).toContain('IF NOT EXIST %WINDIR%\\SYSTEM\\WS2_32.DLL REGEDIT /S MAXCONND.REG\r\n');
    expect(execFileSync('mcopy', ['-n', '-i', media.floppy, '::/MAXCONND.REG', '-'], { env }).toString('latin1')).toContain(
      '"MaxConnections"=dword:0000001e',
    );
    expect(execFileSync('mcopy', ['-n', '-i', media.floppy, '::/MAXCONN.REG', '-'], { env }).toString('latin1')).toContain(
      '"MaxConnections"="30"',
    );
    const iso = execFileSync('xorriso', ['-indev', media.iso, '-ls', '/'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
    for (const name of ['AGENT.EXE', 'SETUP.BAT', 'AUTOSTRT.REG', 'PREPARED.TXT']) expect(iso).toContain(`'${name}'`);
  }, 60_000);
});
