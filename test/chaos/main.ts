// `npm run chaos`: fault injection against the real engine and the open
// targets. Each case is a row in results/chaos/latest.json and in the table
// printed at the end. `npm run chaos -- --quick` runs the cases CI runs.
import '../../src/util/dispose.ts';
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { dockerFromEnvironment } from '../../src/docker/docker-client.ts';
import { errorMessage } from '../../src/errors.ts';
import { PROJECT_ROOT, cacheDir } from '../../src/util/paths.ts';
import { makeWin9xDisk } from '../unit/licensed-fixtures.ts';
import { badInputCases, runBadInput } from './bad-inputs.ts';
import { fuzzAgentReceive, MUTANTS } from './agent-receive.ts';
import { fuzzFrameDecoder, type FuzzReport } from './frame-fuzz.ts';
import { containersOf, exitWithin, leftoversOf, startCli, waitFor, watchLedger, whatHolds } from './process-faults.ts';
import { startPrivateEngine, type PrivateEngine } from './private-engine.ts';
import { RUNNER_IMAGES } from '../../src/docker/image-names.ts';
import type { RunResults } from '../../src/model/run-results.ts';

export interface ChaosRow {
  case: string;
  ok: boolean;
  /** What was measured, in a few words (leftovers, exit code, time to detection). */
  result: string;
  durationMs: number;
}

interface ChaosContext {
  work: string;
  userImage: string;
}

interface ChaosCase {
  name: string;
  quick: boolean;
  run(context: ChaosContext): Promise<Omit<ChaosRow, 'case' | 'durationMs'>>;
}

const LEFTOVER_WINDOW_MS = 30_000;
const BAD_INPUTS_AT_ONCE = 4;
/** How long a second Ctrl-C may take to end the run (it leaves at once; the reaper does the rest). */
const SECOND_SIGNAL_EXIT_MS = 5_000;
/** How long a run gets to exit after its fault before it counts as hung. */
const EXIT_WINDOW_MS = 120_000;

let hostFuzzReport: FuzzReport | undefined;
/** The FrameDecoder fuzz, run once: the agent's receiver is compared with it event for event. */
function hostFuzz(): FuzzReport {
  hostFuzzReport ??= fuzzFrameDecoder(100_000);
  return hostFuzzReport;
}

function fuzzSummary(report: FuzzReport): string {
  return `${report.framesDecoded}/${report.framesSent} sound frames decoded once, ${report.rejected}/${report.rejectedSent} bad headers rejected, ${report.corrupt} corrupt (${report.damagedSent} damaged sent)`;
}

function failuresOf(report: FuzzReport): string {
  return report.failures.length ? `; ${report.failures.length} failure(s): ${report.failures.slice(0, 3).join('; ')}` : ', 0 failures';
}
const WINE_RUN = ['run', '--target', 'wine', '--scenario', 'dup-close', '--cycles', '3'];
const WINE_VM_RUN = ['run', '--target', 'wine-vm', '--scenario', 'dup-close', '--cycles', '3'];

/** Starts a run, waits until it has a container and `ready` holds, applies the fault, and counts what is left 30 s later. */
async function killMidScenario(
  args: string[],
  fault: (pid: number) => Promise<void> | void,
  ready: (output: string) => boolean,
  options: { engine?: PrivateEngine } = {},
) {
  const engine = options.engine?.host;
  const cli = startCli(args, engine ? { DOCKER_HOST: engine } : {});
  const ledger = watchLedger(cli.pid);
  try {
    const started = await waitFor(async () => (await containersOf(cli.pid, engine)).length > 0 && ready(cli.output()), 600_000, 500);
    if (!started)
      return {
        ok: false,
        result: `the run never reached the fault point: ${cli.output().slice(-300)}`,
        exit: null as number | null,
        exitMs: null as number | null,
        output: cli.output(),
        pid: cli.pid,
      };
    await fault(cli.pid);
    const faulted = Date.now();
    const exit = await exitWithin(cli, EXIT_WINDOW_MS);
    const exitMs = exit === null ? null : Date.now() - faulted;
    const held = exit === null ? `; did not exit within ${EXIT_WINDOW_MS / 1000} s of the fault: ${await whatHolds(cli)}` : '';
    const clean = await waitFor(
      async () => {
        const left = await leftoversOf(cli.pid, ledger.seen, engine);
        return left.containers + left.paths + left.processes === 0;
      },
      LEFTOVER_WINDOW_MS,
      1_000,
    );
    const left = await leftoversOf(cli.pid, ledger.seen, engine);
    return {
      ok: clean,
      result: `${left.containers + left.paths + left.processes} left after 30 s (watched ${ledger.seen.paths.size} folder(s), ${ledger.seen.processes.size} process(es))${left.detail.length ? `: ${left.detail.join(', ')}` : ''}${held}`,
      exit,
      exitMs,
      output: cli.output(),
      pid: cli.pid,
    };
  } finally {
    ledger.stop();
    if (cli.child.exitCode === null) cli.child.kill('SIGKILL');
  }
}

function vitestCase(file: string, filter?: string): Promise<{ ok: boolean; result: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(PROJECT_ROOT, 'node_modules/vitest/vitest.mjs'), 'run', '--project', 'integration', file, ...(filter ? ['-t', filter] : [])],
      { cwd: PROJECT_ROOT, maxBuffer: 64 * 1024 * 1024, timeout: 20 * 60_000 },
      (error, stdout) => {
        // eslint-disable-next-line no-control-regex -- vitest colours its summary with ANSI escapes
        const tests = /Tests\s+(.*)/.exec(stdout.replace(/\u001b\[[0-9;]*m/g, ''))?.[1]?.trim() ?? 'no summary';
        resolve({ ok: !error, result: `${file.split('/').pop()}${filter ? ` -t "${filter}"` : ''}: ${tests}` });
      },
    );
  });
}

const CASES: ChaosCase[] = [
  {
    name: 'bad inputs (CLI, config, images, NETSTAT text, patch names)',
    quick: true,
    async run({ work }) {
      // Each is a CLI process that mostly waits for its own start-up: a few at a time (29 in a row took 122 s of npm test's time under load).
      const cases = await badInputCases(join(work, 'bad-inputs'));
      const results: Awaited<ReturnType<typeof runBadInput>>[] = [];
      for (let at = 0; at < cases.length; at += BAD_INPUTS_AT_ONCE)
        results.push(...(await Promise.all(cases.slice(at, at + BAD_INPUTS_AT_ONCE).map(runBadInput))));
      const bad = results.filter((r) => !r.ok);
      return {
        ok: bad.length === 0 && results.length >= 20,
        result: `${results.length - bad.length}/${results.length} one-line error, right exit code, no stack trace${bad.length ? `; failed: ${bad.map((b) => `${b.name} (${b.problem})`).join('; ')}` : ''}`,
      };
    },
  },
  {
    name: 'FrameDecoder fuzz, 100,000 inputs',
    quick: true,
    run() {
      const report = hostFuzz();
      return Promise.resolve({
        ok: report.failures.length === 0 && report.framesDecoded === report.framesSent,
        result: `${fuzzSummary(report)}, max buffered ${report.maxBuffered} B${failuresOf(report)}`,
      });
    },
  },
  {
    name: "agent's receive loop built for the host (gcc, ASan+UBSan), 100,000 inputs",
    quick: true,
    async run() {
      const report = await fuzzAgentReceive(100_000);
      const same = report.eventDigest === hostFuzz().eventDigest;
      const caught: string[] = [];
      for (const mutant of MUTANTS) if ((await fuzzAgentReceive(5_000, { mutant })).failures.length > 0) caught.push(mutant.name);
      return {
        ok: report.failures.length === 0 && report.framesDecoded === report.framesSent && same && caught.length === MUTANTS.length,
        result:
          `${fuzzSummary(report)}, held at most ${report.maxHeld} B, read room at least ${report.minRoom} B, ` +
          `${same ? 'events identical to the FrameDecoder' : 'events DIFFER from the FrameDecoder'}, ` +
          `${caught.length}/${MUTANTS.length} planted bugs caught${failuresOf(report)}`,
      };
    },
  },
  {
    name: 'SIGKILL of retrolab mid-scenario (wine)',
    quick: true,
    async run() {
      const outcome = await killMidScenario(
        WINE_RUN,
        (pid) => void process.kill(pid, 'SIGKILL'),
        (out) => /NETSTAT before|cycles against/.test(out),
      );
      return { ok: outcome.ok, result: outcome.result };
    },
  },
  {
    name: 'SIGINT of retrolab mid-scenario (wine)',
    quick: false,
    async run() {
      const outcome = await killMidScenario(
        WINE_RUN,
        (pid) => void process.kill(pid, 'SIGINT'),
        (out) => /NETSTAT before|cycles against/.test(out),
      );
      return { ok: outcome.ok && outcome.exit === 130, result: `exit ${outcome.exit}; ${outcome.result}` };
    },
  },
  {
    name: 'a second SIGINT mid-scenario (wine), 20 ms after the first: out at once, the reaper removes the rest',
    quick: false,
    async run() {
      const outcome = await killMidScenario(
        WINE_RUN,
        async (pid) => {
          process.kill(pid, 'SIGINT');
          // Soon enough to land in the first one's cleanup (a wine run's took 0.3 s here), late enough to be a second signal.
          await new Promise((resolve) => setTimeout(resolve, 20));
          process.kill(pid, 'SIGINT');
        },
        (out) => /NETSTAT before|cycles against/.test(out),
      );
      const said = /SIGINT again: leaving now/.test(outcome.output);
      const prompt = outcome.exitMs !== null && outcome.exitMs <= SECOND_SIGNAL_EXIT_MS;
      return {
        ok: outcome.ok && outcome.exit === 130 && said && prompt,
        result: `exit ${outcome.exit} ${outcome.exitMs === null ? '' : `${(outcome.exitMs / 1000).toFixed(1)} s after the second SIGINT`}${said ? '' : ' (no "leaving now" line)'}; ${outcome.result}`,
      };
    },
  },
  {
    name: 'a whole matrix run (wine, every scenario): no MaxListenersExceededWarning, nothing left',
    quick: false,
    async run({ work }) {
      const cli = startCli(['lab', '--target', 'wine', '--cycles', '3', '--out', join(work, 'whole-matrix')]);
      const ledger = watchLedger(cli.pid);
      const exit = await cli.exited;
      ledger.stop();
      const warned = /MaxListenersExceededWarning/.test(cli.output());
      const left = await leftoversOf(cli.pid, ledger.seen);
      const count = left.containers + left.paths + left.processes;
      const entries = (await readResults(join(work, 'whole-matrix')))?.entries ?? [];
      const others = entries.filter((e) => e.verdict !== 'pass');
      return {
        ok: exit === 0 && !warned && count === 0 && entries.length > 1 && others.length === 0,
        result:
          `exit ${exit}, ${entries.length - others.length}/${entries.length} scenarios passed, ${warned ? 'a listener warning' : 'no listener warning'}, ${count} left` +
          others.map((e) => `; ${e.scenario} ${e.verdict}: "${firstLine(e.reason)}"`).join(''),
      };
    },
  },
  {
    name: 'QEMU killed mid-scenario (wine-vm): qemu-system-i386 inside the container gets SIGKILL',
    quick: false,
    async run({ work }) {
      const out = join(work, 'qemu-killed');
      const killed: string[] = [];
      const outcome = await killMidScenario(
        [...WINE_VM_RUN, '--scenario', 'close-order', '--out', out],
        async (pid) => {
          const { docker } = dockerFromEnvironment();
          for (const c of await containersOf(pid)) {
            if (!c.image.includes('qemu-runner')) continue;
            // top lists the container's processes by their pid on this host: the run's own QEMU, nothing else.
            const top = (await docker.getContainer(c.id).top({ ps_args: '-eo pid,args' })) as { Processes?: string[][] };
            for (const [hostPid, command] of top.Processes ?? []) {
              // The program itself, not docker-init, whose arguments name it too.
              const program = command?.split(' ')[0] ?? '';
              if (!program.endsWith('/qemu-system-i386') && program !== 'qemu-system-i386') continue;
              process.kill(Number(hostPid), 'SIGKILL');
              killed.push(`${hostPid} (${program})`);
            }
          }
        },
        (output) => /wine-vm dup-close/.test(output) && /NETSTAT before|cycles against/.test(output),
      );
      const results = await readResults(out);
      const killedEntry = results?.entries.find((e) => e.target === 'wine-vm' && e.scenario === 'dup-close');
      const next = results?.entries.find((e) => e.target === 'wine-vm' && e.scenario === 'close-order');
      const named = killedEntry?.verdict === 'infra-error' && /QEMU/.test(killedEntry.reason);
      const fresh =
        next !== undefined &&
        next.verdict !== 'infra-error' &&
        next.guest !== undefined &&
        next.guest.start !== 'reused' &&
        next.guest.id !== killedEntry?.guest?.id;
      return {
        ok: killed.length > 0 && outcome.ok && outcome.exit === 3 && named && fresh,
        result:
          `killed ${killed.join(', ') || 'nothing (no QEMU found)'}; exit ${outcome.exit}; dup-close ${killedEntry?.verdict ?? 'missing'}` +
          `${named ? ' naming QEMU' : ''}: "${firstLine(killedEntry?.reason)}"; ` +
          `close-order ${next?.verdict ?? 'missing'} on ${fresh ? `a fresh guest (${next.guest?.start})` : 'NOT a fresh guest'}; ${outcome.result}`,
      };
    },
  },
  {
    name: 'guest frozen (QMP stop) mid-scenario (wine-vm)',
    quick: false,
    run: () => vitestCase('test/integration/silence-budget.test.ts'),
  },
  {
    name: 'garbage and damage on the serial line (wine agent)',
    quick: false,
    run: () => vitestCase('test/integration/agent-wine.test.ts', 'corrupted|runs once|replays|garbage'),
  },
  {
    name: 'cache disk full (RETROLAB_CACHE on a 64 MiB tmpfs, prepare --target wine-vm)',
    quick: false,
    async run({ work }) {
      const mount = join(work, 'small-cache');
      await mkdir(mount, { recursive: true });
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', mount]);
      } catch (error) {
        return { ok: false, result: `cannot mount a tmpfs here (needs root): ${errorMessage(error).slice(0, 100)}` };
      }
      try {
        // mingw: Open Watcom would be unpacked into the cache first; the guest disk (~400 MiB of Wine) is what must not fit.
        const cli = startCli(['prepare', '--target', 'wine-vm', '--toolchain', 'mingw'], {
          RETROLAB_CACHE: mount,
          RETROLAB_TOOLCHAIN: 'mingw',
        });
        const exit = await cli.exited;
        const errors = cli
          .output()
          .split('\n')
          .filter((l) => l.startsWith('retrolab:'));
        const line = errors[0] ?? '';
        const clear = /no space left on device|ENOSPC/i.test(line) && errors.length === 1 && !/^\s+at /m.test(cli.output());
        // What the failed build left: anything but the owner ledgers (which the reaper removes as its owner's last act).
        const left = await waitFor(
          async () => (await filesUnder(mount)).filter((f) => !f.startsWith('owners/')).length === 0,
          30_000,
          1_000,
        );
        const leftovers = (await filesUnder(mount)).filter((f) => !f.startsWith('owners/'));
        return {
          ok: exit !== 0 && clear && left,
          result: `exit ${exit}: ${line.slice(0, 160)}; ${leftovers.length} partial file(s) left${leftovers.length ? `: ${leftovers.slice(0, 3).join(', ')}` : ''}`,
        };
      } finally {
        // The run's reaper keeps its log open on the tmpfs until it has finished its owner's sweep.
        const unmounted = await waitFor(
          () => {
            try {
              execFileSync('umount', [mount], { stdio: 'ignore' });
              return true;
            } catch {
              return false;
            }
          },
          30_000,
          500,
        );
        if (!unmounted) execFileSync('umount', ['-l', mount]);
      }
    },
  },
  {
    name: 'dockerd restarted mid-run (wine, on a private engine)',
    quick: false,
    async run({ work }) {
      const engine = await startPrivateEngine([RUNNER_IMAGES.wine]);
      try {
        const out = join(work, 'dockerd-restart');
        let downMs = 0;
        // Mid-cycles (the progress line comes after 5 s of them): the runner then polls the program's output, and
        // once read every failed poll as "not written yet", so it waited out the program's 600 s on a dead line.
        const outcome = await killMidScenario(
          [...WINE_RUN.slice(0, -1), '200', '--out', out],
          async () => {
            downMs = (await engine.restart()).downMs;
          },
          (output) => /cycles \d+\/200/.test(output),
          { engine },
        );
        const results = await readResults(out);
        const entry = results?.entries.find((e) => e.target === 'wine' && e.scenario === 'dup-close');
        const infra = entry?.verdict === 'infra-error';
        // The next run on the restarted engine: it must sweep what is left and pass on a clean start.
        const next = startCli([...WINE_RUN, '--out', join(work, 'after-restart')], { DOCKER_HOST: engine.host });
        const nextLedger = watchLedger(next.pid);
        const nextExit = await next.exited;
        nextLedger.stop();
        const nextResults = await readResults(join(work, 'after-restart'));
        const nextEntry = nextResults?.entries.find((e) => e.target === 'wine' && e.scenario === 'dup-close');
        const nextLeft = await leftoversOf(next.pid, nextLedger.seen, engine.host);
        const firstLeft = await containersOf(outcome.pid, engine.host);
        const nextCount = nextLeft.containers + nextLeft.paths + nextLeft.processes;
        return {
          ok:
            outcome.exit === 3 &&
            infra &&
            outcome.ok &&
            nextExit === 0 &&
            nextEntry?.verdict === 'pass' &&
            nextCount === 0 &&
            firstLeft.length === 0,
          result:
            `engine down ${(downMs / 1000).toFixed(1)} s; exit ${outcome.exit}, dup-close ${entry?.verdict ?? 'missing'}: "${firstLine(entry?.reason)}"; ${outcome.result}; ` +
            `next run: exit ${nextExit}, dup-close ${nextEntry?.verdict ?? 'missing'}, ${nextCount + firstLeft.length} left`,
        };
      } finally {
        await engine.stop();
      }
    },
  },
];

function firstLine(text: string | undefined): string {
  return (text ?? '').split('\n')[0]!.slice(0, 120);
}

async function readResults(out: string): Promise<RunResults | undefined> {
  try {
    return JSON.parse(await readFile(join(out, 'latest', 'results.json'), 'utf8')) as RunResults;
  } catch {
    return undefined;
  }
}

/** Every file under `dir`, relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => !e.isDirectory()).map((e) => relative(dir, join(e.parentPath, e.name)));
}

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function goldenImages(): Promise<string[]> {
  const root = join(cacheDir(), 'wine-vm');
  const found: string[] = [];
  for (const name of await readdir(root).catch(() => [] as string[])) {
    if (name.includes('.partial')) continue;
    found.push(join(root, name, 'root.qcow2'));
  }
  return found;
}

export async function runChaos(options: { quick: boolean; only?: RegExp }): Promise<ChaosRow[]> {
  const work = await mkdtemp(join(tmpdir(), 'retrolab-chaos-'));
  const userImage = join(work, 'user-win98.img');
  await makeWin9xDisk(userImage, 16);
  const watched = [userImage, ...(await goldenImages())];
  const sums = new Map<string, string>();
  for (const file of watched) sums.set(file, await sha256(file).catch(() => 'missing'));
  const rows: ChaosRow[] = [];
  try {
    for (const entry of CASES) {
      if (options.quick && !entry.quick) continue;
      if (options.only && !options.only.test(entry.name)) continue;
      const started = Date.now();
      process.stderr.write(`chaos: ${entry.name} ...\n`);
      let row: ChaosRow;
      try {
        row = { case: entry.name, ...(await entry.run({ work, userImage })), durationMs: Date.now() - started };
      } catch (error) {
        row = {
          case: entry.name,
          ok: false,
          result: `the case itself failed: ${errorMessage(error).slice(0, 300)}`,
          durationMs: Date.now() - started,
        };
      }
      const changed: string[] = [];
      for (const [file, sum] of sums) if ((await sha256(file).catch(() => 'missing')) !== sum) changed.push(file);
      if (changed.length > 0) row = { ...row, ok: false, result: `${row.result}; CHANGED: ${changed.join(', ')}` };
      rows.push(row);
      process.stderr.write(`chaos: ${row.ok ? 'ok' : 'FAILED'}: ${row.result}\n`);
    }
    rows.push({
      case: `user and golden images unchanged (sha256 after every case, ${watched.length} file(s))`,
      ok: rows.every((r) => !r.result.includes('CHANGED:')),
      result: `${rows.filter((r) => !r.result.includes('CHANGED:')).length}/${rows.length} cases left them unchanged`,
      durationMs: 0,
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return rows;
}

export function formatChaosTable(rows: ChaosRow[]): string {
  const lines = ['| case | result | measured | time |', '|---|---|---|---|'];
  for (const row of rows)
    lines.push(
      `| ${row.case} | ${row.ok ? 'ok' : '**FAILED**'} | ${row.result.replaceAll('|', '\\|').replaceAll('\n', ' ')} | ${(row.durationMs / 1000).toFixed(1)} s |`,
    );
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.argv.includes('--quick');
  const onlyAt = process.argv.indexOf('--only');
  const only = onlyAt > 0 && process.argv[onlyAt + 1] ? new RegExp(process.argv[onlyAt + 1]!, 'i') : undefined;
  const started = Date.now();
  const rows = await runChaos({ quick, only });
  const file = join(PROJECT_ROOT, 'results', 'chaos', 'latest.json');
  await mkdir(join(PROJECT_ROOT, 'results', 'chaos'), { recursive: true });
  await writeFile(
    file,
    `${JSON.stringify({ finishedAt: new Date().toISOString(), durationMs: Date.now() - started, quick, rows }, null, 2)}\n`,
  );
  process.stdout.write(
    `\n${formatChaosTable(rows)}\n\n${rows.filter((r) => r.ok).length}/${rows.length} ok in ${((Date.now() - started) / 60_000).toFixed(1)} min; ${file}\n`,
  );
  process.exitCode = rows.every((r) => r.ok) ? 0 : 1;
}
