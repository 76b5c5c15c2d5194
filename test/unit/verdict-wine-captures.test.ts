import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadExpectations } from '../../src/config/expectations.ts';
import { parseDupcloseEvents } from '../../src/dupclose/dupclose-events.ts';
import { summarizeDupcloseRun } from '../../src/dupclose/dupclose-run.ts';
import { parseNetstat } from '../../src/netstat/netstat-parser.ts';
import { parseTcptab } from '../../src/netstat/tcptab-parser.ts';
import type { ScenarioName } from '../../src/model/scenario-catalog.ts';
import type { ScenarioObservation, Snapshot } from '../../src/model/scenario-observation.ts';
import { decideVerdict } from '../../src/verdict/verdict.ts';

// Real output of Wine 8.0 (the wine-runner's i386 Debian), captured by
// test/fixtures/netstat/capture-wine.sh: a socat peer on 127.0.0.1:7000 that
// reads five bytes and closes, an idle ESTABLISHED pair on 7100, then
// dupclose (plain, 20 cycles) and dupclose --leak-control (10 cycles).
const text = (name: string): string => readFileSync(new URL(`../fixtures/netstat/${name}`, import.meta.url), 'utf8');
const PEER = { addr: '127.0.0.1', port: 7000 };

function snapshot(moment: string): Snapshot {
  const netstat = text(`wine-netstat-${moment}.txt`);
  const tcptab = text(`wine-tcptab-${moment}.txt`);
  return { netstat: { raw: netstat, table: parseNetstat(netstat) }, tcptab: { raw: tcptab, table: parseTcptab(tcptab) } };
}

function observe(scenario: ScenarioName, output: string, moments: { during?: string; after: string }): ScenarioObservation {
  const run = summarizeDupcloseRun(parseDupcloseEvents(text(output)));
  return {
    target: 'wine',
    scenario,
    peer: PEER,
    cyclesPlanned: run.cyclesPlanned ?? 0,
    cycles: run.cycles,
    finalConnect: run.finalConnect,
    programFailure: run.programFailure,
    snapshots: {
      before: snapshot('before'),
      ...(moments.during === undefined ? {} : { during: snapshot(moments.during) }),
      after: snapshot(moments.after),
    },
    settings: {},
  };
}

describe("Wine 8's real NETSTAT -AN", () => {
  it('prints LF lines, no LISTENING rows, and only ESTABLISHED, TIME_WAIT and CLOSE_WAIT', () => {
    const before = parseNetstat(text('wine-netstat-before.txt'));
    expect(text('wine-netstat-before.txt')).not.toContain('\r');
    expect(before.rows.map((row) => [row.local.port, row.foreign.port, row.state])).toEqual([
      [7100, 47990, 'ESTABLISHED'],
      [47990, 7100, 'ESTABLISHED'],
    ]);
    const during = parseNetstat(text('wine-netstat-during-leak-control.txt'));
    const seen = new Set(during.rows.map((row) => row.state));
    expect([...seen].sort()).toEqual(['CLOSE_WAIT', 'ESTABLISHED', 'TIME_WAIT']);
    expect(during.counts).toMatchObject({ CLOSE_WAIT: 10, LISTEN: 0, FIN_WAIT_2: 0 });
  });

  it("misses what tcptab sees: the listener and the peer's FIN_WAIT_2 ends", () => {
    const tcptab = parseTcptab(text('wine-tcptab-during-leak-control.txt'));
    expect(tcptab.counts).toMatchObject({ LISTEN: 1, CLOSE_WAIT: 10, FIN_WAIT_2: 10 });
  });
});

describe('verdicts on the real Wine captures', () => {
  it('passes the plain KB cycle as clean: 20 connections, all closed, 21 in TIME_WAIT', async () => {
    const observation = observe('dup-close', 'wine-dupclose-plain.txt', { after: 'after-plain' });
    expect(observation.cycles).toHaveLength(20);
    expect(observation.cycles.every((cycle) => cycle.ok && cycle.connected)).toBe(true);
    expect(observation.finalConnect).toEqual({ ok: true });
    const verdict = decideVerdict(observation, (await loadExpectations('wine')).scenarios['dup-close']);
    expect(verdict.status).toBe('pass');
    expect(verdict.observed).toBe('clean');
    expect(verdict.evidence).toMatchObject({ tableSource: 'tcptab', leaked: 0, connectionsOpened: 20, timeWait: { rows: 21 } });
  });

  it('passes the positive control: the 10 held duplicates show while it runs and are gone after it exits', async () => {
    const observation = observe('leak-control', 'wine-dupclose-leak-control.txt', {
      during: 'during-leak-control',
      after: 'after-leak-control',
    });
    const verdict = decideVerdict(observation, (await loadExpectations('wine')).scenarios['leak-control']);
    expect(verdict.status).toBe('pass');
    expect(verdict.observed).toBe('leak');
    expect(verdict.evidence).toMatchObject({
      measuredAt: 'while-running',
      leaked: 10,
      leakedWhileRunning: 10,
      leakedAfterExit: 0,
      leakRate: 1,
      leakedStates: { CLOSE_WAIT: 10 },
    });
  });

  it('fails with the evidence when the expectation is deliberately wrong', () => {
    const observation = observe('leak-control', 'wine-dupclose-leak-control.txt', {
      during: 'during-leak-control',
      after: 'after-leak-control',
    });
    const verdict = decideVerdict(observation, { expect: 'clean', source: 'a deliberately wrong expectation' });
    expect(verdict.status).toBe('fail');
    expect(verdict.reason).toMatch(
      /^expected clean \(a deliberately wrong expectation\) but observed leak: 10 of 10 connections held while the program ran \(CLOSE_WAIT 10\)/,
    );
    const excerpt = verdict.evidence?.netstatExcerpt.split('\n') ?? [];
    expect(excerpt).toHaveLength(11);
    expect(excerpt[0]).toBe('  Proto  Local Address          Foreign Address        State');
    expect(excerpt[1]).toBe('  TCP    127.0.0.1:42946        127.0.0.1:7000         CLOSE_WAIT');
    expect(verdict.evidence?.counts.during?.CLOSE_WAIT).toBe(10);
  });
});
