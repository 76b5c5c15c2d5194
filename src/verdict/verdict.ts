import type { ScenarioExpectation } from '../config/expectations.ts';
import type { ConnectFailureCause, ObservedOutcome, TableExhaustion, Verdict, VerdictEvidence } from '../model/run-results.ts';
import { SCENARIOS } from '../model/scenario-catalog.ts';
import { definedSettings, type ScenarioObservation } from '../model/scenario-observation.ts';
import { countStates, TCP_STATES, type StateCounts } from '../model/tcp-state.ts';
import {
  classifyConnectFailure,
  countLeaked,
  heldTotal,
  leakThreshold,
  newPeerRows,
  peerRows,
  timeWaitPorts,
  type LeakCount,
} from './leak-analysis.ts';
import { netstatExcerpt } from './netstat-excerpt.ts';
import { describeWinsockError, WSAENOBUFS } from './winsock-errors.ts';

export function skippedVerdict(reason: string, fix: string): Verdict {
  return { status: 'skipped', reason, fix, evidence: null };
}

export function infraErrorVerdict(reason: string, fix?: string): Verdict {
  return fix === undefined ? { status: 'infra-error', reason, evidence: null } : { status: 'infra-error', reason, fix, evidence: null };
}

/**
 * Compares what a scenario did with what its target is predicted to do.
 *
 * Observed `clean` means no connection to the peer is held at the measuring
 * point that was not held before; `leak` means at least `leakThreshold` of
 * the connections the cycles opened are still held (see LEAK_FRACTION), or
 * the run met WSAENOBUFS with the socket table full of the scenario's own held
 * connections. TIME_WAIT never counts, and a WSAENOBUFS that comes from
 * ephemeral ports running out is reported as such, not as this bug.
 *
 * Every verdict needs evidence that the measured thing happened: connections
 * opened, every planned cycle run and completed (unless the run ended at a
 * full table, or the cycles fail as the target's cyclesFail records), and for
 * `clean` a connect per planned cycle and a connection to the peer seen in the
 * table; anything less is an infrastructure error, never a pass.
 */
export function decideVerdict(observation: ScenarioObservation, expectation: ScenarioExpectation): Verdict {
  const measuredAt = SCENARIOS[observation.scenario].leakMeasuredAt;
  const { before, during, after } = observation.snapshots;
  const peerText = `${observation.peer.addr}:${observation.peer.port}`;

  if (observation.programFailure !== undefined) {
    const failure = observation.programFailure;
    const code = failure.error === null ? '' : ` (${describeWinsockError(failure.error)})`;
    return infraErrorVerdict(`${programOf(observation)} failed at ${failure.step}${code}: ${failure.message}`);
  }
  if (observation.cycles.length === 0) {
    return infraErrorVerdict(`${programOf(observation)} reported no cycle`, 'check the program output in the run log');
  }
  if (measuredAt === 'while-running' && during === undefined) {
    return infraErrorVerdict(
      `${observation.scenario} counts held sockets while the program runs, but no snapshot was taken then`,
      'the scenario runner must take NETSTAT while the program holds its sockets',
    );
  }
  const connectionsOpened = observation.cycles.filter((cycle) => cycle.connected).length;
  const firstFailure = observation.cycles[0]?.failure;
  if (connectionsOpened === 0 && firstFailure !== undefined) {
    const cause = classifyConnectFailure(firstFailure.error, heldTotal(before.netstat.table), before.netstat.table, observation.settings);
    const failed = `no cycle could connect to the peer ${peerText}: ${firstFailure.step} failed with ${describeWinsockError(firstFailure.error)}`;
    if (cause === 'socket-table-full' || cause === 'ephemeral-ports-exhausted') {
      return infraErrorVerdict(
        `${failed}; the ${cause === 'socket-table-full' ? `socket table was already full (${heldTotal(before.netstat.table)} held sockets)` : 'ephemeral ports were already used up'} before the scenario started`,
        'restart the guest between scenarios so each starts with an empty table',
      );
    }
    return infraErrorVerdict(failed, 'check that the peer listens and that the guest reaches it');
  }
  if (connectionsOpened === 0) {
    return infraErrorVerdict(
      `no cycle opened a connection to the peer ${peerText}, and none reported a failure: the program's events do not show that the cycle ran`,
      'read the program output in the run log (its connect events)',
    );
  }

  const afterExit = countLeaked(before, after, observation.peer);
  const whileRunning = during === undefined ? null : countLeaked(before, during, observation.peer);
  const measured: LeakCount = measuredAt === 'while-running' && whileRunning !== null ? whileRunning : afterExit;
  const threshold = leakThreshold(connectionsOpened);

  const finalTable = (during ?? after).netstat.table;
  const finalConnect = observation.finalConnect;
  const cause =
    finalConnect === null || finalConnect.ok
      ? null
      : classifyConnectFailure(finalConnect.error, measured.leaked, finalTable, observation.settings);
  const noBufs = firstNoBufs(observation);
  const tableExhausted =
    noBufs !== null && classifyConnectFailure(WSAENOBUFS, measured.leaked, finalTable, observation.settings) === 'socket-table-full';
  const localPorts = new Set(observation.cycles.flatMap((cycle) => (cycle.localPort === undefined ? [] : [cycle.localPort])));
  const seenRows = [
    ...(during === undefined ? [] : [newPeerRows(before, during, observation.peer, localPorts)]),
    newPeerRows(before, after, observation.peer, localPorts),
  ];
  const peerRowsSeen = Math.max(...seenRows.map((rows) => rows.length));

  const observed: ObservedOutcome =
    measured.leaked >= threshold || tableExhausted ? 'leak' : measured.leaked === 0 ? 'clean' : 'partial-leak';
  const evidence: VerdictEvidence = {
    measuredAt,
    tableSource: measured.source,
    leaked: measured.leaked,
    leakedAfterExit: afterExit.leaked,
    leakedWhileRunning: whileRunning?.leaked ?? null,
    leakThreshold: threshold,
    connectionsOpened,
    leakRate: connectionsOpened === 0 ? 0 : measured.leaked / connectionsOpened,
    cyclesPlanned: observation.cyclesPlanned,
    cyclesRun: observation.cycles.length,
    cycleFailures: groupFailures(observation.cycles),
    leakedStates: nonZero(countStates(measured.rows.map((row) => row.state))),
    counts: {
      before: before.netstat.table.counts,
      ...(during === undefined ? {} : { during: during.netstat.table.counts }),
      after: after.netstat.table.counts,
    },
    timeWait: timeWaitPorts(finalTable),
    finalConnect,
    connectFailureCause: cause,
    tableExhausted,
    tableExhaustion:
      noBufs === null
        ? null
        : {
            cycle: noBufs.cycle,
            cyclesPlanned: observation.cyclesPlanned,
            step: noBufs.step,
            held: measured.leaked,
            heldStates: nonZero(countStates(measured.rows.map((row) => row.state))),
            heldInTable: heldTotal(measured.capture.table),
            maxConnections: observation.settings.maxConnections ?? null,
          },
    peerRowsSeen,
    settings: definedSettings(observation.settings),
    netstatExcerpt: netstatExcerpt(
      measured.snapshot,
      measured.rows.length > 0 ? measured.rows : peerRows(measured.capture.table, observation.peer),
      measured.capture,
    ),
  };

  const expected = expectation.expect;
  const seen = describeObservation(evidence, observed);
  const predicted = `${expectation.source}${expectation.note === undefined ? '' : `: ${expectation.note}`}`;
  const base = { expected, observed, evidence };
  const infra = (reason: string, fix: string): Verdict => ({ ...infraErrorVerdict(reason, fix), evidence });

  // A run cut short, or cycles that failed part-way, say nothing about the
  // cycles the scenario is made of — unless what stopped them is the thing
  // measured (WSAENOBUFS once the scenario's own held connections filled the
  // table, and nothing but that after it) or the platform limitation its
  // expectations record (cyclesFail).
  const known = expectation.cyclesFail;
  const cyclesRun = observation.cycles.length;
  const endedAtFullTable = tableExhausted && noBufs?.endedRun === true;
  const exhaustedFrom = endedAtFullTable && noBufs.cycle !== null ? noBufs.cycle : Number.POSITIVE_INFINITY;
  const completed = observation.cycles.filter((cycle) => cycle.failure === undefined).length;
  // With a recorded limitation, cycles that fail otherwise contradict the record: that is the expectation's fail below.
  const broken =
    known !== undefined ? [] : observation.cycles.filter((cycle) => cycle.failure !== undefined && cycle.index < exhaustedFrom);
  if (cyclesRun < observation.cyclesPlanned && !endedAtFullTable) {
    return infra(
      `only ${cyclesRun} of ${observation.cyclesPlanned} planned cycles ran, and the run did not end at a full socket table: ${seen}`,
      'read the program output in the run log (was it killed, or did a step fail that stops the cycles?)',
    );
  }
  if (broken.length > 0) {
    const failures = groupFailures(broken)
      .map((failure) => `${failure.step} ${describeWinsockError(failure.error)} ×${failure.count}`)
      .join(', ');
    return infra(
      completed === 0
        ? `no cycle of ${programOf(observation)} completed, so the scenario could not be observed: ${seen}`
        : `${broken.length} of ${observation.cyclesPlanned} planned cycles failed part-way (${failures}), so they did not run the scenario's cycle: ${seen}`,
      'read the program output in the run log; if this platform cannot run the cycle, record that as "cyclesFail" in its expectations.json',
    );
  }
  if (observed === 'clean') {
    // Clean is an absence; it counts only when the connections demonstrably existed.
    if (connectionsOpened < observation.cyclesPlanned) {
      return infra(
        `only ${connectionsOpened} of ${observation.cyclesPlanned} planned cycles connected to the peer ${peerText}, so clean is not shown for the rest: ${seen}`,
        'read the program output in the run log (its connect events)',
      );
    }
    if (peerRowsSeen === 0) {
      return infra(
        `no row to the peer ${peerText} in NETSTAT${before.tcptab === undefined ? '' : ' or tcptab'} during or after the run, in any state, and no row of the peer's end of a connection from one of the cycles' ${localPorts.size} local ports: the table shows none of the ${connectionsOpened} connections the cycles opened, so it cannot show that they were closed`,
        "check that the snapshot lists this guest's TCP connections (NETSTAT -AN output in results.json) and that the peer address matches what the guest sees",
      );
    }
  }

  if (known !== undefined) {
    const knownText = `${known.step} ${describeWinsockError(known.error)}`;
    const failedAsKnown = completed === 0 && evidence.cycleFailures.every((f) => f.step === known.step && f.error === known.error);
    const outcomeAsPredicted = expected === 'unknown' || expected === observed;
    if (failedAsKnown && outcomeAsPredicted) {
      return {
        status: 'pass',
        reason: `every cycle failed at ${knownText}, as recorded for this target (${known.why}), and observed ${observed}: ${seen}`,
        ...base,
      };
    }
    return {
      status: 'fail',
      reason: failedAsKnown
        ? `every cycle failed at ${knownText} as recorded (${known.why}), but expected ${expected === 'leak' ? 'a leak' : 'clean'} (${predicted}) and observed ${observed}: ${seen}`
        : completed > 0
          ? `expected every cycle to fail at ${knownText} (${known.why}), but ${completed} of ${observation.cycles.length} completed: ${seen}`
          : `expected every cycle to fail at ${knownText} (${known.why}), but they failed otherwise: ${seen}`,
      ...base,
    };
  }
  if (expected === 'unknown') {
    return { status: 'pass', reason: `no firm prediction (${predicted}); observed ${observed}: ${seen}`, ...base };
  }
  if (expected === observed) {
    return { status: 'pass', reason: `${expected} as predicted by ${expectation.source}: ${seen}`, ...base };
  }
  return {
    status: 'fail',
    reason: `expected ${expected === 'leak' ? 'a leak' : 'clean'} (${predicted}) but observed ${observed}: ${seen}`,
    ...base,
  };
}

/**
 * The first WSAENOBUFS of the run: at a cycle's step (socket() or connect()
 * as a rule, or the child's copy of the socket when that met the full table
 * first), else at the final connect(). `endedRun`: nothing but WSAENOBUFS came
 * after it (the program stops its cycles at a failed connect; with many
 * applications, each later one fails at its first connect the same way).
 */
function firstNoBufs(observation: ScenarioObservation): { cycle: number | null; step: string; endedRun: boolean } | null {
  const isNoBufs = (cycle: ScenarioObservation['cycles'][number]) => cycle.failure !== undefined && cycle.failure.error === WSAENOBUFS;
  const at = observation.cycles.findIndex(isNoBufs);
  const final = observation.finalConnect;
  const finalNoBufs = final !== null && !final.ok && final.error === WSAENOBUFS;
  if (at === -1) return finalNoBufs ? { cycle: null, step: 'final-connect', endedRun: true } : null;
  const first = observation.cycles[at]!;
  const endedRun = observation.cycles.slice(at).every(isNoBufs) && (final === null || finalNoBufs);
  return { cycle: first.index, step: first.failure!.step, endedRun };
}

function programOf(observation: ScenarioObservation): string {
  return SCENARIOS[observation.scenario].program;
}

function describeObservation(evidence: VerdictEvidence, observed: ObservedOutcome): string {
  const when = evidence.measuredAt === 'after-exit' ? 'after the program exited' : 'while the program ran';
  const states = Object.entries(evidence.leakedStates)
    .map(([state, count]) => `${state} ${count}`)
    .join(', ');
  const parts = [
    observed === 'clean'
      ? `no connection to the peer held ${when} (${evidence.connectionsOpened} opened)`
      : `${evidence.leaked} of ${evidence.connectionsOpened} connections held ${when}${states === '' ? '' : ` (${states})`}${observed === 'partial-leak' ? `, below the leak threshold of ${evidence.leakThreshold}` : ''}`,
  ];
  const exhaustion = evidence.tableExhaustion;
  if (exhaustion !== null) parts.push(describeExhaustion(exhaustion, evidence.tableExhausted));
  const connect = evidence.finalConnect;
  if (connect !== null && !connect.ok) {
    const why: Record<ConnectFailureCause, string> = {
      'socket-table-full': `the socket table is full (${evidence.settings.maxConnections === undefined ? 'default MaxConnections 100' : `MaxConnections ${evidence.settings.maxConnections}`})`,
      'ephemeral-ports-exhausted': `ephemeral ports ran out (${evidence.timeWait.distinctLocalPorts} ports in TIME_WAIT), which is port exhaustion, not this bug`,
      unexplained: 'neither a full socket table nor exhausted ephemeral ports explains it',
    };
    parts.push(`final connect() failed with ${describeWinsockError(connect.error)}: ${why[evidence.connectFailureCause ?? 'unexplained']}`);
  }
  if (evidence.timeWait.rows > 0) parts.push(`${evidence.timeWait.rows} in TIME_WAIT (normal, not a leak)`);
  const failures = evidence.cycleFailures.map((failure) => `${failure.step} ${describeWinsockError(failure.error)} ×${failure.count}`);
  if (failures.length > 0) parts.push(`failed cycles: ${failures.join(', ')}`);
  return parts.join('; ');
}

/** "WSAENOBUFS at cycle 97 of 120 with 96 connections held in CLOSE_WAIT/FIN_WAIT_2 (MaxConnections 100)". */
function describeExhaustion(exhaustion: TableExhaustion, full: boolean): string {
  const where =
    exhaustion.cycle === null
      ? `the final connect() after ${exhaustion.cyclesPlanned} cycles`
      : `cycle ${exhaustion.cycle} of ${exhaustion.cyclesPlanned}`;
  const states = Object.entries(exhaustion.heldStates)
    .sort((a, b) => b[1] - a[1])
    .map(([state]) => state)
    .join('/');
  const limit =
    exhaustion.maxConnections === null
      ? 'MaxConnections not reported by the guest; the default is 100'
      : `MaxConnections ${exhaustion.maxConnections}`;
  const held = `${exhaustion.held} connection${exhaustion.held === 1 ? '' : 's'} held${states === '' ? '' : ` in ${states}`}`;
  const text = `WSAENOBUFS at ${where} with ${held} (${limit})`;
  return full ? text : `${text}, too few of this scenario's to fill the table (${exhaustion.heldInTable} held rows in all)`;
}

function groupFailures(cycles: readonly ScenarioObservation['cycles'][number][]): VerdictEvidence['cycleFailures'] {
  const groups = new Map<string, { step: string; error: number; count: number }>();
  for (const cycle of cycles) {
    if (cycle.failure === undefined) continue;
    const key = `${cycle.failure.step}/${cycle.failure.error}`;
    const group = groups.get(key) ?? { ...cycle.failure, count: 0 };
    group.count += 1;
    groups.set(key, group);
  }
  return [...groups.values()];
}

function nonZero(counts: StateCounts): Partial<StateCounts> {
  return Object.fromEntries(TCP_STATES.filter((state) => counts[state] > 0).map((state) => [state, counts[state]]));
}
