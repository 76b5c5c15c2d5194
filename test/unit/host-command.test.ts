import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { HostCommandError, probeHostCommand, runHostCommand, streamHostCommand, tail } from '../../src/util/host-command.ts';

describe('host commands', () => {
  it('returns the command, exit code, output and duration of a program that succeeds', async () => {
    const result = await runHostCommand('sh', ['-c', 'echo out; echo err >&2']);
    expect(result).toMatchObject({ command: 'sh', exitCode: 0, signal: null, stdout: 'out\n', stderr: 'err\n' });
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('passes arguments as a vector: spaces, quotes and @ survive, nothing is expanded', async () => {
    const args = ['a b', "it's", 'option start=_rt_entry@0', '$HOME', '*'];
    const result = await runHostCommand('printf', ['%s\\n', ...args]);
    expect(result.stdout.split('\n').slice(0, -1)).toEqual(args);
  });

  it('throws HostCommandError with the exit code and the tail of stderr', async () => {
    const error = await runHostCommand('sh', ['-c', "head -c 5000 /dev/zero | tr '\\0' y >&2; echo last words >&2; exit 3"]).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(HostCommandError);
    const e = error as HostCommandError;
    expect(e.exitCode).toBe(3);
    expect(e.missing).toBe(false);
    expect(e.message).toMatch(/^sh -c .* exited with status 3 after \d+ ms:\n…/);
    expect(e.message).toContain('last words');
    expect(e.message.length).toBeLessThan(2_300);
    expect(e.stderr.length).toBeGreaterThan(5_000);
  });

  it('says when the program is not installed', async () => {
    const error = (await runHostCommand('retrolab-no-such-program', ['x']).catch((e: unknown) => e)) as HostCommandError;
    expect(error).toBeInstanceOf(HostCommandError);
    expect(error.missing).toBe(true);
    expect(error.message).toContain('is not installed on this host');
  });

  it('kills a program that outlives its timeout and says so', async () => {
    const started = Date.now();
    const error = (await runHostCommand('sleep', ['30'], { timeoutMs: 300 }).catch((e: unknown) => e)) as HostCommandError;
    expect(error).toBeInstanceOf(HostCommandError);
    expect(error.timedOut).toBe(true);
    expect(error.message).toContain('timed out');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('rethrows the reason of an abort, not a command error', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('user pressed Ctrl-C')), 200);
    await expect(runHostCommand('sleep', ['30'], { signal: controller.signal })).rejects.toThrow('user pressed Ctrl-C');
  });

  it('probe returns a failing result instead of throwing', async () => {
    const result = await probeHostCommand('sh', ['-c', 'echo nope >&2; exit 1']);
    expect(result).toMatchObject({ exitCode: 1, stderr: 'nope\n' });
  });

  it('feeds input from a string, a Buffer or a stream', async () => {
    expect((await runHostCommand('cat', [], { input: 'text' })).stdout).toBe('text');
    expect((await runHostCommand('cat', [], { input: Buffer.from([0x41, 0x42]) })).stdout).toBe('AB');
    expect(
      (await runHostCommand('wc', ['-c'], { input: Readable.from([Buffer.alloc(70_000, 1), Buffer.alloc(30_000, 2)]) })).stdout.trim(),
    ).toBe('100000');
  });

  it('streams stdout line by line while the program runs, and reports its end', async () => {
    const command = streamHostCommand('sh', ['-c', 'echo one; echo two; printf three; exit 4']);
    const lines: string[] = [];
    for await (const line of command.lines()) lines.push(line);
    expect(lines).toEqual(['one', 'two', 'three']);
    await expect(command.done).rejects.toMatchObject({ exitCode: 4 });
  });

  it('cuts long text to its tail', () => {
    expect(tail('short')).toBe('short');
    expect(tail(`${'x'.repeat(10)}END`, 5)).toBe('…xxEND');
  });
});
