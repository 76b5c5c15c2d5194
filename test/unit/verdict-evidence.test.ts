import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ScenarioExpectation } from '../../src/config/expectations.ts';
import { parseDupcloseEvents } from '../../src/dupclose/dupclose-events.ts';
import { summarizeDupcloseRun } from '../../src/dupclose/dupclose-run.ts';
import type { ScenarioObservation, Snapshot } from '../../src/model/scenario-observation.ts';
import { parseNetstat } from '../../src/netstat/netstat-parser.ts';
import { decideVerdict } from '../../src/verdict/verdict.ts';
import { connectedCycles, observation, range, rowsIn, snapshot, tcptabCapture } from '../fixtures/netstat/observations.ts';

const LEAK: ScenarioExpectation = { expect: 'leak', source: 'KB Q198663' };
const CLEAN: ScenarioExpectation = { expect: 'clean', source: 'KB Q198663' };
const PEER = { addr: '10.0.2.2', port: 7000 };

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/netstat/${name}`, import.meta.url), 'utf8');
const win98 = (moment: 'before' | 'after'): Snapshot => {
  const raw = fixture(`win98-table-full-${moment}.txt`);
  return { netstat: { raw, table: parseNetstat(raw) } };
};

/**
 * dupclose's event lines (guest-apps/README.md) for a run of `planned` cycles
 * on a stack whose table runs out: `ok` cycles work, the next one's socket()
 * fails with WSAENOBUFS, the program stops its cycles there and its final
 * connect() fails the same way.
 */
function exhaustedRun(planned: number, ok: number): string {
  const line = (event: string, fields: string) => `event=${event} role=parent app=0 ${fields}`;
  const lines = [
    line(
      'start',
      `prog=dupclose pid=4093 mode=plain close_order=duplicate-first cycles=${planned} peer=10.0.2.2:7000 apps=0 parallel=0 eof_ms=1000 hold_ms=0`,
    ),
    line('wsastartup', 'ok=1 err=0 version=2.2'),
  ];
  for (const cycle of range(1, ok)) {
    lines.push(
      line('child-start', `cycle=${cycle} ok=1 err=0 call=CreateProcessA pid=${5000 + cycle} ms=40`),
      line('connect', `cycle=${cycle} ok=1 err=0 call=connect ms=3 local_port=${1029 + cycle}`),
      line('duplicate', `cycle=${cycle} ok=1 err=0 call=WSADuplicateSocketA`),
      `event=child-open role=child app=0 cycle=${cycle} ok=1 err=0 call=WSASocketA`,
      `event=child-send role=child app=0 cycle=${cycle} ok=1 err=0 bytes=5`,
      `event=child-close role=child app=0 cycle=${cycle} ok=1 err=0`,
      line('parent-close', `cycle=${cycle} ok=1 err=0`),
      line('child-exit', `cycle=${cycle} ok=1 code=0`),
      line('cycle', `cycle=${cycle} ok=1 ms=120`),
    );
  }
  const failed = ok + 1;
  lines.push(
    line('child-start', `cycle=${failed} ok=1 err=0 call=CreateProcessA pid=${5000 + failed} ms=41`),
    line('connect', `cycle=${failed} ok=0 err=10055 call=socket ms=0 local_port=0`),
    line('child-exit', `cycle=${failed} ok=0 code=1`),
    line('cycle', `cycle=${failed} ok=0 ms=60`),
    line('final-connect', 'cycle=0 ok=0 err=10055 call=socket ms=0 local_port=0'),
    line('summary', `ok=0 cycles=${planned} cycles_run=${failed} cycles_ok=${ok} final_ok=0 held=0 ms=40000`),
  );
  return lines.join('\r\n') + '\r\n';
}

function win98Exhausted(settings: ScenarioObservation['settings'] = { maxConnections: 100 }): ScenarioObservation {
  const run = summarizeDupcloseRun(parseDupcloseEvents(exhaustedRun(120, 96)));
  return {
    target: 'win98',
    scenario: 'dup-close',
    peer: PEER,
    cyclesPlanned: run.cyclesPlanned ?? 0,
    cycles: run.cycles,
    finalConnect: run.finalConnect,
    snapshots: { before: win98('before'), after: win98('after') },
    settings,
  };
}

describe('table exhaustion as an observation (Win98 NETSTAT in the 9x layout)', () => {
  it('records the cycle, the connections held by state and MaxConnections, and passes the predicted leak', () => {
    const verdict = decideVerdict(win98Exhausted(), LEAK);
    expect(verdict.status, verdict.reason).toBe('pass');
    expect(verdict.observed).toBe('leak');
    expect(verdict.evidence?.tableExhausted).toBe(true);
    expect(verdict.evidence?.tableExhaustion).toEqual({
      cycle: 97,
      cyclesPlanned: 120,
      step: 'socket',
      held: 96,
      heldStates: { FIN_WAIT_2: 6, CLOSE_WAIT: 90 },
      heldInTable: 98,
      maxConnections: 100,
    });
    expect(verdict.reason).toContain(
      'WSAENOBUFS at cycle 97 of 120 with 96 connections held in CLOSE_WAIT/FIN_WAIT_2 (MaxConnections 100)',
    );
  });

  it('says so when the guest did not report MaxConnections', () => {
    const verdict = decideVerdict(win98Exhausted({}), LEAK);
    expect(verdict.status).toBe('pass');
    expect(verdict.evidence?.tableExhaustion?.maxConnections).toBeNull();
    expect(verdict.reason).toContain(
      'WSAENOBUFS at cycle 97 of 120 with 96 connections held in CLOSE_WAIT/FIN_WAIT_2 (MaxConnections not reported by the guest; the default is 100)',
    );
  });

  it('fails a target predicted clean that ran into the full table, with the same evidence', () => {
    const verdict = decideVerdict(win98Exhausted(), CLEAN);
    expect(verdict.status).toBe('fail');
    expect(verdict.reason).toContain('WSAENOBUFS at cycle 97 of 120');
  });
});

describe('evidence holes (issue 10 item 4): each of these passed before', () => {
  it('zero connections opened and no failure recorded is an infrastructure error, not clean', () => {
    const cycles = range(1, 120).map((index) => ({ index, connected: false, ok: true }));
    const verdict = decideVerdict(
      observation({ cycles, snapshots: { before: snapshot([]), after: snapshot(rowsIn('TIME_WAIT', range(1030, 120))) } }),
      CLEAN,
    );
    expect(verdict.status).toBe('infra-error');
    expect(verdict.reason).toContain('no cycle opened a connection');
  });

  it('a run cut short is an infrastructure error: 1 of 120 cycles is no evidence', () => {
    const verdict = decideVerdict(
      observation({
        cyclesPlanned: 120,
        cycles: connectedCycles(1),
        snapshots: { before: snapshot([]), after: snapshot(rowsIn('TIME_WAIT', [1030])) },
      }),
      CLEAN,
    );
    expect(verdict.status).toBe('infra-error');
    expect(verdict.reason).toContain('1 of 120 planned cycles ran');
  });

  it('cycles that failed part-way are no evidence either: 1 completed of 120 is an infrastructure error', () => {
    const cycles = connectedCycles(120).map((cycle, index) =>
      index === 0 ? cycle : { ...cycle, ok: false, failure: { step: 'child-open', error: 10022 } },
    );
    const verdict = decideVerdict(observation({ cycles }), CLEAN);
    expect(verdict.status).toBe('infra-error');
    expect(verdict.reason).toContain('119 of 120 planned cycles failed part-way (child-open WSAEINVAL (10022) ×119)');
  });

  it("a run cut short by WSAENOBUFS without a table full of the scenario's connections is an infrastructure error too", () => {
    const obs = observation({
      cyclesPlanned: 120,
      cycles: [...connectedCycles(1), { index: 2, connected: false, ok: false, failure: { step: 'connect', error: 10055 } }],
      finalConnect: { ok: false, error: 10055 },
      snapshots: { before: snapshot([]), after: snapshot(rowsIn('CLOSE_WAIT', [1030])) },
    });
    const verdict = decideVerdict(obs, LEAK);
    expect(verdict.status).toBe('infra-error');
    expect(verdict.reason).toContain('2 of 120 planned cycles ran');
  });

  it('a recorded platform limitation passes only when the outcome matches the prediction as well', () => {
    // Every cycle failed as recorded, but all 120 connections are still held after exit: not the predicted clean.
    const cycles = connectedCycles(120).map((cycle) => ({ ...cycle, ok: false, failure: { step: 'child-send', error: 10038 } }));
    const known: ScenarioExpectation = { ...CLEAN, cyclesFail: { step: 'child-send', error: 10038, why: 'Wine' } };
    const verdict = decideVerdict(
      observation({
        scenario: 'duphandle-ws1',
        cycles,
        snapshots: { before: snapshot([]), after: snapshot(rowsIn('CLOSE_WAIT', range(1030, 120))) },
      }),
      known,
    );
    expect(verdict.status).toBe('fail');
    expect(verdict.observed).toBe('leak');
    expect(verdict.reason).toContain('expected clean');
  });

  it('the full-table shortcut counts only held rows to the peer that are new since "before"', () => {
    // 60 sockets were held before the scenario (stale, to another host); the scenario's 120 connections all closed.
    const stale = range(2000, 60).map((port): [number, string, string] => [port, 'CLOSE_WAIT', '10.0.2.3:80']);
    const obs = observation({
      finalConnect: { ok: false, error: 10055 },
      settings: { maxConnections: 100 },
      snapshots: { before: snapshot(stale), after: snapshot([...stale, ...rowsIn('TIME_WAIT', range(1030, 120))]) },
    });
    const verdict = decideVerdict(obs, LEAK);
    expect(verdict.observed).toBe('clean');
    expect(verdict.evidence?.tableExhausted).toBe(false);
    expect(verdict.status).toBe('fail');
  });

  it('held rows to the peer that were there before do not make a full table either', () => {
    const leftovers = rowsIn('CLOSE_WAIT', range(1025, 60));
    const obs = observation({
      finalConnect: { ok: false, error: 10055 },
      settings: { maxConnections: 100 },
      snapshots: { before: snapshot(leftovers), after: snapshot([...leftovers, ...rowsIn('TIME_WAIT', range(1200, 120))]) },
    });
    expect(decideVerdict(obs, LEAK).evidence?.tableExhausted).toBe(false);
  });

  it('a table that shows nothing of the connections is an infrastructure error, not clean', () => {
    const verdict = decideVerdict(observation({ snapshots: { before: snapshot([]), after: snapshot([]) } }), CLEAN);
    expect(verdict.status).toBe('infra-error');
    expect(verdict.reason).toContain('no row to the peer 10.0.2.2:7000');
  });

  describe("the peer's end of the cycles' connections (Wine: the peer shares the guest's stack)", () => {
    // Wine's NETSTAT -AN after workaround-late-close (3 cycles): the peer (socat on 127.0.0.1:7000) closed
    // first once it had read the child's bytes, so the guest's ends closed passively and left no row; the
    // peer's ends wait out TIME_WAIT. The final connect's own row is gone too here (its close raced the same
    // way), which is the run that was once reported as "no row to the peer".
    const wine = (rows: string[]): Snapshot => {
      const raw = ['', 'Active Connections', '', '  Proto  Local Address          Foreign Address        State', ...rows, ''].join('\n');
      return { netstat: { raw, table: parseNetstat(raw) } };
    };
    const peerEnd = (port: number) => `  TCP    127.0.0.1:7000         127.0.0.1:${port}        TIME_WAIT`;
    const lateClose = (after: Snapshot, before: Snapshot = wine([])): ScenarioObservation =>
      observation({
        scenario: 'workaround-late-close',
        peer: { addr: '127.0.0.1', port: 7000 },
        cyclesPlanned: 3,
        cycles: [50170, 50186, 50196].map((localPort, i) => ({ index: i + 1, connected: true, ok: true, localPort })),
        snapshots: { before, after },
      });

    it('counts as the positive sign a clean verdict needs', () => {
      const verdict = decideVerdict(lateClose(wine([peerEnd(50170), peerEnd(50186), peerEnd(50196)])), CLEAN);
      expect(verdict.status, verdict.reason).toBe('pass');
      expect(verdict.observed).toBe('clean');
      expect(verdict.evidence?.peerRowsSeen).toBe(3);
    });

    it("does not count when its guest port is none of the cycles' (another program's connection)", () => {
      const verdict = decideVerdict(lateClose(wine([peerEnd(40001), peerEnd(40002)])), CLEAN);
      expect(verdict.status).toBe('infra-error');
      expect(verdict.reason).toContain("no row of the peer's end of a connection from one of the cycles' 3 local ports");
    });

    it('does not count when it was in the table before the run', () => {
      const old = wine([peerEnd(50170)]);
      expect(decideVerdict(lateClose(wine([peerEnd(50170)]), old), CLEAN).status).toBe('infra-error');
    });

    it('a table that shows nothing at all is still an infrastructure error', () => {
      expect(decideVerdict(lateClose(wine([])), CLEAN).status).toBe('infra-error');
    });
  });

  it('clean needs a connect event for every planned cycle', () => {
    const cycles = [...connectedCycles(100), ...range(101, 20).map((index) => ({ index, connected: false, ok: true }))];
    const verdict = decideVerdict(
      observation({ cycles, snapshots: { before: snapshot([]), after: snapshot(rowsIn('TIME_WAIT', range(1030, 100))) } }),
      CLEAN,
    );
    expect(verdict.status).toBe('infra-error');
    expect(verdict.reason).toContain('100 of 120 planned cycles connected');
  });

  it('tcptab rows to the peer are a positive sign where NETSTAT shows none', () => {
    const before = snapshot([]);
    const after = snapshot([]);
    before.tcptab = tcptabCapture([]);
    after.tcptab = tcptabCapture(range(1030, 3).map((port) => [port, 'TIME_WAIT']));
    const verdict = decideVerdict(observation({ snapshots: { before, after } }), CLEAN);
    expect(verdict.status, verdict.reason).toBe('pass');
  });
});

describe('WSAENOBUFS at another step of the cycle', () => {
  it('ends the run as well when the child could not open its copy of the socket', () => {
    const obs = win98Exhausted();
    const last = obs.cycles.at(-1)!;
    // The child's WSASocket met the full table first; the next cycle's socket() did too.
    obs.cycles = [
      ...obs.cycles.slice(0, -1),
      { ...last, connected: true, failure: { step: 'child-open', error: 10055 } },
      { ...last, index: last.index + 1 },
    ];
    obs.cycles.at(-1)!.index = 98;
    const verdict = decideVerdict(obs, LEAK);
    expect(verdict.status, verdict.reason).toBe('pass');
    expect(verdict.evidence?.tableExhaustion).toMatchObject({ cycle: 97, step: 'child-open' });
  });
});

describe('the Winsock 1.1 positive control (leak-control-ws1)', () => {
  // As on Wine: the child cannot use the DuplicateHandle copy (send fails), but the parent holds its originals.
  const childCannotSend = () =>
    connectedCycles(40).map((cycle) => ({ ...cycle, ok: false, failure: { step: 'child-send', error: 10038 } }));
  const wineLimit: ScenarioExpectation = {
    expect: 'leak',
    source: 'retrolab (positive control)',
    cyclesFail: { step: 'child-send', error: 10038, why: 'Wine cannot use a DuplicateHandle socket in another process' },
  };
  const control = (held: number) =>
    observation({
      scenario: 'leak-control-ws1',
      cyclesPlanned: 40,
      cycles: childCannotSend(),
      snapshots: {
        before: snapshot([]),
        during: snapshot(rowsIn('ESTABLISHED', range(1030, held))),
        after: snapshot(rowsIn('TIME_WAIT', range(1030, 40))),
      },
    });

  it('passes when the held handles show while the program runs', () => {
    const verdict = decideVerdict(control(40), wineLimit);
    expect(verdict.status, verdict.reason).toBe('pass');
    expect(verdict.observed).toBe('leak');
  });

  it('fails when they do not, though every cycle failed as recorded', () => {
    const verdict = decideVerdict(control(0), wineLimit);
    expect(verdict.status).toBe('fail');
    expect(verdict.observed).toBe('clean');
  });
});
