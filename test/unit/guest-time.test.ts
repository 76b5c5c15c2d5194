import { describe, expect, it } from 'vitest';
import type { ExecResult } from '../../src/agent/agent-client.ts';
import { meteredHandle, type GuestTimeMeter } from '../../src/scenarios/metered-agent.ts';
import { programWorkMs } from '../../src/scenarios/scenario-runner.ts';
import type { TargetHandle } from '../../src/targets/target-handle.ts';

// The guest-side time that orchestrator overhead (wall minus guest side) is measured against.

describe('programWorkMs: a detached program’s own run time', () => {
  it('is the top-level summary’s ms less its hold for the runner', () => {
    const out = [
      'event=start role=parent app=0 prog=dupclose',
      'event=hold role=parent app=0 ms=120000 held=80',
      'event=hold-end role=parent app=0 released=1 ms=4200',
      'event=summary role=parent app=0 ok=1 cycles=40 cycles_run=40 cycles_ok=40 final_ok=1 held=80 ms=61200',
    ].join('\r\n');
    expect(programWorkMs(`${out}\r\n`)).toBe(57_000);
  });

  it('with --apps counts the launcher’s summary, not its apps’ (which it contains)', () => {
    // Crafted: the apps' parents print summaries of their own first; adding them (or taking the first) would count 2 s or 9 s.
    const out = [
      'event=start role=launcher app=0 prog=dupclose',
      'event=summary role=parent app=1 ok=1 cycles=8 cycles_run=8 cycles_ok=8 final_ok=1 held=0 ms=1000',
      'event=summary role=parent app=2 ok=1 cycles=8 cycles_run=8 cycles_ok=8 final_ok=1 held=0 ms=1000',
      'event=summary role=launcher app=0 ok=1 apps=2 apps_ok=2 final_ok=1 ms=9000',
    ].join('\r\n');
    expect(programWorkMs(out)).toBe(9000);
  });

  it('is 0 without a top-level summary (the program did not finish)', () => {
    expect(programWorkMs('event=cycle role=parent app=0 cycle=1 ok=1 ms=300\r\n')).toBe(0);
  });
});

describe('meteredHandle', () => {
  const result = (guestDurationMs: number): ExecResult => ({
    command: 'x',
    exitCode: 0,
    stdout: '',
    stderr: '',
    timedOut: false,
    durationMs: guestDurationMs,
    guestDurationMs,
    stdoutTruncated: false,
    stderrTruncated: false,
  });
  const handle = { agent: { exec: () => Promise.resolve(result(30)) } } as unknown as TargetHandle;

  it('adds each exec’s guest time, except while a detached program’s own time is counted instead', async () => {
    const meter: GuestTimeMeter = { ms: 0 };
    const metered = meteredHandle(handle, meter);
    await metered.agent.exec('tcptab');
    meter.detached = true;
    await metered.agent.exec('tcptab');
    await metered.agent.exec('tcptab');
    meter.detached = false;
    await metered.agent.exec('tcptab');
    expect(meter.ms).toBe(60);
  });
});
