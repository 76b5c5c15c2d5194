import { appendFileSync, mkdirSync, readFileSync, unlinkSync } from 'node:fs';
import { readdir, readFile, rm, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { cacheDir } from './paths.ts';

/**
 * What this process has on the host that must not outlive it: work folders,
 * partial files, child processes. Each is written to a ledger file
 * (`.cache/owners/<host>-<pid>.log`, one JSON line per change) the moment it
 * exists, so that whoever finds this process dead — its reaper within
 * seconds, or the next command's sweep — knows exactly what to remove. A
 * killed `image prepare` once left a 3.4 GB `.prepare-*` folder and a running
 * qemu-img behind; nothing on disk said whose they were.
 */

type LedgerLine =
  | { op: 'owner'; pid: number; host: string; startTime: string | undefined }
  | { op: '+path' | '-path'; path: string }
  | { op: '+pid' | '-pid'; pid: number; startTime: string | undefined };

export interface LeftoverSet {
  paths: string[];
  processes: { pid: number; startTime: string | undefined }[];
}

export function ledgerDir(): string {
  return join(cacheDir(), 'owners');
}

/** The kernel's start time of a process (/proc/PID/stat field 22): a pid plus this names one process, not a reused pid. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** True while `pid` runs and is still the process that started at `startTime` (when known). */
export function processAlive(pid: number, startTime?: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  let fields: string[];
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return true; // No /proc: the signal test is all there is.
  }
  // A zombie has ended; it only waits for a parent (often none that reaps) to collect it.
  if (fields[0] === 'Z' || fields[0] === 'X') return false;
  return startTime === undefined || fields[19] === startTime;
}

let ledgerFile: string | undefined;
let open = 0;

function ensureLedger(): string {
  if (ledgerFile) return ledgerFile;
  mkdirSync(ledgerDir(), { recursive: true });
  const file = join(ledgerDir(), `${hostname()}-${process.pid}.log`);
  appendFileSync(
    file,
    `${JSON.stringify({ op: 'owner', pid: process.pid, host: hostname(), startTime: processStartTime(process.pid) })}\n`,
  );
  ledgerFile = file;
  // A process that ends with nothing open leaves no ledger behind.
  process.once('exit', () => {
    if (open !== 0) return;
    try {
      unlinkSync(file);
    } catch {
      // Already swept.
    }
  });
  return file;
}

function write(line: LedgerLine): void {
  appendFileSync(ensureLedger(), `${JSON.stringify(line)}\n`);
}

/** This process's ledger file (created on first use), for its reaper. */
export function ownLedgerFile(): string {
  return ensureLedger();
}

/** Writes the opening line now and returns a release that writes the closing one, once. */
function track(opened: LedgerLine, closed: LedgerLine): () => void {
  write(opened);
  open++;
  let done = false;
  return () => {
    if (done) return;
    done = true;
    open--;
    write(closed);
  };
}

let releasedPaths = 0;

/** Records a work folder or partial file; call the returned function once it is removed or handed to the user. */
export function trackPath(path: string): () => void {
  const release = track({ op: '+path', path }, { op: '-path', path });
  let released = false;
  return () => {
    if (!released) releasedPaths++;
    released = true;
    release();
  };
}

/**
 * Work folders and partial files (QEMU run folders with their guest
 * overlays, Wine run folders, build folders) this process tracked and has
 * let go of so far: removed, or handed over once finished. After Ctrl-C
 * every one let go of is one the cleanup removed; the CLI counts those.
 */
export function releasedPathCount(): number {
  return releasedPaths;
}

/** Records a child process; call the returned function once it has exited. */
export function trackProcess(pid: number): () => void {
  const startTime = processStartTime(pid);
  return track({ op: '+pid', pid, startTime }, { op: '-pid', pid, startTime });
}

/** What a ledger says is still open. */
export function openLeftovers(text: string): { owner: Extract<LedgerLine, { op: 'owner' }> | undefined } & LeftoverSet {
  let owner: Extract<LedgerLine, { op: 'owner' }> | undefined;
  const paths = new Set<string>();
  const processes = new Map<number, string | undefined>();
  for (const raw of text.split('\n')) {
    if (!raw.trim()) continue;
    let line: LedgerLine;
    try {
      line = JSON.parse(raw) as LedgerLine;
    } catch {
      continue; // A line cut by the owner's death.
    }
    if (line.op === 'owner') owner = line;
    else if (line.op === '+path' && line.path) paths.add(line.path);
    else if (line.op === '-path') paths.delete(line.path);
    else if (line.op === '+pid') processes.set(line.pid, line.startTime);
    else if (line.op === '-pid') processes.delete(line.pid);
  }
  return { owner, paths: [...paths], processes: [...processes].map(([pid, startTime]) => ({ pid, startTime })) };
}

/** Kills the processes and removes the paths of one dead owner's ledger, then the ledger. */
export async function cleanLedger(file: string): Promise<LeftoverSet> {
  const open = openLeftovers(await readFile(file, 'utf8').catch(() => ''));
  const killed: LeftoverSet['processes'] = [];
  for (const child of open.processes) {
    // Only the very process that was recorded: a reused pid belongs to someone else.
    if (!processAlive(child.pid, child.startTime) || child.startTime === undefined) continue;
    for (const target of [-child.pid, child.pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // Not a group leader, or gone already.
      }
    }
    killed.push(child);
  }
  for (const path of open.paths) await rm(path, { recursive: true, force: true });
  await unlink(file).catch(() => undefined);
  return { paths: open.paths, processes: killed };
}

/** Cleans the ledger of every dead owner on this host (the sweep at the start of a command). */
export async function sweepDeadOwners(): Promise<LeftoverSet> {
  const found: LeftoverSet = { paths: [], processes: [] };
  const names = await readdir(ledgerDir()).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.endsWith('.log')) continue;
    const file = join(ledgerDir(), name);
    const { owner } = openLeftovers(await readFile(file, 'utf8').catch(() => ''));
    if (!owner || owner.host !== hostname() || owner.pid === process.pid) continue;
    if (processAlive(owner.pid, owner.startTime)) continue;
    const cleaned = await cleanLedger(file);
    found.paths.push(...cleaned.paths);
    found.processes.push(...cleaned.processes);
  }
  return found;
}
