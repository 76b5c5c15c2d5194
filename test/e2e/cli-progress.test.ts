import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runResults } from '../../src/model/run-results.ts';
import { PROJECT_ROOT } from '../../src/util/paths.ts';
import { containersOf } from '../chaos/process-faults.ts';
import { retrolabProcess } from '../support/cli-process.ts';

/**
 * `retrolab run` on wine as a process whose output is a pipe (a CI log, not
 * a terminal): progress lines during a long cycle run, Ctrl-C in the middle
 * of it, and --fail-on-skip with a licensed target that is not configured.
 */

let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'retrolab-cli-progress-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

interface TimedLine {
  at: number;
  line: string;
}

/** Starts the CLI with stdout and stderr piped; every line is kept with the time it arrived. */
function startRetrolab(args: string[]) {
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin/retrolab.js'), ...args], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: TimedLine[] = [];
  const streams = { stdout: '', stderr: '' };
  for (const name of ['stdout', 'stderr'] as const) {
    let partial = '';
    child[name].on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      streams[name] += text;
      partial += text;
      const complete = partial.split('\n');
      partial = complete.pop() ?? '';
      for (const line of complete) lines.push({ at: Date.now(), line });
    });
  }
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, pid: child.pid ?? 0, lines, streams, exited };
}

async function until(predicate: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`gave up after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('retrolab run as a CI log sees it', () => {
  it('prints the cycles every 10 s at most; Ctrl-C then exits 130, removes its container, says so and writes results marked interrupted', async () => {
    const out = join(work, 'interrupted');
    // Far more cycles than the test waits for: the program is still cycling when SIGINT comes.
    const run = startRetrolab(['run', '--target', 'wine', '--scenario', 'dup-close', '--cycles', '5000', '--out', out]);
    const cycleLines = () => run.lines.filter(({ line }) => /^\[wine dup-close\] cycles \d+\/5000 \(\d+ s\)$/.test(line));
    try {
      await until(() => cycleLines().length >= 2, 240_000, 'two progress lines of the cycles');
      const running = await containersOf(run.pid);
      expect(running.length, 'the run has its guest container while it cycles').toBeGreaterThan(0);
    } catch (error) {
      run.child.kill('SIGKILL');
      throw new Error(`${String(error)}\noutput so far:\n${run.streams.stderr}\n${run.streams.stdout}`);
    }

    // Not a terminal: no live line, and one line per 10 s at most for the scope (the first once 5 s have passed).
    expect(run.streams.stderr).not.toContain('\r');
    const [first, second] = cycleLines();
    expect(first!.line).toMatch(/ \((5|6) s\)$/);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(9_000);
    const counts = cycleLines().map(({ line }) => Number(/cycles (\d+)\//.exec(line)?.[1]));
    expect(counts[1]).toBeGreaterThan(counts[0]!);

    run.child.kill('SIGINT');
    const code = await Promise.race([run.exited, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 60_000))]);
    if (code === 'hung') run.child.kill('SIGKILL');
    expect(code, run.streams.stderr).toBe(130);

    const closing =
      /^retrolab: interrupted: removed (\d+) container\(s\) and (\d+) work folder\(s\) \(guest overlays, run folders\) this run still had; wrote (\S+) \(results\.json marked interrupted, 0 entries decided so far\)$/m.exec(
        run.streams.stderr,
      );
    expect(closing, run.streams.stderr).not.toBeNull();
    expect(Number(closing![1])).toBeGreaterThanOrEqual(1);
    expect(Number(closing![2])).toBeGreaterThanOrEqual(1);
    expect(run.streams.stdout.trimEnd().split('\n').at(-1)).toMatch(/^exit 130: interrupted after 0 decided entries/);
    // Removed by the run itself before it exited, not later by the reaper.
    expect(await containersOf(run.pid)).toEqual([]);

    const runId = await readlink(join(out, 'latest'));
    expect(closing![3]).toBe(join(out, runId));
    const results = runResults.parse(JSON.parse(await readFile(join(out, runId, 'results.json'), 'utf8')));
    expect(results.interrupted).toBe(true);
    expect(results.entries).toEqual([]);
  });

  it('--fail-on-skip: a pass and a skipped licensed target exit 1, and the last line says it is the skip', async () => {
    const out = join(work, 'fail-on-skip');
    const result = await retrolabProcess(
      ['run', '--target', 'wine,win98', '--scenario', 'dup-close', '--cycles', '3', '--out', out, '--fail-on-skip'],
      // A path that does not exist: win98 is "not configured" whatever retrolab.config.json says on this machine.
      { env: { RETROLAB_IMAGE_WIN98: join(work, 'no-such-win98.qcow2') } },
    );
    expect(result.code, result.stderr + result.stdout).toBe(1);
    expect(result.stdout.trimEnd().split('\n').at(-1)).toBe('exit 1: 1 skipped scenario(s) with --fail-on-skip (win98 dup-close)');
    const results = runResults.parse(JSON.parse(await readFile(join(out, await readlink(join(out, 'latest')), 'results.json'), 'utf8')));
    expect(results.entries.map((e) => `${e.target}/${e.verdict}`).sort()).toEqual(['win98/skipped', 'wine/pass']);
  });
});
