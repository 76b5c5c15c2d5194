/**
 * The scenarios of the lab as data: what each one does, which guest program
 * runs it with which flags, and when its leak is counted. The runner adds
 * `--peer ADDR:PORT` and `--cycles N` (the defaults here, or the user's);
 * everything else a scenario needs is in `args`.
 */

export const SCENARIO_NAMES = [
  'dup-close',
  'dup-close-many-apps',
  'duphandle-ws1',
  'workaround-dummy-socket',
  'workaround-late-close',
  'close-order',
  'leak-control',
  'leak-control-ws1',
  'leak-after-exit',
] as const;

export type ScenarioName = (typeof SCENARIO_NAMES)[number];

/**
 * When the held sockets are counted. `after-exit`: the KB Q198663 leak
 * outlives the program, so the snapshot after it exited is the one that
 * proves it (and lets a clean target show that nothing stays). `while-running`:
 * the sockets only stay until the process exits (KB Q229658, and the positive
 * control whose duplicates are open on purpose), so they must be counted in a
 * snapshot taken after the cycles while the program still holds them.
 */
export const LEAK_MEASURE_POINTS = ['after-exit', 'while-running'] as const;
export type LeakMeasurePoint = (typeof LEAK_MEASURE_POINTS)[number];

/**
 * The most a scenario's program (or holder) keeps its sockets. The runner
 * ends the hold as soon as it has taken its snapshot (it creates the file the
 * program polls, `--hold-until`), so this is only the bound for a runner that
 * never does: generous enough for NETSTAT over the serial line of a slow TCG
 * guest, short enough that a lost runner frees the guest.
 */
export const HOLD_MS = 120_000;

/**
 * Who keeps the sockets open until the runner has looked: `program` the
 * scenario's program itself after its cycles (counted while it runs);
 * `holder` a holder process the program hands its duplicates to and that
 * outlives it (counted after the program exited). Either way the runner ends
 * the hold through a file the guest program polls (`--hold-until`).
 */
export type HeldBy = 'program' | 'holder';

/** Win9x's TCP socket table without a MaxConnections value: 100 slots (the KB). */
export const DEFAULT_TABLE_SLOTS = 100;

/**
 * How far past the table a table-filling scenario runs: 20% more cycles than
 * slots, so WSAENOBUFS comes within the run even with a few slots taken by
 * other connections (120 cycles for the default 100).
 */
export const TABLE_FILL_FACTOR = 1.2;

/**
 * A table-filling scenario's cycles (over all its apps) on a guest without
 * MSTCP's table: the KB's 10 to 20 applications' worth, twice over. Each
 * cycle either closes its connection or holds it, so 30 tell clean from a
 * leak (0 held against at least 15) as surely as 120 do; 120 only add time
 * (on wine-vm under TCG, about 0.4 s a cycle).
 */
export const TABLE_FREE_CYCLES = 30;

export interface ScenarioDefinition {
  name: ScenarioName;
  title: string;
  description: string;
  program: 'dupclose' | 'duphandle';
  /**
   * Flags besides --peer and --cycles. Scenarios counted while running hold
   * their sockets with `--hold-ms` after the final connect (the program prints
   * `event=hold` when it starts holding) so the runner can take NETSTAT then.
   */
  args: readonly string[];
  /**
   * Cycles per program run (per app with `--apps`). For a scenario that
   * `fillsTable`, this is the count for Win9x's default table of
   * DEFAULT_TABLE_SLOTS: the runner scales it to the table the guest reports
   * (tableFillCycles), so that a leaking stack runs out wherever it is.
   */
  cycles: number;
  /**
   * Set where the KB's symptom is the full table (WSAENOBUFS once the held
   * connections fill MSTCP's MaxConnections slots), so the cycles must outrun
   * the table. `withoutTable`: the cycles on a guest that has no such table
   * (NT, Wine): no count can fill one there, and what the verdict needs —
   * every cycle connected, and none of its connections held after close, or
   * at least half of them for a leak — shows in each cycle.
   */
  fillsTable?: { withoutTable: number };
  leakMeasuredAt: LeakMeasurePoint;
  /** Set when the scenario's sockets are held on purpose until the runner releases them. */
  heldBy?: HeldBy;
  /** Where the behaviour under test is described. */
  source: string;
}

export const SCENARIOS: Readonly<Record<ScenarioName, ScenarioDefinition>> = {
  'dup-close': {
    name: 'dup-close',
    title: 'Duplicate and close (the KB cycle)',
    description:
      'The parent connects to the peer, duplicates the socket with WSADuplicateSocket for a child process, the child opens its copy, sends, and closes it; then the parent closes its own. Repeated, then one more connect().',
    program: 'dupclose',
    args: [],
    cycles: 120,
    fillsTable: { withoutTable: TABLE_FREE_CYCLES },
    leakMeasuredAt: 'after-exit',
    source: 'KB Q198663',
  },
  'dup-close-many-apps': {
    name: 'dup-close-many-apps',
    title: 'Many applications duplicating and closing',
    description:
      'Fifteen parent processes one after another, each doing the KB cycle, as the KB describes ("10 to 20 applications"); the last one\'s final connect() shows whether the table ran out.',
    program: 'dupclose',
    args: ['--apps', '15'],
    cycles: 8,
    fillsTable: { withoutTable: TABLE_FREE_CYCLES / 15 },
    leakMeasuredAt: 'after-exit',
    source: 'KB Q198663',
  },
  'duphandle-ws1': {
    name: 'duphandle-ws1',
    title: 'Winsock 1.1 DuplicateHandle',
    description:
      'The same cycle through wsock32 with DuplicateHandle instead of WSADuplicateSocket; runs on a Windows 95 without the Winsock 2 update.',
    program: 'duphandle',
    args: [],
    cycles: 120,
    fillsTable: { withoutTable: TABLE_FREE_CYCLES },
    leakMeasuredAt: 'after-exit',
    source: 'KB Q198663',
  },
  'workaround-dummy-socket': {
    name: 'workaround-dummy-socket',
    title: 'Workaround: dummy socket in the child',
    description: 'The KB cycle, but the child creates a dummy TCP socket and closes it when it likes (first workaround in the KB).',
    program: 'dupclose',
    args: ['--workaround', 'dummy-socket'],
    cycles: 120,
    fillsTable: { withoutTable: TABLE_FREE_CYCLES },
    leakMeasuredAt: 'after-exit',
    source: 'KB Q198663 (resolution)',
  },
  'workaround-late-close': {
    name: 'workaround-late-close',
    title: 'Workaround: parent closes after the child',
    description: 'The KB cycle, but the parent closes its socket only after the child has exited (second workaround in the KB).',
    program: 'dupclose',
    args: ['--workaround', 'late-close'],
    cycles: 120,
    fillsTable: { withoutTable: TABLE_FREE_CYCLES },
    leakMeasuredAt: 'after-exit',
    source: 'KB Q198663 (resolution)',
  },
  'close-order': {
    name: 'close-order',
    title: 'Original closed before the duplicate',
    description:
      'The parent closes the original socket before the child closes the duplicate; on 95/98 the socket stays allocated until the process exits, so it is counted while the program still runs.',
    program: 'dupclose',
    args: ['--close-order', 'original-first', '--hold-ms', String(HOLD_MS)],
    cycles: 40,
    leakMeasuredAt: 'while-running',
    heldBy: 'program',
    source: 'KB Q229658',
  },
  'leak-control': {
    name: 'leak-control',
    title: 'Positive control: duplicates kept open',
    description:
      'Keeps every duplicate open on purpose and counts the held sockets while the program runs: every target must show them, which proves the harness can see a leak.',
    program: 'dupclose',
    args: ['--leak-control', '--hold-ms', String(HOLD_MS)],
    cycles: 40,
    leakMeasuredAt: 'while-running',
    heldBy: 'program',
    source: 'retrolab (positive control)',
  },
  'leak-after-exit': {
    name: 'leak-after-exit',
    title: 'Positive control: connections that outlive their program',
    description:
      'Hands every duplicate to a holder process that outlives the program, which then exits; the connections are counted after the exit, where the KB leak is measured, and the holder is ended afterwards. Every target must show them, which proves the after-exit measurement sees a leak when there is one.',
    program: 'dupclose',
    args: ['--holder', '--hold-ms', String(HOLD_MS)],
    cycles: 40,
    leakMeasuredAt: 'after-exit',
    heldBy: 'holder',
    source: 'retrolab (positive control)',
  },
  'leak-control-ws1': {
    name: 'leak-control-ws1',
    title: 'Positive control on Winsock 1.1: handles kept open',
    description:
      'leak-control through wsock32 and DuplicateHandle: keeps every original and duplicate open on purpose and counts them while the program runs. The positive control of a Windows 95 without the Winsock 2 update, where leak-control cannot run.',
    program: 'duphandle',
    args: ['--leak-control', '--hold-ms', String(HOLD_MS)],
    cycles: 40,
    leakMeasuredAt: 'while-running',
    heldBy: 'program',
    source: 'retrolab (positive control)',
  },
};

/**
 * The cycles per program run (per app) a scenario plans on a guest:
 * `definition.cycles` unless it fills the table; then enough to outrun the
 * table the guest reports (MaxConnections, else the default 100 slots) where
 * it has MSTCP's table, and `withoutTable` where it has none.
 */
export function tableFillCycles(
  definition: Pick<ScenarioDefinition, 'cycles' | 'fillsTable' | 'args'>,
  guest: { hasMstcpTable: boolean; maxConnections?: number },
): number {
  if (!definition.fillsTable) return definition.cycles;
  const at = definition.args.indexOf('--apps');
  const apps = at >= 0 ? Number(definition.args[at + 1]) : 1;
  if (!guest.hasMstcpTable) return definition.fillsTable.withoutTable;
  return Math.ceil((TABLE_FILL_FACTOR * (guest.maxConnections ?? DEFAULT_TABLE_SLOTS)) / apps);
}

export function isScenarioName(name: string): name is ScenarioName {
  return (SCENARIO_NAMES as readonly string[]).includes(name);
}
