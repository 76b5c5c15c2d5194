import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ProgressEvent, ProgressUpdate } from '../../src/report/progress.ts';
import { consoleProgress, formatProgress, LOG_LINE_EVERY_MS, LOG_QUIET_FOR_MS } from '../../src/report/progress-renderer.ts';
import { trackProgress } from '../../src/report/progress-tracker.ts';
import { reportWaits } from '../../src/report/wait-reporter.ts';

/** A stream that records what was written, with a terminal width. */
function capture(columns = 200): { stream: PassThrough & { columns: number }; text: () => string } {
  const stream = Object.assign(new PassThrough(), { columns });
  const chunks: string[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
  return { stream, text: () => chunks.join('') };
}

const update = (scope: string, what: string, elapsedMs: number, more: Partial<ProgressUpdate> = {}): ProgressUpdate => ({
  kind: 'progress',
  scope,
  what,
  elapsedMs,
  ...more,
});

describe('formatProgress', () => {
  it('says a bounded wait, a count, a countdown and the latest line', () => {
    expect(formatProgress(update('wine-vm', 'waiting for the agent', 60_400, { limitMs: 240_000 }))).toBe('waiting for the agent 60/240 s');
    expect(formatProgress(update('wine dup-close', 'cycles', 32_000, { done: 40, total: 120 }))).toBe('cycles 40/120 (32 s)');
    expect(
      formatProgress(
        update('wine dup-close', 'cycles', 35_000, { total: 120, limitMs: 600_000, detail: 'counted when the program exits' }),
      ),
    ).toBe('cycles ?/120 (35/600 s): counted when the program exits');
    expect(
      formatProgress(update('wine leak-control', 'holding 40 socket(s) for NETSTAT during', 25_000, { limitMs: 120_000, countdown: true })),
    ).toBe('holding 40 socket(s) for NETSTAT during (95 s left of 120 s)');
    expect(formatProgress(update('image wine', 'building', 45_000, { detail: 'Step 4/9 : RUN apt-get install wine' }))).toBe(
      'building 45 s: Step 4/9 : RUN apt-get install wine',
    );
  });
});

describe('consoleProgress on a terminal', () => {
  it('rewrites one live line in place, prints other lines above it and clears it when the wait ends', async () => {
    const out = capture();
    const progress = consoleProgress({ stream: out.stream, tty: true });
    progress(update('wine-vm', 'waiting for the agent', 1_000, { limitMs: 240_000 }));
    progress(update('wine-vm', 'waiting for the agent', 2_000, { limitMs: 240_000 }));
    progress({ kind: 'step', scope: 'wine', message: 'starting the Wine container and the agent' });
    progress(update('wine-vm', 'waiting for the agent', 3_000, { limitMs: 240_000, end: true }));
    await new Promise((resolve) => setImmediate(resolve));
    const text = out.text();
    expect(text).toBe(
      '\r\x1b[2K[wine-vm] waiting for the agent 1/240 s' +
        '\r\x1b[2K[wine-vm] waiting for the agent 2/240 s' +
        // The step line goes above: the live line is cleared, the line printed, the live line drawn again.
        '\r\x1b[2K[wine] starting the Wine container and the agent\n' +
        '\r\x1b[2K[wine-vm] waiting for the agent 2/240 s' +
        '\r\x1b[2K',
    );
    // No newline ever ends a live line: it never scrolls the terminal.
    expect(text.split('\n')).toHaveLength(2);
  });

  it('shows several scopes at once on the one line, cut to the terminal width', async () => {
    const out = capture(60);
    const progress = consoleProgress({ stream: out.stream, tty: true });
    progress(update('wine dup-close', 'cycles', 5_000, { done: 10, total: 120 }));
    progress(update('wine-vm leak-control', 'hold', 3_000, { limitMs: 120_000, countdown: true }));
    await new Promise((resolve) => setImmediate(resolve));
    const last = out.text().split('\r\x1b[2K').at(-1) ?? '';
    expect(last).toMatch(/^\[wine dup-close\] cycles 10\/120 \(5 s\) {2}\| {2}\[wine-vm leak-con…$/);
    expect(last.length).toBe(59);
    expect(last.endsWith('…')).toBe(true);
    progress.clear();
    await new Promise((resolve) => setImmediate(resolve));
    expect(out.text().endsWith('\r\x1b[2K')).toBe(true);
  });
});

describe('consoleProgress in a log (not a terminal)', () => {
  it('prints nothing for a wait shorter than 5 s, then a start line, at most a line every 10 s per scope, and an end line', async () => {
    const out = capture();
    let clock = 1_000_000;
    const progress = consoleProgress({ stream: out.stream, tty: false, now: () => clock });
    // A short wait: no line at all.
    for (let ms = 0; ms <= 3_000; ms += 1_000) {
      clock = 1_000_000 + ms;
      progress(update('wine', 'waiting for the agent', ms, { limitMs: 180_000 }));
    }
    progress(update('wine', 'waiting for the agent', 3_500, { limitMs: 180_000, end: true }));
    // Two long waits side by side, reported every second (as trackProgress does) for 60 s.
    const start = clock;
    for (let ms = 0; ms <= 60_000; ms += 1_000) {
      clock = start + ms;
      progress(update('wine-vm', 'waiting for the agent', ms, { limitMs: 240_000 }));
      progress(update('wine dup-close', 'cycles', ms, { done: Math.floor(ms / 1000), total: 120 }));
    }
    progress(update('wine-vm', 'waiting for the agent', 61_000, { limitMs: 240_000, end: true }));
    progress(update('wine dup-close', 'cycles', 61_000, { done: 61, total: 120, end: true }));
    await new Promise((resolve) => setImmediate(resolve));
    const lines = out.text().trimEnd().split('\n');
    expect(out.text()).not.toContain('\r');
    expect(lines.filter((line) => line.startsWith('[wine] '))).toEqual([]);
    const agent = lines.filter((line) => line.startsWith('[wine-vm] '));
    expect(agent).toEqual([
      '[wine-vm] waiting for the agent 5/240 s',
      '[wine-vm] waiting for the agent 15/240 s',
      '[wine-vm] waiting for the agent 25/240 s',
      '[wine-vm] waiting for the agent 35/240 s',
      '[wine-vm] waiting for the agent 45/240 s',
      '[wine-vm] waiting for the agent 55/240 s',
      '[wine-vm] waiting for the agent: ended after 61 s',
    ]);
    const cycles = lines.filter((line) => line.startsWith('[wine dup-close] '));
    expect(cycles[0]).toBe('[wine dup-close] cycles 5/120 (5 s)');
    expect(cycles).toHaveLength(7);
    expect(cycles.at(-1)).toBe('[wine dup-close] cycles: ended after 61 s at 61/120');
  });

  it('throttles by the clock, not by the number of updates: a burst prints one line, the next after 10 s', async () => {
    const out = capture();
    let clock = 0;
    const progress = consoleProgress({ stream: out.stream, tty: false, now: () => clock });
    clock = LOG_QUIET_FOR_MS;
    for (let i = 0; i < 500; i += 1) progress(update('image wine', 'building', LOG_QUIET_FOR_MS, { detail: `line ${i}` }));
    clock = LOG_QUIET_FOR_MS + LOG_LINE_EVERY_MS - 1;
    progress(update('image wine', 'building', clock, { detail: 'too early' }));
    clock = LOG_QUIET_FOR_MS + LOG_LINE_EVERY_MS;
    progress(update('image wine', 'building', clock, { detail: 'due' }));
    await new Promise((resolve) => setImmediate(resolve));
    expect(out.text().trimEnd().split('\n')).toEqual(['[image wine] building 5 s: line 0', '[image wine] building 15 s: due']);
  });

  it('prints step, done and warn lines as they come; log lines only when verbose', async () => {
    const out = capture();
    const progress = consoleProgress({ stream: out.stream, tty: false });
    progress({ kind: 'step', scope: 'wine', message: 'starting' });
    progress({ kind: 'log', scope: 'wine', line: 'hidden' });
    progress({ kind: 'done', scope: 'wine', message: 'agent ready', durationMs: 1234 });
    progress({ kind: 'warn', scope: 'wine', message: 'slow' });
    const verbose = consoleProgress({ stream: out.stream, tty: false, verbose: true });
    verbose({ kind: 'log', scope: 'wine', line: 'shown' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(out.text()).toBe('[wine] starting\n[wine] agent ready (1.2 s)\n[wine] warning: slow\n[wine]   shown\n');
  });
});

describe('trackProgress', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reports at once, every second, on changes at most every 200 ms, and once more at the end', () => {
    vi.useFakeTimers();
    const events: ProgressUpdate[] = [];
    const tracked = trackProgress((event) => event.kind === 'progress' && events.push(event), {
      scope: 'wine dup-close',
      what: 'cycles',
      total: 40,
      now: Date.now,
    });
    expect(events).toHaveLength(1);
    vi.advanceTimersByTime(2_000);
    expect(events.map((e) => e.elapsedMs)).toEqual([0, 1_000, 2_000]);
    vi.advanceTimersByTime(500);
    tracked.set({ done: 3 });
    tracked.set({ done: 4 });
    // The second change came within 200 ms of the first: it rides on the next tick.
    expect(events.at(-1)).toMatchObject({ done: 3, total: 40, elapsedMs: 2_500 });
    vi.advanceTimersByTime(500);
    expect(events.at(-1)).toMatchObject({ done: 4, elapsedMs: 3_000 });
    tracked.end();
    tracked.end();
    expect(events.at(-1)).toMatchObject({ end: true, done: 4 });
    const count = events.length;
    vi.advanceTimersByTime(5_000);
    expect(events).toHaveLength(count);
  });
});

describe("reportWaits (the wait strategies' onWait callback as progress)", () => {
  it('ends a wait when the next one begins and on end(), and reports nothing for a wait that never called back', () => {
    const events: ProgressUpdate[] = [];
    const sink = (event: ProgressEvent) => {
      if (event.kind === 'progress') events.push(event);
    };
    const quiet = reportWaits(sink, 'wine');
    quiet.end();
    expect(events).toEqual([]);

    const waits = reportWaits(sink, 'wine-vm');
    waits.onWait(1_000, 5_000, "QEMU's serial line (serial.sock) to accept a connection");
    waits.onWait(1_000, 240_000, "the agent's banner (HELLO)");
    waits.onWait(2_000, 240_000, "the agent's banner (HELLO)");
    waits.end();
    waits.end();
    expect(events.map((e) => `${e.what} ${e.elapsedMs}/${e.limitMs}${e.end ? ' end' : ''}`)).toEqual([
      "waiting for QEMU's serial line (serial.sock) to accept a connection 1000/5000",
      "waiting for QEMU's serial line (serial.sock) to accept a connection 1000/5000 end",
      "waiting for the agent's banner (HELLO) 1000/240000",
      "waiting for the agent's banner (HELLO) 2000/240000",
      "waiting for the agent's banner (HELLO) 2000/240000 end",
    ]);
    expect(formatProgress(events[3]!)).toBe("waiting for the agent's banner (HELLO) 2/240 s");
  });
});
