// `npm run bench [-- GROUP...] [--runs N] [--list]`: measures the lab's machinery and writes
// results/bench/latest.json (medians with their samples and the load average of each) and a table.
// The groups live in bench/groups.ts; run only on an otherwise idle machine (or inside /work/heavy's slot).
import '../src/util/dispose.ts';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, hostname, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { connectDocker } from '../src/docker/docker-client.ts';
import { errorMessage } from '../src/errors.ts';
import { PROJECT_ROOT } from '../src/util/paths.ts';
import { consoleProgress } from '../src/report/progress.ts';
import type { BenchRow } from './bench-row.ts';
import { BENCH_GROUPS } from './groups.ts';

const RESULTS = join(PROJECT_ROOT, 'results', 'bench', 'latest.json');

function table(rows: BenchRow[]): string {
  const header = ['group', 'target', 'metric', 'median', 'unit', 'goal', 'n', 'load'];
  const cells = rows.map((r) => [
    r.group,
    r.target,
    r.metric,
    String(r.value),
    r.unit,
    r.goal === undefined ? '' : `${r.goal} ${r.met ? 'met' : 'NOT met'}`,
    String(r.samples.length),
    Math.max(...r.load1m).toFixed(1),
  ]);
  const right = new Set([3, 6, 7]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => (right.has(i) ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

function parseArgs(argv: string[]): { only: string[]; runs: number | undefined; list: boolean } {
  const only: string[] = [];
  let runs: number | undefined;
  let list = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--list') list = true;
    else if (arg === '--runs') {
      runs = Number(argv[++i]);
      if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs: "${argv[i]}" is not a whole number of at least 1`);
    } else if (BENCH_GROUPS.some((g) => g.name === arg)) only.push(arg);
    else
      throw new Error(`bench: no group "${arg}"; the groups are ${BENCH_GROUPS.map((g) => g.name).join(', ')} (options: --runs N, --list)`);
  }
  return { only, runs, list };
}

/** The rows of the last results/bench/latest.json, none when there is none (or it is not a bench file). */
async function previousRows(): Promise<BenchRow[]> {
  let text: string;
  try {
    text = await readFile(RESULTS, 'utf8');
  } catch {
    return [];
  }
  const parsed = JSON.parse(text) as { rows?: unknown };
  return Array.isArray(parsed.rows) ? (parsed.rows as BenchRow[]) : [];
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (args.list) {
    for (const g of BENCH_GROUPS) process.stdout.write(`${g.name.padEnd(14)} ${g.describe}\n`);
    return 0;
  }
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort(new Error('interrupted')));
  const onProgress = consoleProgress();
  const startedAt = new Date().toISOString();
  const loadAtStart = loadavg();
  const rows: BenchRow[] = [];
  const failures: { group: string; error: string }[] = [];
  const groups = BENCH_GROUPS.filter((g) => args.only.length === 0 || args.only.includes(g.name));
  {
    await using docker = await connectDocker({ signal: controller.signal });
    for (const group of groups) {
      try {
        const measuredAt = new Date().toISOString();
        const measured = await group.run({ signal: controller.signal, onProgress, docker, runs: args.runs });
        rows.push(...measured.map((r) => ({ ...r, measuredAt })));
      } catch (error) {
        if (controller.signal.aborted) throw error;
        failures.push({ group: group.name, error: errorMessage(error) });
        process.stderr.write(`bench group ${group.name} failed: ${errorMessage(error)}\n`);
      }
    }
  }
  process.stdout.write(`${table(rows)}\n`);
  for (const f of failures) process.stdout.write(`FAILED ${f.group}: ${f.error}\n`);
  await mkdir(dirname(RESULTS), { recursive: true });
  const host = {
    hostname: hostname(),
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    loadAtStart,
    loadAtEnd: loadavg(),
  };
  // Rows of groups this run left out stay from the file before (each says when it was measured), so
  // `npm run bench -- GROUP` updates its own rows without dropping the others'.
  const kept = (await previousRows()).filter((r) => !groups.some((g) => g.name === r.group));
  if (kept.length > 0) process.stdout.write(`kept ${kept.length} row(s) of other groups from ${RESULTS}\n`);
  const report = {
    startedAt,
    finishedAt: new Date().toISOString(),
    groups: groups.map((g) => g.name),
    host,
    rows: [...rows, ...kept],
    failures,
  };
  await writeFile(RESULTS, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`written to ${RESULTS}\n`);
  return failures.length > 0 ? 1 : 0;
}

process.exitCode = await main();
