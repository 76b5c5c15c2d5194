import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { link, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/command-table.ts';
import { parseCommandLine } from '../../src/cli/parse-command-line.ts';
import type { DockerClient } from '../../src/docker/docker-client.ts';
import { ConfigError } from '../../src/errors.ts';
import { buildGuestApps } from '../../src/guest-apps/build.ts';
import { UnsafeOutputError } from '../../src/licensed/errors.ts';
import { installImage } from '../../src/licensed/install-driver.ts';
import { checkOutputPath, imageFilesOf } from '../../src/licensed/output-guard.ts';
import { prepareImage } from '../../src/licensed/prepare-image.ts';
import { makeSetupMedia } from '../../src/licensed/setup-media.ts';
import { makeWin9xDisk } from './licensed-fixtures.ts';

// Every case runs the real prepare (qemu-img, mtools) on real files: the
// refusal must come before anything is written, so the original's checksum
// is compared after each one.

let dir: string;
let agentExe: string;
let image: string;
let imageSha: string;

async function sha(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

async function refusal(promise: Promise<unknown>): Promise<UnsafeOutputError> {
  const error = await promise.then(
    () => new Error('expected a refusal, the call succeeded'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UnsafeOutputError);
  return error as UnsafeOutputError;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'output-guard-'));
  const [built] = await buildGuestApps({ only: ['agent'] });
  agentExe = built!.path;
  await mkdir(join(dir, 'disks'));
  image = join(dir, 'disks', 'w98.img');
  await makeWin9xDisk(image, 16);
  imageSha = await sha(image);
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('image prepare --out never lands on the user image', () => {
  it('through a symlinked folder', async () => {
    const linked = join(dir, 'linked-disks');
    await symlink(join(dir, 'disks'), linked);
    const error = await refusal(prepareImage({ target: 'win98', image, agentExe, out: join(linked, 'w98.img'), force: true }));
    expect(error.message).toContain(
      `is the image (through a symlink: it resolves to ${image}); retrolab never writes it, not even with --force`,
    );
    expect(await sha(image)).toBe(imageSha);
  });

  it('through a symlink to the file itself', async () => {
    const alias = join(dir, 'alias.img');
    await symlink(image, alias);
    await refusal(prepareImage({ target: 'win98', image, agentExe, out: alias, force: true }));
    expect(await sha(image)).toBe(imageSha);
  });

  it('through a hard link', async () => {
    const hard = join(dir, 'hard.img');
    await link(image, hard);
    const error = await refusal(prepareImage({ target: 'win98', image, agentExe, out: hard, force: true }));
    expect(error.message).toContain('(a hard link: same device and inode as');
    expect(await sha(image)).toBe(imageSha);
  });

  it('through a relative path', async () => {
    const error = await refusal(prepareImage({ target: 'win98', image, agentExe, out: relative(process.cwd(), image), force: true }));
    expect(error.message).toContain(`--out ${image}: is the image; retrolab never writes it`);
    expect(await sha(image)).toBe(imageSha);
  });

  it('on a backing file of a qcow2 overlay, and on a VMDK extent', async () => {
    const overlay = join(dir, 'overlay.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', image, '-F', 'raw', overlay]);
    const overlaySha = await sha(overlay);
    const error = await refusal(prepareImage({ target: 'win98', image: overlay, agentExe, out: image, force: true }));
    expect(error.message).toContain(`is a backing file of ${overlay}`);
    expect(await sha(image)).toBe(imageSha);
    expect(await sha(overlay)).toBe(overlaySha);

    const vmdk = join(dir, 'split.vmdk');
    execFileSync('qemu-img', ['create', '-q', '-f', 'vmdk', '-o', 'subformat=twoGbMaxExtentSparse', vmdk, '1M']);
    const files = imageFilesOf(
      vmdk,
      JSON.parse(execFileSync('qemu-img', ['info', '-U', '--backing-chain', '--output=json', vmdk]).toString()),
    );
    expect(files.map((f) => basename(f.path))).toEqual(['split.vmdk', 'split-s001.vmdk']);
  });

  it('an existing file is refused without --force and kept; replaced with --force', async () => {
    const existing = join(dir, 'existing.qcow2');
    await writeFile(existing, 'not yours to lose');
    const error = await refusal(prepareImage({ target: 'win98', image, agentExe, out: existing }));
    expect(error.message).toBe(`--out ${existing}: already exists\n  fix: give --out a new path, or add --force to replace it`);
    expect(await readFile(existing, 'utf8')).toBe('not yours to lose');
    const prepared = await prepareImage({ target: 'win98', image, agentExe, out: existing, force: true });
    expect(prepared.path).toBe(existing);
    expect(JSON.parse(execFileSync('qemu-img', ['info', '--output=json', existing]).toString())).toMatchObject({ format: 'qcow2' });
    expect(await sha(image)).toBe(imageSha);
  }, 60_000);

  it('an existing folder gets <target>-prepared.qcow2 inside it', async () => {
    const folder = join(dir, 'out-folder');
    await mkdir(folder);
    const prepared = await prepareImage({ target: 'win98', image, agentExe, out: folder });
    expect(prepared.path).toBe(join(folder, 'win98-prepared.qcow2'));
    expect((await readdir(folder)).filter((name) => !name.startsWith('.'))).toContain('win98-prepared.qcow2');
    await refusal(prepareImage({ target: 'win98', image, agentExe, out: folder }));
    expect(await sha(image)).toBe(imageSha);
  }, 60_000);

  it('the CLI refuses it even with --force (a ConfigError: exit 2)', async () => {
    const io = { stdout: new PassThrough(), stderr: new PassThrough(), signal: new AbortController().signal };
    const invocation = await parseCommandLine(COMMANDS, [
      'image',
      'prepare',
      '--target',
      'win98',
      '--image',
      image,
      '--out',
      image,
      '--force',
    ]);
    if (invocation.kind !== 'run') throw new Error('expected a command to run');
    const error = await refusal((await invocation.load())(invocation.args, io));
    expect(error.flag).toBe('--out');
    expect(error).toBeInstanceOf(ConfigError);
    expect(await sha(image)).toBe(imageSha);
  }, 60_000);
});

describe('image install and setup-media follow the same rule', () => {
  it('install refuses --out on the install CD before any setup', async () => {
    const iso = join(dir, 'setup.iso');
    await writeFile(iso, Buffer.alloc(64 * 1024));
    const isoSha = await sha(iso);
    const cacheRoot = join(dir, 'install-cache');
    const error = await refusal(
      installImage({
        docker: {} as DockerClient,
        target: 'win98',
        iso,
        answers: { productKey: 'ABCDE-12345' },
        agentExe,
        cacheRoot,
        out: iso,
        force: true,
      }),
    );
    expect(error.message).toContain('is the install CD (--iso)');
    expect(await sha(iso)).toBe(isoSha);
    await expect(readdir(cacheRoot)).rejects.toThrow('ENOENT');
  });

  it('setup-media refuses to replace media in the user folder without --force', async () => {
    const outDir = join(dir, 'media');
    await makeSetupMedia({ target: 'win95', agentExe, outDir });
    const floppy = join(outDir, 'retrolab-win95-setup.img');
    const before = await sha(floppy);
    await refusal(makeSetupMedia({ target: 'win95', agentExe, outDir }));
    expect(await sha(floppy)).toBe(before);
    await makeSetupMedia({ target: 'win95', agentExe, outDir, force: true });
  }, 60_000);

  it('the check alone: a new file in a missing folder is fine, a folder is not', async () => {
    expect(await checkOutputPath(join(dir, 'new', 'deep', 'x.qcow2'), { protect: [{ path: image, role: 'the image' }] })).toBe(
      join(dir, 'new', 'deep', 'x.qcow2'),
    );
    const error = await refusal(checkOutputPath(dir, { protect: [], force: true }));
    expect(error.message).toContain('is a folder');
  });
});
