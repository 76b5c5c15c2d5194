import { AgentRequestError, GuestFileChangedError } from '../agent/errors.ts';
import { parseDupcloseEvents } from '../dupclose/dupclose-events.ts';
import { summarizeDupcloseRun, type DupcloseRun } from '../dupclose/dupclose-run.ts';
import type { PhaseName } from '../model/run-results.ts';
import { tableFillCycles, type ScenarioDefinition } from '../model/scenario-catalog.ts';
import type { ScenarioObservation, StackSettings } from '../model/scenario-observation.ts';
import type { OsFamily } from '../os/os-family.ts';
import { familyOfReported } from '../os/os-profiles.ts';
import type { ProgressSink } from '../report/progress.ts';
import { silentProgress } from '../report/progress.ts';
import { trackProgress, withProgress, type TrackedProgress } from '../report/progress-tracker.ts';
import type { TargetHandle } from '../targets/target-handle.ts';
import { ScenarioError } from './errors.ts';
import type { ProgramSource } from '../targets/prepare-target.ts';
import { deployGuestApp, guestPath } from './guest-deploy.ts';
import { takeSnapshot } from './snapshot.ts';
import { cyclesReported, MIN_SAMPLES, SETTLE_LOOKS_MS, SocketSampler } from './socket-sampler.ts';
import { sleep } from '../util/abortable.ts';
import type { GuestTimeMeter } from './metered-agent.ts';

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
  /** How often a file in the guest is polled (the program's output, a hold's acknowledgement). */
  pollMs?: number;
  /** How long a released holder gets to acknowledge (delete the release file) before the runner goes on without it. */
  releaseAckMs?: number;
  /** The most of the time while cycles run that looks at the socket table may take (0 to 1; SAMPLE_SHARE by default). */
  sampleShare?: number;
  /** The longest the settle's looks may hold "after" back (SETTLE_LOOKS_MS by default). */
  settleLooksMs?: number;
  /**
   * The guest's own time of the scenario (metered-agent.ts): while the
   * program runs detached its own run time is what counts, not the looks'
   * execs that overlap it on the same guest.
   */
  guestTime?: GuestTimeMeter;
  /** Told how long each phase of the scenario took (deploy, before, cycles, during, settle, after). */
  onPhase?: (phase: PhaseName, ms: number) => void;
  /** Where the guest programs' bytes come from (the build output by default). */
  programs?: ProgramSource;
}

const POLL_MS = 250;
const RELEASE_ACK_MS = 15_000;
const ERROR_FILE_NOT_FOUND = 2;
const ERROR_PATH_NOT_FOUND = 3;
const ERROR_ACCESS_DENIED = 5;
const ERROR_SHARING_VIOLATION = 32;
let runCounter = 0;

/** A numeric flag of a scenario's program (`--hold-ms 120000`, `--apps 15`), if given. */
function numericFlag(args: readonly string[], flag: string): number | undefined {
  const at = args.indexOf(flag);
  const value = at >= 0 ? Number(args[at + 1]) : Number.NaN;
  return Number.isFinite(value) ? value : undefined;
}

async function stackSettings(
  handle: TargetHandle,
  options: { signal?: AbortSignal },
): Promise<{ settings: StackSettings; family: OsFamily }> {
  const info = await handle.agent.sysinfo(options);
  const settings: StackSettings = {};
  const max = info.mstcpMaxConnections ? Number(info.mstcpMaxConnections.value) : Number.NaN;
  if (Number.isFinite(max)) settings.maxConnections = max;
  // Which Winsock the guest offers: the KB's WSADuplicateSocket path needs ws2_32, the 1.1 path has only wsock32.
  settings.winsock = info.ws2_32 ? '2 (ws2_32.dll)' : '1.1 (wsock32.dll only)';
  settings.os = `${info.platformId === 1 ? 'win9x' : 'nt'} ${info.major}.${info.minor}.${info.build}${info.wineVersion ? ` (wine ${info.wineVersion})` : ''}`;
  return { settings, family: familyOfReported(info) };
}

/**
 * How long the scenario's program worked in the guest, by its own clock: the
 * top-level summary's `ms` less the time it held its sockets for the runner
 * (`hold-end ms`, idle polling). 0 when it printed no summary.
 */
export function programWorkMs(output: string): number {
  const top = /event=summary role=(?:launcher|parent app=0) [^\r\n]*\bms=(\d+)/.exec(output);
  if (!top) return 0;
  const held = /event=hold-end role=(?:launcher|parent app=0) [^\r\n]*\bms=(\d+)/.exec(output);
  return Math.max(0, Number(top[1]) - (held ? Number(held[1]) : 0));
}

/**
 * Whether a guest file exists: GET answers, or fails with file or path not
 * found. A sharing violation or access denied means someone is deleting it
 * right now (Windows keeps a file open elsewhere "delete pending"): still there.
 */
async function guestFileExists(handle: TargetHandle, path: string, call: { signal?: AbortSignal }): Promise<boolean> {
  try {
    await handle.agent.getFile(path, call);
    return true;
  } catch (error) {
    if (!(error instanceof AgentRequestError)) throw error;
    if (error.win32Error === ERROR_FILE_NOT_FOUND || error.win32Error === ERROR_PATH_NOT_FOUND) return false;
    if (error.win32Error === ERROR_SHARING_VIOLATION || error.win32Error === ERROR_ACCESS_DENIED) return true;
    throw error;
  }
}

/**
 * Runs one scenario on a connected guest and reports what the guest did:
 * NETSTAT (and tcptab) before, while the program holds its sockets when the
 * scenario counts them then, and after it exited; the program's own events.
 * Deciding whether that matches the KB is the verdict's job, not this one's.
 *
 * Holds are event-driven: a program that holds its sockets on purpose polls a
 * release file (`--hold-until`), which the runner creates once it has taken
 * its snapshot; `--hold-ms` only bounds the hold for a runner that never does.
 */
export async function runScenario(
  handle: TargetHandle,
  definition: ScenarioDefinition,
  options: RunScenarioOptions = {},
): Promise<ScenarioObservation> {
  const progress = options.onProgress ?? silentProgress;
  const scope = `${handle.target} ${definition.name}`;
  const call = { signal: options.signal };
  const fail = (message: string, cause?: unknown) => new ScenarioError(message, handle.target, definition.name, { cause });
  const pollMs = options.pollMs ?? POLL_MS;
  const phase = async <T>(name: PhaseName, work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await work();
    } finally {
      options.onPhase?.(name, performance.now() - started);
    }
  };

  const deploy = { ...call, source: options.programs };
  const { program, settings, family } = await phase('deploy', async () => {
    const path = await deployGuestApp(handle, definition.program, deploy);
    await deployGuestApp(handle, 'tcptab', deploy);
    return { program: path, ...(await stackSettings(handle, call)) };
  });
  // A table-filling scenario outruns the table this guest has (none on NT and Wine); --cycles overrides.
  const ownCycles = tableFillCycles(definition, { hasMstcpTable: family.mstcpMaxConnections, maxConnections: settings.maxConnections });
  const cycles = Math.min(options.cycles ?? ownCycles, options.maxCycles ?? Number.POSITIVE_INFINITY);
  // The cycles planned, for the count shown while they run; the hold's bound (`--hold-ms`), for the countdown while the runner looks.
  const planned = cycles * (numericFlag(definition.args, '--apps') ?? 1);
  const holdMs = numericFlag(definition.args, '--hold-ms');
  const peer = `${handle.peer.host}:${handle.peer.port}`;

  progress({ kind: 'step', scope, message: `NETSTAT before, then ${definition.program} × ${cycles} cycles against ${peer}` });
  const before = await phase('before', () => takeSnapshot(handle, 'before', { ...call, family }));

  runCounter += 1;
  const outFile = guestPath(handle, `${definition.name}-${runCounter}.log`);
  const releaseFile = guestPath(handle, `${definition.name}-${runCounter}.go`);
  // Events go to a file, fetched in chunks: a long run prints more than one exec reply holds.
  const commandLine = [
    program,
    '--peer',
    peer,
    '--cycles',
    String(cycles),
    ...definition.args,
    ...(definition.heldBy ? ['--hold-until', releaseFile] : []),
    '--out',
    outFile,
  ].join(' ');
  const timeoutMs = options.programTimeoutMs ?? 600_000;
  let text = '';
  const readOut = async (partial: boolean): Promise<DupcloseRun> => {
    // The file only grows: each read fetches what was added since the last (a whole-file read every poll moved
    // the output of every earlier cycle over the serial line again). The guest's refusal (not written yet, a
    // sharing violation while the program writes) and a file that grew between the chunks of one read are read
    // again at the next poll; a line that ended or an agent that stopped answering ends the scenario now, not at
    // the program's timeout.
    const bytes = await handle.agent.getFile(outFile, { ...call, from: text.length }).catch((error: unknown) => {
      if ((error instanceof AgentRequestError && !error.fatal) || error instanceof GuestFileChangedError) return Buffer.alloc(0);
      throw error;
    });
    text += bytes.toString('latin1');
    return summarizeDupcloseRun(parseDupcloseEvents(text, { program: definition.program, origin: scope, partial: partial && !finished() }));
  };
  // The top-level summary: the launcher's with --apps (its apps' parents print their own), the parent's otherwise.
  const finished = () =>
    (/event=start role=launcher /.test(text)
      ? /event=summary role=launcher [^\r\n]*\r?\n/
      : /event=summary role=parent app=0 [^\r\n]*\r?\n/
    ).test(text);
  const release = () => handle.agent.putFile(releaseFile, Buffer.from('go\r\n'), call);
  const sampler = new SocketSampler(handle, {
    family,
    peer: { addr: handle.peer.host, port: handle.peer.port },
    source: before.tcptab === undefined ? 'netstat' : 'tcptab',
    ...(options.sampleShare === undefined ? {} : { share: options.sampleShare }),
    ...call,
  });
  sampler.record('before', 0, before.tcptab ?? before.netstat);
  /** Waits for the program's output to satisfy `done`, looking at the socket table in the meantime and showing the cycles it reports. */
  const watch = async (done: (seen: DupcloseRun) => boolean, late: () => string, progressed: TrackedProgress): Promise<DupcloseRun> => {
    let seen = await readOut(true);
    for (;;) {
      progressed.set({ done: cyclesReported(text), total: seen.cyclesPlanned ?? planned });
      if (done(seen)) break;
      if (Date.now() > deadline) throw fail(`${late()}; output so far:\n${text.slice(-2000)}`);
      if (sampler.due) await sampler.sample('cycles', cyclesReported(text));
      else await sleep(pollMs, options.signal);
      seen = await readOut(true);
    }
    return seen;
  };

  // The program runs detached, so the socket table can be sampled while it
  // cycles (the agent answers one request at a time; an exec would hold it).
  const deadline = Date.now() + timeoutMs;
  let run = await phase('cycles', async () => {
    // The count is the program's own `event=cycle` lines, read from its output file between the runner's other requests.
    using progressed = trackProgress(progress, { scope, what: 'cycles', done: 0, total: planned });
    const start = family.backgroundStart(commandLine);
    const launched = await handle.agent.exec(start, { cwd: handle.guestWorkDir, timeoutMs: 60_000, ...call });
    if (launched.exitCode !== 0)
      throw fail(
        `could not start ${definition.program} in the background (exit ${launched.exitCode}): ${launched.stderr || launched.stdout}`,
      );
    if (options.guestTime) options.guestTime.detached = true;
    try {
      if (definition.leakMeasuredAt === 'after-exit') {
        return await watch(
          finished,
          () => `${definition.program} did not finish within ${timeoutMs} ms (left running: its guest is not used again)`,
          progressed,
        );
      }
      // The sockets only stay while the program lives: NETSTAT is taken while it says it is holding them.
      return await watch(
        (seen) => seen.holding || finished(),
        () => `${definition.program} never reached its hold point within ${timeoutMs} ms`,
        progressed,
      );
    } finally {
      // Holding, the program only idles: the "during" snapshot's execs are the guest's work again.
      if (options.guestTime) options.guestTime.detached = false;
    }
  });
  let during: ScenarioObservation['snapshots']['during'];
  if (definition.leakMeasuredAt === 'while-running' && run.holding && !finished()) {
    run = await phase('during', async () => {
      progress({ kind: 'step', scope, message: `program holds ${run.held ?? '?'} socket(s): NETSTAT during` });
      during = await holding(`holding ${run.held ?? '?'} socket(s) for NETSTAT during`, () =>
        takeSnapshot(handle, 'during', { ...call, family }),
      );
      sampler.record('cycles', cyclesReported(text), during.tcptab ?? during.netstat);
      // Looked: the program may let go now instead of waiting out its bound.
      if (definition.heldBy) await release();
      let seen = await readOut(true);
      while (!finished()) {
        if (Date.now() > deadline) throw fail(`${definition.program} did not finish; output so far:\n${text.slice(-2000)}`);
        await sleep(pollMs, options.signal);
        seen = await readOut(true);
      }
      return seen;
    });
  }
  if (options.guestTime) options.guestTime.ms += programWorkMs(text);
  await handle.agent.deleteFile(outFile, { missingOk: true, ...call });

  // The stack settles for settleMs, with looks at the table meanwhile, and
  // until the series has its MIN_SAMPLES looks, but for SETTLE_LOOKS_MS at
  // most: "after" must come while a clean run's TIME_WAIT rows (the only sign
  // that its connections existed) are still there. Looks still missing come
  // after "after".
  const cyclesDone = cyclesReported(text);
  const lookWhileSettling = async (until: number) => {
    while (sampler.working && sampler.taken < MIN_SAMPLES && performance.now() < until) await sampler.sample('settle', cyclesDone);
  };
  await phase('settle', async () => {
    const started = performance.now();
    const settled = started + (options.settleMs ?? 2_000);
    await lookWhileSettling(Math.max(settled, started + (options.settleLooksMs ?? SETTLE_LOOKS_MS)));
    await sleep(Math.max(0, settled - performance.now()), options.signal);
  });
  const after = await phase('after', async () => {
    const snapshot =
      definition.heldBy === 'holder'
        ? await holding('the holder keeps its sockets for NETSTAT after', () => takeSnapshot(handle, 'after', { ...call, family }))
        : await takeSnapshot(handle, 'after', { ...call, family });
    sampler.record('after', cyclesDone, snapshot.tcptab ?? snapshot.netstat);
    if (definition.heldBy === 'holder') await endHolder();
    return snapshot;
  });
  // The series' remaining looks, after "after" (still the settling stack: phase settle).
  if (sampler.working && sampler.taken < MIN_SAMPLES) await phase('settle', () => lookWhileSettling(Number.POSITIVE_INFINITY));
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
    socketSeries: sampler.series(),
  };

  /**
   * A snapshot taken while the guest holds sockets for it, with a countdown
   * to the hold's bound (counted from when the runner saw the hold, so the
   * guest's own bound is a little nearer than shown).
   */
  function holding<T>(what: string, work: () => Promise<T>): Promise<T> {
    if (holdMs === undefined) return work();
    return withProgress(progress, { scope, what, limitMs: holdMs, countdown: true }, work);
  }

  /**
   * The holder outlives the program on purpose; once the after-exit table is
   * taken it is told to end, and deletes the release file to say it saw it.
   * One that does not answer is reported, not fatal: the observation stands,
   * and its guest is not used again unless --reuse-guest asked for that.
   */
  async function endHolder(): Promise<void> {
    await release();
    const deadline = Date.now() + (options.releaseAckMs ?? RELEASE_ACK_MS);
    while (await guestFileExists(handle, releaseFile, call)) {
      if (Date.now() > deadline) {
        progress({
          kind: 'warn',
          scope,
          message: `the holder process did not acknowledge its release within ${options.releaseAckMs ?? RELEASE_ACK_MS} ms; it ends by itself after ${definition.args.join(' ')}`,
        });
        await handle.agent.deleteFile(releaseFile, { missingOk: true, ...call });
        return;
      }
      await sleep(pollMs, options.signal);
    }
  }
}
