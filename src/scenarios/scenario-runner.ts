import { parseDupcloseEvents } from '../dupclose/dupclose-events.ts';
import { summarizeDupcloseRun, type DupcloseRun } from '../dupclose/dupclose-run.ts';
import type { OsFamily } from '../os/os-family.ts';
import { familyOfReported } from '../os/os-profiles.ts';
import type { ProgressSink } from '../report/progress.ts';
import { silentProgress } from '../report/progress.ts';
import type { TargetHandle } from '../targets/target-handle.ts';
import type { ScenarioObservation, StackSettings } from '../model/scenario-observation.ts';
import { ScenarioError } from './errors.ts';
import { deployGuestApp, guestPath } from './guest-deploy.ts';
import type { ScenarioDefinition } from '../model/scenario-catalog.ts';
import { takeSnapshot } from './snapshot.ts';
import { sleep } from '../util/abortable.ts';

export interface RunScenarioOptions {
  signal?: AbortSignal;
  onProgress?: ProgressSink;
  /** Overrides the scenario's cycles per program run. */
  cycles?: number;
  /** Caps the cycles per program run (quick runs of targets that are clean either way). */
  maxCycles?: number;
  /** Time the stack gets after the program exited before the last snapshot. */
  settleMs?: number;
  /** How long one program run may take before the guest kills it. */
  programTimeoutMs?: number;
}

const POLL_MS = 500;
let runCounter = 0;

async function stackSettings(handle: TargetHandle, options: { signal?: AbortSignal }): Promise<{ settings: StackSettings; family: OsFamily }> {
  const info = await handle.agent.sysinfo(options);
  const settings: StackSettings = {};
  const max = info.mstcpMaxConnections ? Number(info.mstcpMaxConnections.value) : Number.NaN;
  if (Number.isFinite(max)) settings.maxConnections = max;
  settings.os = `${info.platformId === 1 ? 'win9x' : 'nt'} ${info.major}.${info.minor}.${info.build}${info.wineVersion ? ` (wine ${info.wineVersion})` : ''}`;
  return { settings, family: familyOfReported(info) };
}

/**
 * Runs one scenario on a connected target and reports what the guest did:
 * NETSTAT (and tcptab) before, while the program holds its sockets when the
 * scenario counts them then, and after it exited; the program's own events.
 * Deciding whether that matches the KB is the verdict's job, not this one's.
 */
export async function runScenario(handle: TargetHandle, definition: ScenarioDefinition, options: RunScenarioOptions = {}): Promise<ScenarioObservation> {
  const progress = options.onProgress ?? silentProgress;
  const scope = `${handle.target} ${definition.name}`;
  const call = options.signal ? { signal: options.signal } : {};
  const fail = (message: string, cause?: unknown) => new ScenarioError(message, handle.target, definition.name, { cause });

  const program = await deployGuestApp(handle, definition.program, call);
  const { settings, family } = await stackSettings(handle, call);
  const cycles = Math.min(options.cycles ?? definition.cycles, options.maxCycles ?? Number.POSITIVE_INFINITY);
  const peer = `${handle.peer.host}:${handle.peer.port}`;

  progress({ kind: 'step', scope, message: `NETSTAT before, then ${definition.program} × ${cycles} cycles against ${peer}` });
  const before = await takeSnapshot(handle, 'before', { ...call, family });

  runCounter += 1;
  const outFile = guestPath(handle, `${definition.name}-${runCounter}.log`);
  // Events go to a file, fetched in chunks: a long run prints more than one exec reply holds.
  const commandLine = [program, '--peer', peer, '--cycles', String(cycles), ...definition.args, '--out', outFile].join(' ');
  const timeoutMs = options.programTimeoutMs ?? 600_000;
  let text = '';
  const readOut = async (partial: boolean): Promise<DupcloseRun> => {
    const bytes = await handle.agent.getFile(outFile, call).catch(() => Buffer.alloc(0));
    text = bytes.toString('latin1');
    return summarizeDupcloseRun(parseDupcloseEvents(text, { program: definition.program, origin: scope, partial: partial && !/event=summary/.test(text) }));
  };

  let run: DupcloseRun;
  let during: ScenarioObservation['snapshots']['during'];
  if (definition.leakMeasuredAt === 'after-exit') {
    const result = await handle.agent.exec(commandLine, { cwd: handle.guestWorkDir, timeoutMs, deadlineMs: timeoutMs + 60_000, ...call });
    run = await readOut(result.timedOut);
    if (result.timedOut) throw fail(`${definition.program} did not finish within ${timeoutMs} ms (killed); its output:\n${text.slice(-2000)}`);
  } else {
    // The sockets only stay while the program lives, so it runs detached and
    // NETSTAT is taken while it says it is holding them.
    const start = family.backgroundStart(commandLine);
    const launched = await handle.agent.exec(start, { cwd: handle.guestWorkDir, timeoutMs: 60_000, ...call });
    if (launched.exitCode !== 0) throw fail(`could not start ${definition.program} in the background (exit ${launched.exitCode}): ${launched.stderr || launched.stdout}`);
    const deadline = Date.now() + timeoutMs;
    for (run = await readOut(true); !run.holding && !/event=summary/.test(text); run = await readOut(true)) {
      if (Date.now() > deadline) throw fail(`${definition.program} never reached its hold point; output so far:\n${text.slice(-2000)}`);
      await sleep(POLL_MS, options.signal);
    }
    if (run.holding) {
      progress({ kind: 'step', scope, message: `program holds ${run.held ?? '?'} socket(s): NETSTAT during` });
      during = await takeSnapshot(handle, 'during', { ...call, family });
    }
    while (!/event=summary/.test(text)) {
      if (Date.now() > deadline) throw fail(`${definition.program} did not finish; output so far:\n${text.slice(-2000)}`);
      await sleep(POLL_MS, options.signal);
      run = await readOut(true);
    }
  }
  await handle.agent.deleteFile(outFile, { missingOk: true, ...call });

  await sleep(options.settleMs ?? 2_000, options.signal);
  const after = await takeSnapshot(handle, 'after', { ...call, family });
  progress({ kind: 'step', scope, message: `done: ${run.cycles.filter((c) => c.ok).length}/${run.cycles.length} cycles ok` });

  return {
    target: handle.target,
    scenario: definition.name,
    peer: { addr: handle.peer.host, port: handle.peer.port },
    cyclesPlanned: run.cyclesPlanned ?? cycles,
    cycles: run.cycles,
    finalConnect: run.finalConnect,
    ...(run.programFailure ? { programFailure: run.programFailure } : {}),
    snapshots: { before, ...(during ? { during } : {}), after },
    settings,
  };
}
