import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseNetstat } from '../../src/netstat/netstat-parser.ts';
import { entryOf, latestRunResults, retrolabProcess, type CliResult } from '../support/cli-process.ts';

/**
 * `retrolab run` as a user runs it, on the open targets: every scenario on a
 * guest of its own (the connections leak-after-exit leaves behind are not in
 * the next scenario's table), and a patch that reaches the guest and is
 * compared with a stored baseline.
 */

let work: string;

/** `retrolab ARGS` as a process, its results under `resultsRoot`. */
function retrolab(args: string[], resultsRoot: string): Promise<CliResult> {
  return retrolabProcess(args, { env: { RETROLAB_RESULTS: resultsRoot } });
}

/** The guest ends (local address:port) of rows to the peer that still hold a connection. */
function heldToPeer(raw: string, peerPort: number): string[] {
  return parseNetstat(raw)
    .rows.filter(
      (row) =>
        row.proto === 'TCP' &&
        row.foreign.port === peerPort &&
        ['ESTABLISHED', 'CLOSE_WAIT', 'FIN_WAIT_1', 'FIN_WAIT_2'].includes(row.state ?? ''),
    )
    .map((row) => `${row.local.addr}:${row.local.port}`);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'retrolab-isolation-'));
});

/** The patched images the saved-state test made (a patch of its own each run, so never reused): removed even when it fails. */
const madeImages: string[] = [];

afterAll(async () => {
  for (const image of madeImages) await new Promise((resolve) => execFile('docker', ['rmi', '-f', image], resolve));
  await rm(work, { recursive: true, force: true });
});

describe('isolation: leak-after-exit then dup-close in one run', () => {
  // Enough held connections to tell apart from noise; each is a cycle, about 1 s on wine-vm under TCG.
  const CYCLES = 5;

  it.each([
    ['wine', 'container', 7000],
    ['wine-vm', 'saved-state', 7000],
  ] as const)(
    '%s: each scenario on a fresh guest; dup-close starts without the connections leak-after-exit left',
    async (target, start, peerPort) => {
      const resultsRoot = join(work, `results-${target}`);
      const run = await retrolab(
        ['run', '--target', target, '--scenario', 'leak-after-exit', '--scenario', 'dup-close', '--cycles', String(CYCLES)],
        resultsRoot,
      );
      expect(run.code, run.stderr + run.stdout).toBe(0);
      const results = await latestRunResults(resultsRoot);
      const [leak, dup] = [entryOf(results, target, 'leak-after-exit'), entryOf(results, target, 'dup-close')];
      expect(leak.verdict, leak.reason).toBe('pass');
      expect(leak.observed).toBe('leak');
      expect(dup.verdict, dup.reason).toBe('pass');
      expect(dup.observed).toBe('clean');

      expect(leak.guest?.start).toBe(start);
      expect(dup.guest?.start).toBe(start);
      expect(leak.guest?.id).not.toBe(dup.guest?.id);

      // The holder's connections were there after leak-after-exit's program exited...
      const held = heldToPeer(leak.netstat!.after.raw, peerPort);
      expect(held.length, leak.netstat!.after.raw).toBeGreaterThanOrEqual(CYCLES);
      // ...and none of them is in dup-close's first table.
      const before = parseNetstat(dup.netstat!.before.raw).rows.map((row) => `${row.local.addr}:${row.local.port}`);
      expect(before.filter((end) => held.includes(end))).toEqual([]);
      expect(heldToPeer(dup.netstat!.before.raw, peerPort)).toEqual([]);
    },
  );
});

describe('--patch on wine: the files reach the guest, the command runs, the run is compared with a baseline', () => {
  it('records the patch per scenario and finds no change against the baseline it stored', async () => {
    const resultsRoot = join(work, 'results-patch');
    const patchDir = join(work, 'patch');
    await mkdir(patchDir, { recursive: true });
    const nonce = randomBytes(8).toString('hex');
    await writeFile(join(patchDir, 'marker.txt'), `patched ${nonce}\r\n`);
    const baseline = join(work, 'patch-baseline.json');
    // `type` prints the file in the guest's patch folder: its text in the results proves both.
    const args = [
      'run',
      '--target',
      'wine',
      '--scenario',
      'dup-close',
      '--cycles',
      '3',
      '--patch',
      patchDir,
      '--patch-install',
      'type marker.txt',
      '--baseline',
      baseline,
    ];

    const first = await retrolab(args, resultsRoot);
    expect(first.code, first.stderr + first.stdout).toBe(0);
    const entry = entryOf(await latestRunResults(resultsRoot), 'wine', 'dup-close');
    expect(entry.verdict, entry.reason).toBe('pass');
    expect(entry.patch).toMatchObject({ dir: patchDir, files: 1, installCommand: 'type marker.txt', exitCode: 0, appliedTo: 'each-guest' });
    expect(entry.patch?.output).toContain(`patched ${nonce}`);
    expect(entry.patch?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(first.stdout).toContain(`stored this run as the baseline ${baseline}`);

    const second = await retrolab(args, resultsRoot);
    expect(second.code, second.stderr + second.stdout).toBe(0);
    expect(second.stdout).toContain(`no change against ${baseline}`);
    expect(entryOf(await latestRunResults(resultsRoot), 'wine', 'dup-close').patch?.sha256).toBe(entry.patch?.sha256);
  });
});

describe('--patch-when saved-state on wine: installed once, in the image every scenario starts from', () => {
  it('records the one install for every scenario, and the image holds the files and exactly one run of the command', async () => {
    const resultsRoot = join(work, 'results-patch-saved');
    const patchDir = join(work, 'patch-saved');
    await mkdir(patchDir, { recursive: true });
    const nonce = randomBytes(8).toString('hex');
    await writeFile(join(patchDir, 'marker.txt'), `patched ${nonce}\r\n`);
    // Each run of the command adds a line to a file outside the patch folder and prints the file.
    const install = `echo ran ${nonce}>>C:\\patch-runs.txt & type C:\\patch-runs.txt & type marker.txt`;
    // `retrolab run` on wine of `scenarios` with this patch installed once.
    const runPatched = (...scenarios: string[]) =>
      retrolab(
        [
          'run',
          '--target',
          'wine',
          ...scenarios.flatMap((scenario) => ['--scenario', scenario]),
          '--cycles',
          '3',
          '--patch',
          patchDir,
          '--patch-install',
          install,
          '--patch-when',
          'saved-state',
        ],
        resultsRoot,
      );
    const run = await runPatched('dup-close', 'workaround-late-close');
    expect(run.code, run.stderr + run.stdout).toBe(0);
    const results = await latestRunResults(resultsRoot);
    const entries = [entryOf(results, 'wine', 'dup-close'), entryOf(results, 'wine', 'workaround-late-close')];
    for (const entry of entries) if (entry.patch?.savedState) madeImages.push(entry.patch.savedState.id);
    for (const entry of entries) {
      expect(entry.verdict, entry.reason).toBe('pass');
      expect(entry.guest?.start).toBe('container');
      expect(entry.patch).toMatchObject({ files: 1, installCommand: install, exitCode: 0, appliedTo: 'saved-state' });
      expect(entry.patch?.savedState).toMatchObject({ kind: 'image', reused: false });
      // The command ran once before the image was saved: its output shows one run, and the marker.
      expect(entry.patch?.output.match(new RegExp(`ran ${nonce}`, 'g'))).toHaveLength(1);
      expect(entry.patch?.output).toContain(`patched ${nonce}`);
    }
    expect(entries[1]?.patch).toEqual(entries[0]?.patch);
    expect(entries[0]?.guest?.id).not.toBe(entries[1]?.guest?.id);
    // Each scenario's container started from the patched image.
    for (const entry of entries) expect(entry.guest?.from).toBe(entry.patch?.savedState?.id);
    expect(`${run.stdout}${run.stderr}`.match(/installing the patch once/g)).toHaveLength(1);

    // The image the scenarios' containers started from holds the patch folder and one run of the command.
    const image = entries[0]!.patch!.savedState!.id;
    const prefix = '/home/wine/.wine/drive_c';
    const seen = await new Promise<string>((resolve, reject) =>
      execFile(
        'docker',
        [
          'run',
          '--rm',
          '--network',
          'none',
          '--entrypoint',
          'sh',
          image,
          '-c',
          `cat ${prefix}/retrolab/patch/marker.txt ${prefix}/patch-runs.txt`,
        ],
        (error, stdout, stderr) => (error ? reject(new Error(`docker run ${image}: ${stderr}`, { cause: error })) : resolve(stdout)),
      ),
    );
    expect(seen).toContain(`patched ${nonce}`);
    expect(seen.match(new RegExp(`ran ${nonce}`, 'g'))).toHaveLength(1);

    // The same patch on the same wine-runner image: the image is reused, the command does not run again, and the
    // entry keeps the record of the install that made the image.
    const again = await runPatched('dup-close');
    expect(again.code, again.stderr + again.stdout).toBe(0);
    const reused = entryOf(await latestRunResults(resultsRoot), 'wine', 'dup-close');
    expect(reused.verdict, reused.reason).toBe('pass');
    expect(reused.patch).toEqual({ ...entries[0]!.patch, savedState: { kind: 'image', id: image, reused: true } });
    expect(reused.guest?.from).toBe(image);
    expect(`${again.stdout}${again.stderr}`).not.toMatch(/installing the patch once/);
  });
});
