import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { access, readdir, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { dockerFromEnvironment } from '../../src/docker/docker-client.ts';
import { LABEL, PRODUCT } from '../../src/docker/labels.ts';
import { ledgerDir, openLeftovers, processAlive } from '../../src/util/owner-ledger.ts';
import { PROJECT_ROOT } from '../../src/util/paths.ts';

/**
 * Faults against a real `retrolab run` process: it is killed (SIGINT or
 * SIGKILL) or its QEMU container is killed or frozen mid-scenario, and what
 * it leaves is counted from outside — containers labelled with its pid,
 * work folders and host processes its ledger had open — for 30 s.
 */

export interface RunningCli {
  child: ChildProcess;
  pid: number;
  output: () => string;
  exited: Promise<number | null>;
}

/** Where a run that does not exit writes its Node report (whatHolds). */
export const REPORT_DIR = join(PROJECT_ROOT, 'results', 'chaos');

export function startCli(args: string[], env: Record<string, string> = {}): RunningCli {
  mkdirSync(REPORT_DIR, { recursive: true });
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin/retrolab.js'), ...args], {
    cwd: PROJECT_ROOT,
    // SIGUSR2 makes the run write a Node report: what holds a run that should have ended.
    env: {
      ...process.env,
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --report-on-signal --report-signal=SIGUSR2 --report-directory=${REPORT_DIR}`.trim(),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 + 9 : null))));
  return { child, pid: child.pid ?? 0, output: () => out, exited };
}

/** The exit code, or null when the process did not exit within `ms` (the timer ends with the wait, so it keeps nothing alive). */
export async function exitWithin(cli: RunningCli, ms: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([cli.exited, new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * What keeps a run alive that should have ended: it is asked for a Node report (SIGUSR2), and the report's
 * active, referenced libuv handles (timers, sockets, processes) and its JavaScript stack are summed up.
 */
export async function whatHolds(cli: RunningCli): Promise<string> {
  if (cli.child.exitCode !== null) return 'it has exited';
  const before = new Set(await readdir(REPORT_DIR).catch(() => [] as string[]));
  cli.child.kill('SIGUSR2');
  const found = await waitFor(
    async () => (await readdir(REPORT_DIR).catch(() => [])).some((f) => !before.has(f) && f.includes(`.${cli.pid}.`)),
    5_000,
    100,
  );
  const name = found ? (await readdir(REPORT_DIR)).find((f) => !before.has(f) && f.includes(`.${cli.pid}.`)) : undefined;
  if (!name) return 'no Node report within 5 s';
  const report = JSON.parse(await readFile(join(REPORT_DIR, name), 'utf8')) as {
    javascriptStack?: { stack?: string[] };
    libuv?: {
      type: string;
      is_active?: boolean;
      is_referenced?: boolean;
      localEndpoint?: unknown;
      remoteEndpoint?: unknown;
      firesInMsFromNow?: number;
    }[];
  };
  const held = (report.libuv ?? []).filter((h) => h.is_active && h.is_referenced);
  const counts = new Map<string, number>();
  for (const handle of held) counts.set(handle.type, (counts.get(handle.type) ?? 0) + 1);
  const stack = (report.javascriptStack?.stack ?? []).slice(0, 3).map((line) => line.trim());
  return `its event loop held ${[...counts].map(([type, n]) => `${n} ${type}`).join(', ') || 'nothing active'}${stack.length ? `; stack: ${stack.join(' < ')}` : ''} (${join('results/chaos', name)})`;
}

/** Waits until `predicate` holds, polling; false after `ms`. */
export async function waitFor(predicate: () => Promise<boolean> | boolean, ms: number, everyMs = 250): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await predicate()) return true;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return predicate();
}

/** Containers labelled with `pid` as their owner, on the shared engine or on the one `engine` names. */
export async function containersOf(pid: number, engine?: `unix://${string}`): Promise<{ id: string; image: string }[]> {
  const { docker } = dockerFromEnvironment(engine);
  const found = await docker.listContainers({
    all: true,
    filters: { label: [`${LABEL.product}=${PRODUCT}`, `${LABEL.ownerPid}=${pid}`, `${LABEL.ownerHost}=${hostname()}`] },
  });
  return found.map((c) => ({ id: c.Id, image: c.Image }));
}

/** What the process's ledger has open now (read while it runs: the reaper deletes the ledger). */
export async function ledgerSnapshot(pid: number): Promise<{ paths: string[]; processes: number[] }> {
  const text = await readFile(join(ledgerDir(), `${hostname()}-${pid}.log`), 'utf8').catch(() => '');
  const open = openLeftovers(text);
  return { paths: open.paths, processes: open.processes.map((p) => p.pid) };
}

export interface Leftovers {
  containers: number;
  paths: number;
  processes: number;
  detail: string[];
}

export async function leftoversOf(
  pid: number,
  seen: { paths: Set<string>; processes: Set<number> },
  engine?: `unix://${string}`,
): Promise<Leftovers> {
  const containers = await containersOf(pid, engine);
  const paths: string[] = [];
  for (const path of seen.paths)
    if (
      await access(path).then(
        () => true,
        () => false,
      )
    )
      paths.push(path);
  const processes = [...seen.processes].filter((p) => processAlive(p));
  return {
    containers: containers.length,
    paths: paths.length,
    processes: processes.length,
    detail: [
      ...containers.map((c) => `container ${c.id.slice(0, 12)} (${c.image})`),
      ...paths.map((p) => `folder ${p}`),
      ...processes.map((p) => `process ${p}`),
    ],
  };
}

/** Keeps a union of what the ledger had open while the process ran. */
export function watchLedger(pid: number): { seen: { paths: Set<string>; processes: Set<number> }; stop: () => void } {
  const seen = { paths: new Set<string>(), processes: new Set<number>() };
  const timer = setInterval(() => {
    void ledgerSnapshot(pid).then((open) => {
      for (const p of open.paths) seen.paths.add(p);
      for (const p of open.processes) seen.processes.add(p);
    });
  }, 200);
  return { seen, stop: () => clearInterval(timer) };
}
