import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/util/paths.ts';

/**
 * Bad input given to the real CLI (a new process each): flags, config,
 * images, NETSTAT text, patch folders. Each must end with the expected exit
 * code, an error whose first line starts with `retrolab:` and stays short,
 * and no stack trace — whatever the input.
 */

export interface BadInputCase {
  name: string;
  args: string[];
  exitCode: number;
  /** Text the first line of stderr must contain. */
  says: string;
  env?: Record<string, string>;
}

export interface BadInputResult extends BadInputCase {
  ok: boolean;
  gotExit: number | null;
  firstLine: string;
  problem?: string;
}

export async function badInputCases(dir: string): Promise<BadInputCase[]> {
  await mkdir(dir, { recursive: true });
  const text = join(dir, 'not-a-disk.img');
  await writeFile(text, 'hello, I am not a disk image\n');
  const garbage = join(dir, 'garbage-netstat.txt');
  await writeFile(garbage, `${'\u0000\u00ff'.repeat(10)}${'x'.repeat(500_000)}`);
  const huge = join(dir, 'huge-netstat.txt');
  await writeFile(huge, Buffer.alloc(17 * 1024 * 1024, 0x20));
  const badPatch = join(dir, 'bad-patch');
  await mkdir(badPatch, { recursive: true });
  await writeFile(join(badPatch, 'CON.DLL'), 'x');
  const disk = join(dir, 'disk.img');
  await writeFile(disk, Buffer.alloc(1024 * 1024));
  // retrolab.config.json, moved with RETROLAB_CONFIG so that the checkout's own stays as it is.
  const config = async (name: string, text: string) => {
    await writeFile(join(dir, name), text);
    return { RETROLAB_CONFIG: join(dir, name) };
  };
  const wineRun = ['run', '--target', 'wine', '--scenario', 'dup-close'];
  return [
    { name: 'unknown command', args: ['frobnicate'], exitCode: 2, says: 'unknown command' },
    { name: 'lab: unknown target', args: ['lab', '--target', 'win3.11'], exitCode: 2, says: '--target' },
    { name: 'lab: unknown scenario', args: ['lab', '--scenario', 'nope'], exitCode: 2, says: '--scenario' },
    { name: 'lab: --cycles 0', args: ['lab', '--cycles', '0'], exitCode: 2, says: '--cycles' },
    { name: 'lab: --tolerance 5', args: ['lab', '--tolerance', '5'], exitCode: 2, says: '--tolerance' },
    { name: 'lab: unknown flag', args: ['lab', '--frobnicate'], exitCode: 2, says: 'frobnicate' },
    {
      name: 'lab: --patch missing folder',
      args: ['run', '--target', 'wine', '--scenario', 'dup-close', '--patch', join(dir, 'none')],
      exitCode: 2,
      says: 'not a folder',
    },
    {
      name: 'lab: patch file named CON.DLL',
      args: ['run', '--target', 'wine', '--scenario', 'dup-close', '--patch', badPatch],
      exitCode: 2,
      says: 'DOS device name',
    },
    { name: 'lab: a 10 kB flag value', args: ['lab', '--target', 'x'.repeat(10_000)], exitCode: 2, says: 'more characters' },
    { name: 'netstat parse: missing file', args: ['netstat', 'parse', join(dir, 'none.txt')], exitCode: 2, says: 'cannot read it' },
    { name: 'netstat parse: binary garbage', args: ['netstat', 'parse', garbage], exitCode: 2, says: 'more characters' },
    { name: 'netstat parse: 17 MiB file', args: ['netstat', 'parse', huge], exitCode: 2, says: 'over the limit' },
    { name: 'netstat parse: bad --format', args: ['netstat', 'parse', garbage, '--format', 'xml'], exitCode: 2, says: '--format' },
    { name: 'image: unknown subcommand', args: ['image', 'polish'], exitCode: 2, says: 'image subcommand' },
    { name: 'image prepare: no --image', args: ['image', 'prepare', '--target', 'win98'], exitCode: 2, says: '--image' },
    { name: 'image prepare: unknown target', args: ['image', 'prepare', '--target', 'win99', '--image', disk], exitCode: 2, says: 'win99' },
    {
      name: 'image prepare: missing image',
      args: ['image', 'prepare', '--target', 'win98', '--image', join(dir, 'none.img')],
      exitCode: 2,
      says: 'no such file',
    },
    {
      name: 'image prepare: a text file as image',
      args: ['image', 'prepare', '--target', 'win98', '--image', text, '--out', join(dir, 'o.qcow2')],
      exitCode: 2,
      says: text,
    },
    {
      name: 'image prepare: --out is the image',
      args: ['image', 'prepare', '--target', 'win98', '--image', disk, '--out', disk, '--force'],
      exitCode: 2,
      says: 'never writes it',
    },
    {
      name: 'image prepare: newline in --password',
      args: ['image', 'prepare', '--target', 'winnt4', '--image', disk, '--user', 'a', '--password', 'x\r\ny'],
      exitCode: 2,
      says: '--password',
    },
    {
      name: 'image prepare: --max-connections abc',
      args: ['image', 'prepare', '--target', 'win98', '--image', disk, '--max-connections', 'abc'],
      exitCode: 2,
      says: '--max-connections',
    },
    {
      name: 'image install: no --iso',
      args: ['image', 'install', '--target', 'win98', '--product-key', 'ABCDE-12345'],
      exitCode: 2,
      says: '--iso',
    },
    {
      name: 'image install: --disk-size-mb lots',
      args: ['image', 'install', '--target', 'win95', '--iso', text, '--product-key', 'ABCDE-12345', '--disk-size-mb', 'lots'],
      exitCode: 2,
      says: '--disk-size-mb',
    },
    { name: 'images: unknown subcommand', args: ['images', 'burn'], exitCode: 2, says: 'images subcommand' },
    {
      name: 'config: not JSON',
      args: wineRun,
      env: await config('not-json.json', '{ "images": { "win98": "98.img", } '),
      exitCode: 2,
      says: `${join(dir, 'not-json.json')}: not valid JSON`,
    },
    {
      name: 'config: unknown key',
      args: wineRun,
      env: await config('unknown-key.json', JSON.stringify({ imagez: { win98: '98.img' } })),
      exitCode: 2,
      says: `${join(dir, 'unknown-key.json')}: Unrecognized key: "imagez"`,
    },
    {
      name: 'config: wrong type',
      args: wineRun,
      env: await config('wrong-type.json', JSON.stringify({ limits: { maxGuestFileMiB: 'lots' } })),
      exitCode: 2,
      says: `${join(dir, 'wrong-type.json')}: limits.maxGuestFileMiB: must be a whole number of MiB`,
    },
    {
      name: 'config: a target that is not licensed',
      args: wineRun,
      env: await config('not-licensed.json', JSON.stringify({ images: { win89: '89.img' } })),
      exitCode: 2,
      says: `${join(dir, 'not-licensed.json')}: images.win89: not a licensed target`,
    },
    {
      name: 'config: RETROLAB_CONFIG names no file',
      args: wineRun,
      env: { RETROLAB_CONFIG: join(dir, 'none.json') },
      exitCode: 2,
      says: `RETROLAB_CONFIG=${join(dir, 'none.json')}: no such file`,
    },
  ];
}

export function runBadInput(entry: BadInputCase): Promise<BadInputResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(PROJECT_ROOT, 'bin/retrolab.js'), ...entry.args],
      { cwd: PROJECT_ROOT, env: { ...process.env, ...entry.env, DEBUG: '' }, maxBuffer: 64 * 1024 * 1024, timeout: 120_000 },
      (error, _stdout, stderr) => {
        const gotExit = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        // Progress lines (a guest build reused) may come first; the error is the line retrolab: starts.
        const firstLine = stderr.split('\n').find((line) => line.startsWith('retrolab:')) ?? '';
        const problems: string[] = [];
        if (gotExit !== entry.exitCode) problems.push(`exit ${gotExit}, expected ${entry.exitCode}`);
        if (!firstLine) problems.push(`no "retrolab:" error line in stderr: ${stderr.slice(0, 120)}`);
        if (!firstLine.includes(entry.says)) problems.push(`the error does not say "${entry.says}"`);
        if (firstLine.length > 600) problems.push(`the first line is ${firstLine.length} characters`);
        if (/^\s+at .+:\d+:\d+\)?$/m.test(stderr)) problems.push('a stack trace');
        if (stderr.length > 20_000) problems.push(`stderr is ${stderr.length} characters`);
        resolve({
          ...entry,
          ok: problems.length === 0,
          gotExit,
          firstLine: firstLine.slice(0, 200),
          ...(problems.length ? { problem: problems.join('; ') } : {}),
        });
      },
    );
  });
}
