import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseDupcloseEvents } from '../../src/dupclose/dupclose-events.ts';
import { summarizeDupcloseRun } from '../../src/dupclose/dupclose-run.ts';
import { GuestOutputError } from '../../src/dupclose/errors.ts';

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/netstat/${name}`, import.meta.url), 'utf8');

describe('parseDupcloseEvents', () => {
  it('types every event of a run into numbers and flags', () => {
    const events = parseDupcloseEvents(fixture('dupclose-win95-table-full.txt'));
    expect(events).toHaveLength(26);
    expect(events[0]).toMatchObject({
      event: 'start',
      role: 'parent',
      app: 0,
      prog: 'dupclose',
      cycles: 3,
      peer: '10.0.2.2:7000',
      parallel: false,
      hold_ms: 0,
      line: 1,
    });
    expect(events.find((event) => event.event === 'connect')).toMatchObject({
      cycle: 1,
      ok: true,
      err: 0,
      call: 'connect',
      local_port: 1030,
    });
    expect(events.at(-1)).toMatchObject({ event: 'summary', ok: false, cycles_ok: 2, final_ok: false, held: 0 });
  });

  it('keeps events it does not know instead of failing', () => {
    expect(parseDupcloseEvents('event=timing role=parent app=0 what=boot ms=3\n')).toEqual([
      { event: 'unknown', name: 'timing', fields: { role: 'parent', app: '0', what: 'boot', ms: '3' }, line: 1 },
    ]);
  });

  it('names the line and field of a malformed event', () => {
    let error: unknown;
    try {
      parseDupcloseEvents(
        'event=start role=parent app=0 prog=dupclose pid=1 mode=plain close_order=duplicate-first cycles=3 peer=self apps=0 parallel=0 eof_ms=0 hold_ms=0\nevent=connect role=parent app=0 cycle=1 ok=yes err=0 call=connect ms=1 local_port=1030\n',
        { origin: 'run.out' },
      );
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(GuestOutputError);
    expect(error).toMatchObject({ line: 2 });
    expect((error as GuestOutputError).message).toMatch(/^dupclose output, run\.out:2: event=connect: ok: /);
  });

  it('leaves a line still being written for the next read of a partial output', () => {
    const text = 'event=hold role=parent app=0 ms=30000 held=40\r\nevent=summary role=parent app=0 ok=1 cyc';
    expect(parseDupcloseEvents(text, { partial: true }).map((event) => event.event)).toEqual(['hold']);
    expect(() => parseDupcloseEvents(text)).toThrow(GuestOutputError);
    expect(parseDupcloseEvents('event=hold role=parent app=0 ms=1 held=0\r\n', { partial: true })).toHaveLength(1);
  });

  it('refuses lines that are not events', () => {
    expect(() => parseDupcloseEvents('Bad command or file name\r\n')).toThrow(
      /line 1: a line must start with event=NAME: "Bad command or file name"/,
    );
  });

  it("keeps the spaces of a usage error's argument", () => {
    const [event] = parseDupcloseEvents(
      'event=usage-error role=parent app=0 arg=--workaround late-close with --close-order original-first\n',
    );
    expect(event).toMatchObject({ event: 'usage-error', arg: '--workaround late-close with --close-order original-first' });
  });
});

describe('summarizeDupcloseRun', () => {
  it('turns a Win95 run into cycles, the final connect and the planned count', () => {
    const run = summarizeDupcloseRun(parseDupcloseEvents(fixture('dupclose-win95-table-full.txt')));
    expect(run.program).toBe('dupclose');
    expect(run.cyclesPlanned).toBe(3);
    expect(run.cycles).toEqual([
      { index: 1, connected: true, ok: true, localPort: 1030 },
      { index: 2, connected: true, ok: true, localPort: 1031 },
      { index: 3, connected: false, ok: false, failure: { step: 'socket', error: 10055 } },
    ]);
    expect(run.finalConnect).toEqual({ ok: false, error: 10055 });
    expect(run.programFailure).toBeUndefined();
  });

  it('numbers cycles across apps', () => {
    const lines = [
      'event=start role=launcher app=0 prog=dupclose pid=1 mode=plain close_order=duplicate-first cycles=1 peer=self apps=2 parallel=0 eof_ms=0 hold_ms=0',
    ];
    for (const app of [1, 2]) {
      lines.push(`event=connect role=parent app=${app} cycle=1 ok=1 err=0 call=connect ms=1 local_port=${1040 + app}`);
      lines.push(`event=cycle role=parent app=${app} cycle=1 ok=1 ms=5`);
      lines.push(`event=summary role=parent app=${app} ok=1 cycles=1 cycles_run=1 cycles_ok=1 final_ok=1 held=0 ms=9`);
    }
    lines.push('event=final-connect role=launcher app=0 cycle=0 ok=1 err=0 call=connect ms=1 local_port=1043');
    lines.push('event=summary role=launcher app=0 ok=1 apps=2 apps_ok=2 final_ok=1 ms=30');
    const run = summarizeDupcloseRun(parseDupcloseEvents(lines.join('\r\n')));
    expect(run.cyclesPlanned).toBe(2);
    expect(run.cycles.map((cycle) => [cycle.index, cycle.localPort])).toEqual([
      [1, 1041],
      [2, 1042],
    ]);
    expect(run.finalConnect).toEqual({ ok: true });
    expect(run.programFailure).toBeUndefined();
  });

  it('reports a failed setup and a missing summary as a failure of the program', () => {
    const setup = summarizeDupcloseRun(
      parseDupcloseEvents(
        'event=start role=parent app=0 prog=duphandle pid=1 mode=plain close_order=duplicate-first cycles=3 peer=self apps=0 parallel=0 eof_ms=0 hold_ms=0\nevent=wsastartup role=parent app=0 ok=0 err=10091 version=0.0\n',
      ),
    );
    expect(setup.programFailure).toEqual({ step: 'WSAStartup', error: 10091, message: 'WSAStartup failed' });
    const killed = summarizeDupcloseRun(
      parseDupcloseEvents(fixture('dupclose-win95-table-full.txt').split('\r\n').slice(0, 10).join('\r\n')),
    );
    expect(killed.programFailure?.step).toBe('exit');
    expect(summarizeDupcloseRun([]).programFailure?.step).toBe('start');
  });

  it('reads the provider choice, and a list with no plain TCP provider as a failure of the program (KB Q216603)', () => {
    const start =
      'event=start role=parent app=0 prog=dupclose pid=1 mode=plain close_order=duplicate-first cycles=3 peer=self apps=0 parallel=0 eof_ms=0 hold_ms=0\nevent=wsastartup role=parent app=0 ok=1 err=0 version=2.2\n';
    // As printed under Wine 8.
    const chosen = parseDupcloseEvents(
      `${start}event=provider role=parent app=0 ok=1 err=0 call=choose providers=7 index=0 catalog_id=1001 af=2 type=1 protocol=6 chain_len=1 flags1=0x20066 name=TCP/IP\n`,
    );
    expect(chosen[2]).toMatchObject({ event: 'provider', ok: true, index: 0, catalog_id: 1001, chain_len: 1, name: 'TCP/IP' });
    const none = summarizeDupcloseRun(
      parseDupcloseEvents(`${start}event=provider role=parent app=0 ok=0 err=0 call=choose providers=3 index=-1\n`),
    );
    expect(none.programFailure).toEqual({
      step: 'provider',
      error: 0,
      message: 'none of the 3 Winsock providers is plain TCP (KB Q216603: a QoS-capable one cannot be duplicated)',
    });
  });

  it('notices the hold that a while-running snapshot waits for', () => {
    const run = summarizeDupcloseRun(parseDupcloseEvents('event=hold role=parent app=0 ms=30000 held=40\n'));
    expect([run.holding, run.held]).toEqual([true, 40]);
  });

  it('folds --holder runs: the holder opening each copy is a step of its cycle (as printed under Wine 8)', () => {
    const lines = [
      'event=start role=parent app=0 prog=dupclose pid=272 mode=holder close_order=duplicate-first cycles=2 peer=10.0.2.100:7000 apps=0 parallel=0 eof_ms=0 hold_ms=120000',
      'event=holder-start role=parent app=0 ok=1 err=0 call=CreateProcessA pid=280',
      'event=wsastartup role=parent app=0 ok=1 err=0 version=2.2',
      'event=connect role=parent app=0 cycle=1 ok=1 err=0 call=connect ms=0 local_port=42064',
      'event=duplicate role=parent app=0 cycle=1 ok=1 err=0 call=WSADuplicateSocketA',
      'event=holder-open role=holder app=0 cycle=1 ok=1 err=0 call=WSASocketA',
      'event=parent-close role=parent app=0 cycle=1 ok=1 err=0',
      'event=cycle role=parent app=0 cycle=1 ok=1 ms=11',
      'event=connect role=parent app=0 cycle=2 ok=1 err=0 call=connect ms=0 local_port=42078',
      'event=duplicate role=parent app=0 cycle=2 ok=1 err=0 call=WSADuplicateSocketA',
      'event=holder-open role=holder app=0 cycle=2 ok=0 err=10022 call=WSASocketA',
      'event=parent-close role=parent app=0 cycle=2 ok=1 err=0',
      'event=cycle role=parent app=0 cycle=2 ok=0 ms=1',
      'event=final-connect role=parent app=0 cycle=0 ok=1 err=0 call=connect ms=0 local_port=42090',
      'event=summary role=parent app=0 ok=0 cycles=2 cycles_run=2 cycles_ok=1 final_ok=1 held=1 ms=52',
    ];
    const run = summarizeDupcloseRun(parseDupcloseEvents(`${lines.join('\r\n')}\r\n`));
    expect(run.cycles).toEqual([
      { index: 1, connected: true, ok: true, localPort: 42064 },
      { index: 2, connected: true, ok: false, localPort: 42078, failure: { step: 'holder-open', error: 10022 } },
    ]);
    expect(run.held).toBe(1);
    expect(run.programFailure).toBeUndefined();
    const noHolder = summarizeDupcloseRun(
      parseDupcloseEvents(`${lines[0]}\r\nevent=holder-start role=parent app=0 ok=0 err=8 call=CreateProcessA pid=0\r\n`),
    );
    expect(noHolder.programFailure).toMatchObject({ step: 'holder-start', error: 8 });
  });

  it('reads the end of an event-driven hold', () => {
    const [end] = parseDupcloseEvents('event=hold-end role=holder app=0 released=1 ms=3932\r\n');
    expect(end).toMatchObject({ event: 'hold-end', role: 'holder', released: true, ms: 3932 });
  });
});
