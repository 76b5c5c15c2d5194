import { describe, expect, it } from 'vitest';
import type { ScenarioExpectation } from '../../src/config/expectations.ts';
import { decideVerdict, skippedVerdict } from '../../src/verdict/verdict.ts';
import {
  cleanObservation,
  connectedCycles,
  failedCycles,
  leakedObservation,
  observation,
  range,
  rowsIn,
  snapshot,
  tcptabCapture,
} from '../fixtures/netstat/observations.ts';

const LEAK: ScenarioExpectation = { expect: 'leak', source: 'KB Q198663' };
const CLEAN: ScenarioExpectation = { expect: 'clean', source: 'KB Q198663' };
const UNKNOWN: ScenarioExpectation = { expect: 'unknown', source: 'KB Q198663', note: 'unverified' };

describe('the KB cycle', () => {
  it('passes a clean target whose closed connections wait out TIME_WAIT', () => {
    const verdict = decideVerdict(cleanObservation(), CLEAN);
    expect(verdict.status).toBe('pass');
    expect(verdict.observed).toBe('clean');
    expect(verdict.evidence).toMatchObject({ leaked: 0, connectionsOpened: 120, leakRate: 0, timeWait: { rows: 120 } });
    expect(verdict.reason).toContain('120 in TIME_WAIT (normal, not a leak)');
  });

  it('passes a leaking Win9x target and flags the full socket table', () => {
    const verdict = decideVerdict(leakedObservation(), LEAK);
    expect(verdict.status).toBe('pass');
    expect(verdict.observed).toBe('leak');
    expect(verdict.evidence).toMatchObject({
      leaked: 100,
      leakedAfterExit: 100,
      leakedWhileRunning: 100,
      connectionsOpened: 100,
      leakRate: 1,
      leakedStates: { CLOSE_WAIT: 100 },
      tableExhausted: true,
      connectFailureCause: 'socket-table-full',
      cycleFailures: [{ step: 'connect', error: 10055, count: 1 }],
      tableExhaustion: { cycle: 101, cyclesPlanned: 120, step: 'connect', held: 100, heldInTable: 100, maxConnections: 100 },
    });
    expect(verdict.reason).toContain('100 of 100 connections held after the program exited (CLOSE_WAIT 100)');
    expect(verdict.reason).toContain('WSAENOBUFS (10055)');
    expect(verdict.reason).toContain('WSAENOBUFS at cycle 101 of 120 with 100 connections held in CLOSE_WAIT (MaxConnections 100)');
  });

  it('turns a deliberately wrong expectation into a fail with the evidence', () => {
    const verdict = decideVerdict(leakedObservation(), { expect: 'clean', source: 'a wrong prediction' });
    expect(verdict.status).toBe('fail');
    expect(verdict.reason).toMatch(/^expected clean \(a wrong prediction\) but observed leak: 100 of 100/);
    expect(verdict.evidence?.leaked).toBe(100);
    expect(verdict.evidence?.counts.after.CLOSE_WAIT).toBe(100);
    const excerpt = verdict.evidence?.netstatExcerpt.split('\n') ?? [];
    expect(excerpt[0]).toMatch(/Proto\s+Local Address/);
    expect(excerpt[1]).toBe('  TCP    10.0.2.15:1030         10.0.2.2:7000          CLOSE_WAIT');
    expect(excerpt).toHaveLength(14);
    expect(excerpt.at(-1)).toBe('  … 88 more');
  });

  it('fails a clean target against a predicted leak, quoting its TIME_WAIT rows', () => {
    const verdict = decideVerdict(cleanObservation(), LEAK);
    expect(verdict.status).toBe('fail');
    expect(verdict.reason).toMatch(/^expected a leak \(KB Q198663\) but observed clean/);
    expect(verdict.evidence?.netstatExcerpt).toContain('TIME_WAIT');
  });

  it('does not count connections that were already held before the scenario', () => {
    const leftovers = rowsIn('CLOSE_WAIT', range(1025, 5));
    const verdict = decideVerdict(
      observation({
        snapshots: { before: snapshot(leftovers), after: snapshot([...leftovers, ...rowsIn('TIME_WAIT', range(1030, 120))]) },
      }),
      CLEAN,
    );
    expect(verdict.status).toBe('pass');
    expect(verdict.evidence?.leaked).toBe(0);
  });

  it('ignores held connections to other peers', () => {
    const other = range(2000, 30).map((port): [number, string, string] => [port, 'CLOSE_WAIT', '10.0.2.3:80']);
    const verdict = decideVerdict(
      observation({ snapshots: { before: snapshot([]), after: snapshot([...other, ...rowsIn('TIME_WAIT', range(1030, 120))]) } }),
      CLEAN,
    );
    expect(verdict.observed).toBe('clean');
  });

  it('calls a few held connections a partial leak, which matches neither prediction', () => {
    const obs = observation({ snapshots: { before: snapshot([]), after: snapshot(rowsIn('FIN_WAIT_2', range(1030, 3))) } });
    for (const expectation of [CLEAN, LEAK]) {
      const verdict = decideVerdict(obs, expectation);
      expect(verdict.status).toBe('fail');
      expect(verdict.observed).toBe('partial-leak');
      expect(verdict.reason).toContain('below the leak threshold of 60');
    }
  });

  it('reports but never fails an unknown expectation', () => {
    const leaked = decideVerdict(leakedObservation(), UNKNOWN);
    const clean = decideVerdict(cleanObservation(), UNKNOWN);
    expect([leaked.status, leaked.observed]).toEqual(['pass', 'leak']);
    expect([clean.status, clean.observed]).toEqual(['pass', 'clean']);
    expect(leaked.reason).toMatch(/^no firm prediction \(KB Q198663: unverified\); observed leak/);
  });

  it("counts in tcptab when both snapshots have it, since Wine's NETSTAT hides FIN_WAIT_2", () => {
    const before = snapshot([]);
    const after = snapshot([]);
    before.tcptab = tcptabCapture([]);
    after.tcptab = tcptabCapture(range(1030, 120).map((port) => [port, 'FIN_WAIT_2']));
    const verdict = decideVerdict(observation({ snapshots: { before, after } }), CLEAN);
    expect(verdict.status).toBe('fail');
    expect(verdict.evidence).toMatchObject({ tableSource: 'tcptab', leaked: 120, leakedStates: { FIN_WAIT_2: 120 } });
    // NETSTAT has no line for these rows, so the evidence quotes tcptab's.
    expect(verdict.evidence?.netstatExcerpt.split('\n').slice(0, 2)).toEqual([
      '  Proto  Local Address          Foreign Address        State',
      '10.0.2.15:1030 10.0.2.2:7000 FIN_WAIT_2',
    ]);
  });
});

describe('telling this bug apart from its neighbours', () => {
  // Every planned cycle connected; the final connect() probes the ports they left in TIME_WAIT.
  const portExhaustion = () =>
    observation({
      target: 'winnt4',
      cycles: connectedCycles(3977),
      cyclesPlanned: 3977,
      finalConnect: { ok: false, error: 10055 },
      snapshots: { before: snapshot([]), after: snapshot(rowsIn('TIME_WAIT', range(1024, 3977))) },
    });

  it('reports WSAENOBUFS with thousands of TIME_WAIT ports as port exhaustion, not a leak', () => {
    const verdict = decideVerdict(portExhaustion(), CLEAN);
    expect(verdict.status).toBe('pass');
    expect(verdict.observed).toBe('clean');
    expect(verdict.evidence).toMatchObject({
      connectFailureCause: 'ephemeral-ports-exhausted',
      tableExhausted: false,
      timeWait: { distinctLocalPorts: 3977 },
    });
    expect(verdict.reason).toContain('port exhaustion, not this bug');
  });

  it('does not let port exhaustion pass for the predicted leak', () => {
    const verdict = decideVerdict(portExhaustion(), LEAK);
    expect(verdict.status).toBe('fail');
    expect(verdict.observed).toBe('clean');
  });

  it('treats WSAEADDRINUSE with ports used up the same way', () => {
    const obs = portExhaustion();
    obs.finalConnect = { ok: false, error: 10048 };
    expect(decideVerdict(obs, CLEAN).evidence?.connectFailureCause).toBe('ephemeral-ports-exhausted');
  });

  it('scales the port-exhaustion threshold to a lowered MaxUserPort', () => {
    const obs = observation({
      finalConnect: { ok: false, error: 10055 },
      settings: { maxUserPort: 1200 },
      snapshots: { before: snapshot([]), after: snapshot(rowsIn('TIME_WAIT', range(1024, 120))) },
    });
    expect(decideVerdict(obs, CLEAN).evidence?.connectFailureCause).toBe('ephemeral-ports-exhausted');
  });

  it('uses a lowered MaxConnections to recognise a full table', () => {
    const held = rowsIn('CLOSE_WAIT', range(1030, 10));
    const obs = observation({
      cycles: [...connectedCycles(10), ...failedCycles(11, 1, 10055)],
      finalConnect: { ok: false, error: 10055 },
      settings: { maxConnections: 12 },
      snapshots: { before: snapshot([]), after: snapshot(held) },
    });
    const verdict = decideVerdict(obs, LEAK);
    expect(verdict.status).toBe('pass');
    expect(verdict.evidence?.tableExhausted).toBe(true);
    expect(verdict.reason).toContain('MaxConnections 12');
  });

  it('calls a WSAENOBUFS that nothing explains unexplained', () => {
    const obs = cleanObservation();
    obs.finalConnect = { ok: false, error: 10055 };
    const verdict = decideVerdict(obs, CLEAN);
    expect(verdict.evidence?.connectFailureCause).toBe('unexplained');
    expect(verdict.reason).toContain('neither a full socket table nor exhausted ephemeral ports');
  });
});

describe('scenarios counted while the program runs', () => {
  it('passes the positive control on a clean target from the snapshot taken while running', () => {
    const held = rowsIn('ESTABLISHED', range(1030, 40));
    const verdict = decideVerdict(
      observation({
        scenario: 'leak-control',
        cyclesPlanned: 40,
        cycles: connectedCycles(40),
        snapshots: { before: snapshot([]), during: snapshot(held), after: snapshot(rowsIn('TIME_WAIT', range(1030, 40))) },
      }),
      { expect: 'leak', source: 'retrolab (positive control)' },
    );
    expect(verdict.status).toBe('pass');
    expect(verdict.evidence).toMatchObject({ measuredAt: 'while-running', leaked: 40, leakedWhileRunning: 40, leakedAfterExit: 0 });
    expect(verdict.reason).toContain('40 of 40 connections held while the program ran (ESTABLISHED 40)');
  });

  it('is an infrastructure error when that snapshot is missing', () => {
    const verdict = decideVerdict(observation({ scenario: 'close-order' }), LEAK);
    expect(verdict.status).toBe('infra-error');
    expect(verdict.reason).toContain('no snapshot was taken');
  });
});

describe('failures of the lab itself', () => {
  it('is an infrastructure error when the program could not run its cycle', () => {
    const verdict = decideVerdict(
      observation({ programFailure: { step: 'spawn-child', error: 2, message: 'CreateProcess failed' } }),
      CLEAN,
    );
    expect(verdict).toEqual({
      status: 'infra-error',
      reason: 'dupclose failed at spawn-child (error 2): CreateProcess failed',
      evidence: null,
    });
  });

  it('is an infrastructure error when the peer cannot be reached', () => {
    const verdict = decideVerdict(observation({ cycles: failedCycles(1, 120, 10061), finalConnect: { ok: false, error: 10061 } }), LEAK);
    expect(verdict.status).toBe('infra-error');
    expect(verdict.reason).toContain('WSAECONNREFUSED (10061)');
    expect(verdict.fix).toContain('peer');
  });

  it('is an infrastructure error when the table was full before the scenario started', () => {
    const full = snapshot(rowsIn('CLOSE_WAIT', range(1030, 100)));
    const verdict = decideVerdict(
      observation({
        cycles: failedCycles(1, 120, 10055),
        finalConnect: { ok: false, error: 10055 },
        snapshots: { before: full, after: full },
      }),
      LEAK,
    );
    expect(verdict.status).toBe('infra-error');
    expect(verdict.reason).toContain('already full (100 held sockets)');
    expect(verdict.fix).toContain('restart the guest');
  });

  // Wine's child cannot use a socket handle duplicated with DuplicateHandle: each cycle connects, then the child's send fails.
  const childCannotSend = () =>
    connectedCycles(120).map((cycle) => ({ ...cycle, ok: false, failure: { step: 'child-send', error: 10038 } }));
  const KNOWN: ScenarioExpectation = {
    ...CLEAN,
    cyclesFail: { step: 'child-send', error: 10038, why: 'the child cannot use a DuplicateHandle socket' },
  };

  it('is an infrastructure error when every cycle failed part-way, whatever the table shows', () => {
    const verdict = decideVerdict(observation({ scenario: 'duphandle-ws1', cycles: childCannotSend() }), CLEAN);
    expect(verdict.status).toBe('infra-error');
    expect(verdict.reason).toMatch(
      /^no cycle of duphandle completed, so the scenario could not be observed: .*failed cycles: child-send WSAENOTSOCK \(10038\) ×120/,
    );
    expect(verdict.fix).toContain('cyclesFail');
    expect(verdict.evidence?.cycleFailures).toEqual([{ step: 'child-send', error: 10038, count: 120 }]);
  });

  it('passes a recorded platform limitation only while exactly that failure happens', () => {
    const limited = decideVerdict(observation({ scenario: 'duphandle-ws1', cycles: childCannotSend() }), KNOWN);
    expect(limited.status).toBe('pass');
    expect(limited.reason).toMatch(
      /^every cycle failed at child-send WSAENOTSOCK \(10038\), as recorded for this target \(the child cannot use a DuplicateHandle socket\)/,
    );

    const fixed = decideVerdict(observation({ scenario: 'duphandle-ws1' }), KNOWN);
    expect(fixed.status).toBe('fail');
    expect(fixed.reason).toMatch(/but 120 of 120 completed/);

    const otherError = connectedCycles(120).map((cycle) => ({ ...cycle, ok: false, failure: { step: 'child-send', error: 10054 } }));
    expect(decideVerdict(observation({ scenario: 'duphandle-ws1', cycles: otherError }), KNOWN).status).toBe('fail');
  });

  it('is an infrastructure error when no cycle was reported', () => {
    expect(decideVerdict(observation({ cycles: [] }), CLEAN).status).toBe('infra-error');
  });

  it('builds skipped verdicts with the fix', () => {
    expect(skippedVerdict('no image configured for win95', 'set RETROLAB_IMAGE_WIN95')).toEqual({
      status: 'skipped',
      reason: 'no image configured for win95',
      fix: 'set RETROLAB_IMAGE_WIN95',
      evidence: null,
    });
  });
});
