import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { z } from 'zod';
import { LEAK_MEASURE_POINTS } from './scenario-catalog.ts';
import { definedSettings, type ScenarioObservation } from './scenario-observation.ts';
import { socketSeries } from './socket-series.ts';
import { TABLE_SOURCES } from './socket-table.ts';
import { TCP_STATES } from './tcp-state.ts';

/**
 * The shape of `results/<run-id>/results.json`: one entry per target ×
 * scenario with its verdict, the numbers behind it, the evidence (NETSTAT
 * texts included) and the settings it ran with. The same schema reads a
 * stored run back as a baseline, so a hand-edited or older file is checked,
 * not trusted.
 */
export const RESULTS_SCHEMA_VERSION = 1;

const stateCounts = z.record(z.enum(TCP_STATES), z.number().int().min(0));
const settings = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]));
const netstatText = z.object({ raw: z.string(), tcptab: z.string().optional() });

/** What a platform is predicted to do in a scenario (`unknown`: no source predicts it). */
export const expectedOutcome = z.enum(['leak', 'clean', 'unknown']);
export type ExpectedOutcome = z.infer<typeof expectedOutcome>;

/** What the platform did: every connection held, none, or something in between. */
export const observedOutcome = z.enum(['leak', 'clean', 'partial-leak']);
export type ObservedOutcome = z.infer<typeof observedOutcome>;

export const verdictStatus = z.enum(['pass', 'fail', 'infra-error', 'skipped']);
export type VerdictStatus = z.infer<typeof verdictStatus>;

/**
 * Why a connect() failed, judged from the table next to it:
 * - `socket-table-full`: WSAENOBUFS with the table full of held sockets (this bug);
 * - `ephemeral-ports-exhausted`: WSAENOBUFS or WSAEADDRINUSE with thousands of
 *   TIME_WAIT sockets on distinct ports and few held ones (KB Q196271);
 * - `unexplained`: neither pattern.
 */
export const connectFailureCause = z.enum(['socket-table-full', 'ephemeral-ports-exhausted', 'unexplained']);
export type ConnectFailureCause = z.infer<typeof connectFailureCause>;

export const connectOutcome = z.union([z.object({ ok: z.literal(true) }), z.object({ ok: z.literal(false), error: z.number().int() })]);

/**
 * The run met WSAENOBUFS (10055) at connect: on Win9x the end of a leaking
 * run, once held connections fill the socket table (KB Q198663). The held
 * connections are counted in the snapshot the leak is measured in; on 9x the
 * leaked ones outlive the program, so that is the table the failed connect met.
 */
export const tableExhaustion = z.object({
  /** The cycle (1-based, across the program runs) whose socket()/connect() failed; null when only the final connect() did. */
  cycle: z.number().int().min(1).nullable(),
  cyclesPlanned: z.number().int().min(0),
  /** The call that failed: socket, connect (in a cycle) or final-connect. */
  step: z.string(),
  /** The scenario's connections to the peer held then, new since "before". */
  held: z.number().int().min(0),
  heldStates: z.partialRecord(z.enum(TCP_STATES), z.number().int().min(1)),
  /** Every held row of the table, any peer, any age: what filled it. */
  heldInTable: z.number().int().min(0),
  /** MSTCP MaxConnections as the guest reports it; null when it reports none (the default is 100). */
  maxConnections: z.number().int().min(1).nullable(),
});
export type TableExhaustion = z.infer<typeof tableExhaustion>;

export const verdictEvidence = z.object({
  measuredAt: z.enum(LEAK_MEASURE_POINTS),
  /** The table the leak was counted in. */
  tableSource: z.enum(TABLE_SOURCES),
  /** Connections held at the measuring point that were not held before. */
  leaked: z.number().int().min(0),
  leakedAfterExit: z.number().int().min(0),
  /** null when no snapshot was taken while the program ran. */
  leakedWhileRunning: z.number().int().min(0).nullable(),
  leakThreshold: z.number().int().min(1),
  connectionsOpened: z.number().int().min(0),
  /** leaked / connectionsOpened; 0 when no connection was opened. */
  leakRate: z.number().min(0),
  cyclesPlanned: z.number().int().min(0),
  cyclesRun: z.number().int().min(0),
  cycleFailures: z.array(z.object({ step: z.string(), error: z.number().int(), count: z.number().int().min(1) })),
  /** The leaked connections per state. */
  leakedStates: z.partialRecord(z.enum(TCP_STATES), z.number().int().min(1)),
  counts: z.object({ before: stateCounts, during: stateCounts.optional(), after: stateCounts }),
  timeWait: z.object({ rows: z.number().int().min(0), distinctLocalPorts: z.number().int().min(0) }),
  finalConnect: connectOutcome.nullable(),
  connectFailureCause: connectFailureCause.nullable(),
  /** WSAENOBUFS at connect while the scenario's held connections filled the table (this bug). */
  tableExhausted: z.boolean(),
  /** Where and how the run met WSAENOBUFS; null when it never did (absent in results written before it was recorded). */
  tableExhaustion: tableExhaustion.nullable().default(null),
  /** The scenario's connections in any state that appeared in the table during or after the cycles, from the guest's end (to the peer) or the peer's end (to a port the cycles' connects reported): the sign the table saw them. */
  peerRowsSeen: z.number().int().min(0).optional(),
  /** The stack settings the run used (those the guest reported or the lab set). */
  settings,
  /** The rows that make the case, quoted as the guest printed them. */
  netstatExcerpt: z.string(),
});
export type VerdictEvidence = z.infer<typeof verdictEvidence>;

/** The judgement of one scenario on one target, with the evidence behind it (null when nothing was observed). */
export const verdict = z.object({
  status: verdictStatus,
  reason: z.string(),
  /** How to get a skipped or failed-to-run scenario to run. */
  fix: z.string().optional(),
  expected: expectedOutcome.optional(),
  observed: observedOutcome.optional(),
  evidence: verdictEvidence.nullable(),
});
export type Verdict = z.infer<typeof verdict>;

/**
 * How the scenario's guest started (see GuestStart in src/targets/target-handle.ts):
 * `saved-state` restored from the saved VM state onto a fresh overlay, `cold`
 * booted from disk, `container` a fresh Wine container, `reused` a guest an
 * earlier scenario ran in (`--reuse-guest`).
 */
export const GUEST_START_KINDS = ['saved-state', 'cold', 'container', 'reused'] as const;
export const guestStart = z.object({
  start: z.enum(GUEST_START_KINDS),
  /** The guest's container (12 hex digits): entries with the same id shared a guest. */
  id: z.string().min(1),
  /** Time to agent ready; 0 for a reused guest. */
  startMs: z.number().min(0),
  /** What it started from: the image of a wine container, the key (16 hex digits) of a QEMU saved state. */
  from: z.string().optional(),
});
export type GuestStart = z.infer<typeof guestStart>;

/**
 * Where a scenario's wall time went, in milliseconds. `guestSide` is the time
 * the guest itself spent running commands (the agent's own measure of each
 * exec); `overhead` is wall minus guestSide: starting guests, the serial
 * line, Docker, and the host's own work.
 */
export const PHASE_NAMES = ['guestStart', 'patch', 'deploy', 'before', 'cycles', 'during', 'settle', 'after', 'verdict'] as const;
export type PhaseName = (typeof PHASE_NAMES)[number];
export const phaseTimes = z.object({
  ...(Object.fromEntries(PHASE_NAMES.map((name) => [name, z.number().min(0)])) as Record<PhaseName, z.ZodNumber>),
  wall: z.number().min(0),
  guestSide: z.number().min(0),
  overhead: z.number(),
});
export type PhaseTimes = z.infer<typeof phaseTimes>;

/**
 * The patch a scenario ran under (`--patch DIR --patch-install CMD`): the hash
 * of the folder's contents (names and bytes), the install command with its
 * exit code and output, and where it was applied: `each-guest` installed in
 * every scenario's fresh guest before the scenario; `saved-state` installed
 * once, before the state every scenario's guest starts from was taken
 * (`--patch-when saved-state`: QEMU, a saved VM state keyed by the patch;
 * wine, a committed image of the patched prefix). `savedState` then names
 * that state and says whether an earlier run made it (the exit code and
 * output are that run's).
 */
export const patchRecord = z.object({
  dir: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  files: z.number().int().min(0),
  installCommand: z.string().nullable(),
  exitCode: z.number().int().nullable(),
  output: z.string(),
  appliedTo: z.enum(['each-guest', 'saved-state']),
  savedState: z.object({ kind: z.enum(['vm-state', 'image']), id: z.string(), reused: z.boolean() }).optional(),
});
export type PatchRecord = z.infer<typeof patchRecord>;

/** The compiler that built the guest programs an entry ran (guest-apps/ build stamps hold the same). */
export const guestToolchain = z.object({
  kind: z.enum(['watcom', 'mingw']),
  /** Version and origin, e.g. `watcom shared toolchains sha256:… Open Watcom C x86 32-bit Optimizing Compiler`. */
  identity: z.string().min(1),
});
export type GuestToolchain = z.infer<typeof guestToolchain>;

/** A file saved to debug an entry, by its path relative to the run folder (results/<run-id>/). */
export const artifactRef = z.object({
  path: z.string().regex(/^artifacts\//, 'must be relative to the run folder, under artifacts/'),
  kind: z.enum(['serial', 'console', 'screenshot', 'log', 'other']),
  bytes: z.number().int().min(0),
});
export type ArtifactRef = z.infer<typeof artifactRef>;

export const resultEntry = z.object({
  target: z.string().min(1),
  scenario: z.string().min(1),
  verdict: verdictStatus,
  reason: z.string(),
  fix: z.string().optional(),
  expected: expectedOutcome.optional(),
  observed: observedOutcome.optional(),
  /** The headline numbers; null when the scenario produced no observation (skipped, infrastructure error). */
  counts: z
    .object({
      leaked: z.number().int().min(0),
      leakRate: z.number().min(0),
      connectionsOpened: z.number().int().min(0),
      cyclesPlanned: z.number().int().min(0),
      cyclesRun: z.number().int().min(0),
      tableExhausted: z.boolean(),
    })
    .nullable(),
  evidence: verdictEvidence.nullable(),
  /** The full tables as the guest printed them. */
  netstat: z.object({ before: netstatText, during: netstatText.optional(), after: netstatText }).nullable(),
  settings,
  durationMs: z.number().min(0),
  /** How the scenario's guest started; absent when no guest was started for it (skipped, target not prepared) and in older files. */
  guest: guestStart.optional(),
  phases: phaseTimes.optional(),
  patch: patchRecord.optional(),
  /** The compiler of the guest programs; absent where none were built (target not prepared) and in older files. */
  toolchain: guestToolchain.optional(),
  /** The Docker host the entry ran on (`local`, `user@machine`); absent when no host ran it (skipped before starting, every host dropped). */
  host: z.string().min(1).optional(),
  /** What was saved to debug this entry (serial tail, screenshot, container log); empty when nothing was. */
  artifacts: z.array(artifactRef).optional(),
  /** The socket table sampled through the scenario (connections to the peer per state); absent when the scenario ran no program. */
  socketSeries: socketSeries.optional(),
});
export type ResultEntry = z.infer<typeof resultEntry>;

export const hostInfo = z.object({
  hostname: z.string(),
  platform: z.string(),
  release: z.string(),
  arch: z.string(),
  cpus: z.number().int(),
  memoryMb: z.number().int(),
  node: z.string(),
  dockerEndpoint: z.string().optional(),
});
export type HostInfo = z.infer<typeof hostInfo>;

/**
 * The settings that decide what a run measures, stored with it so a baseline
 * comparison can say when two runs are not comparable (5 cycles against 120,
 * another patch, another compiler).
 */
export const runSettings = z.object({
  targets: z.array(z.string()),
  scenarios: z.array(z.string()),
  /** --cycles; null: each scenario's own count. */
  cycles: z.number().int().min(1).nullable(),
  patch: z.object({ dir: z.string(), installCommand: z.string().nullable(), hash: z.string().nullable() }).nullable(),
  /** --toolchain as asked (auto, watcom, mingw; null: not given), and the compilers the entries record. */
  toolchain: z.object({ asked: z.string().nullable(), used: z.array(z.string()) }),
  reuseGuest: z.boolean(),
});
export type RunSettings = z.infer<typeof runSettings>;

/** One difference from the baseline, labelled by what it means for the platform under test. */
export const baselineChange = z.object({
  target: z.string(),
  scenario: z.string(),
  kind: z.enum(['verdict', 'observed', 'leak-rate', 'added', 'removed']),
  label: z.enum(['regression', 'improvement', 'change']),
  from: z.union([z.string(), z.number()]).nullable(),
  to: z.union([z.string(), z.number()]).nullable(),
  /** The line printed for it: `wine dup-close: verdict pass -> fail`. */
  text: z.string(),
});
export type BaselineChange = z.infer<typeof baselineChange>;

export const runTotals = z.object({
  entries: z.number().int().min(0),
  pass: z.number().int().min(0),
  fail: z.number().int().min(0),
  infraError: z.number().int().min(0),
  skipped: z.number().int().min(0),
});
export type RunTotals = z.infer<typeof runTotals>;

/** The totals of a run: how many entries, and how many of each verdict. */
export function tallyRunTotals(entries: readonly { verdict: string }[]): RunTotals {
  const count = (verdict: string) => entries.filter((entry) => entry.verdict === verdict).length;
  return { entries: entries.length, pass: count('pass'), fail: count('fail'), infraError: count('infra-error'), skipped: count('skipped') };
}

export const runResults = z.object({
  schemaVersion: z.literal(RESULTS_SCHEMA_VERSION),
  runId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be a plain folder name (letters, digits, . _ -)'),
  startedAt: z.iso.datetime(),
  finishedAt: z.iso.datetime(),
  host: hostInfo,
  /** The baseline file this run was compared with, if any. */
  baseline: z.string().optional(),
  /** `--shard i/n`: this run holds only that part of the matrix; `shards` when it merges several. */
  shard: z
    .object({
      index: z.number().int().min(1),
      count: z.number().int().min(1),
      /** The whole matrix the shard is a part of, in the order a whole run goes through it. */
      targets: z.array(z.string()),
      scenarios: z.array(z.string()),
    })
    .optional(),
  shards: z
    .array(z.object({ runId: z.string(), index: z.number().int().min(1), count: z.number().int().min(1), file: z.string() }))
    .optional(),
  /** The Docker hosts the run spread over, by name, with their engine URL and slots. */
  hosts: z.array(z.object({ name: z.string(), url: z.string(), slots: z.number().int().min(1) })).optional(),
  /** The retrolab that made the file: package version and git commit (null outside a git checkout). */
  retrolab: z.object({ version: z.string(), commit: z.string().nullable() }).optional(),
  /** The command line's options as parsed (`lab`/`run`). */
  options: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.array(z.string())])).optional(),
  settings: runSettings.optional(),
  totals: runTotals.optional(),
  /** Stopped by Ctrl-C/SIGTERM: the entries are what was decided before. */
  interrupted: z.boolean().optional(),
  /** Why the run stopped before it was done (the entries it could not decide are infra-errors that say so). */
  stoppedBy: z.string().optional(),
  /** Against `baseline`: every change, labelled. */
  baselineChanges: z.array(baselineChange).optional(),
  /** Differences of settings between this run and the baseline, printed as warnings before the changes. */
  baselineWarnings: z.array(z.string()).optional(),
  entries: z.array(resultEntry),
});
export type RunResults = z.infer<typeof runResults>;

/** A sortable, unique folder name: 20261125-143005-3f9a. */
export function makeRunId(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${randomBytes(2).toString('hex')}`;
}

export function currentHostInfo(dockerEndpoint?: string): HostInfo {
  return {
    hostname: os.hostname(),
    platform: os.platform(),
    release: os.release(),
    arch: os.arch(),
    cpus: os.cpus().length,
    memoryMb: Math.round(os.totalmem() / 2 ** 20),
    node: process.version,
    ...(dockerEndpoint === undefined ? {} : { dockerEndpoint }),
  };
}

/**
 * One results entry from a verdict and, when the scenario ran, what it
 * observed (for the NETSTAT texts and the settings).
 */
export function resultEntryFrom(
  verdict: Verdict,
  run: {
    target: string;
    scenario: string;
    durationMs: number;
    observation?: ScenarioObservation;
    guest?: GuestStart;
    phases?: PhaseTimes;
    patch?: PatchRecord;
    toolchain?: GuestToolchain;
  },
): ResultEntry {
  const { observation } = run;
  const evidence = verdict.evidence;
  const capture = (snapshot: ScenarioObservation['snapshots']['before']) =>
    snapshot.tcptab === undefined ? { raw: snapshot.netstat.raw } : { raw: snapshot.netstat.raw, tcptab: snapshot.tcptab.raw };
  const settings = definedSettings(observation?.settings ?? {});
  return {
    target: run.target,
    scenario: run.scenario,
    verdict: verdict.status,
    reason: verdict.reason,
    ...(verdict.fix === undefined ? {} : { fix: verdict.fix }),
    ...(verdict.expected === undefined ? {} : { expected: verdict.expected }),
    ...(verdict.observed === undefined ? {} : { observed: verdict.observed }),
    counts:
      evidence === null
        ? null
        : {
            leaked: evidence.leaked,
            leakRate: evidence.leakRate,
            connectionsOpened: evidence.connectionsOpened,
            cyclesPlanned: evidence.cyclesPlanned,
            cyclesRun: evidence.cyclesRun,
            tableExhausted: evidence.tableExhausted,
          },
    evidence,
    netstat:
      observation === undefined
        ? null
        : {
            before: capture(observation.snapshots.before),
            ...(observation.snapshots.during === undefined ? {} : { during: capture(observation.snapshots.during) }),
            after: capture(observation.snapshots.after),
          },
    settings,
    durationMs: run.durationMs,
    ...(run.guest === undefined ? {} : { guest: run.guest }),
    ...(run.phases === undefined ? {} : { phases: run.phases }),
    ...(run.patch === undefined ? {} : { patch: run.patch }),
    ...(run.toolchain === undefined ? {} : { toolchain: run.toolchain }),
    ...(observation?.socketSeries === undefined ? {} : { socketSeries: observation.socketSeries }),
  };
}
