import { execFileSync } from 'node:child_process';
import { getEventListeners } from 'node:events';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentClient } from '../../src/agent/agent-client.ts';
import { AgentProtocolError, GuestDataTooLargeError } from '../../src/agent/errors.ts';
import { checkRunConfig } from '../../src/cli/run-config-check.ts';
import { retrolabInProcess as retrolab } from '../support/cli-process.ts';
import { ConfigError } from '../../src/errors.ts';
import { checkLogon } from '../../src/licensed/guest-payload.ts';
import { RegFile } from '../../src/licensed/reg-file.ts';
import { qemuArguments } from '../../src/qemu/command-line.ts';
import { loadVmSpec } from '../../src/config/load-vm-spec.ts';
import { checkPatchFileName, validatePatchDir } from '../../src/scenarios/patch.ts';
import { raceAbort, sleep } from '../../src/util/abortable.ts';
import { quoteInput } from '../../src/util/quote-input.ts';
import { bannerFrame, okFrame, scriptedAgent, u32le } from '../support/scripted-agent.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bounded-input-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A GET reply: the size the "guest" announces, then the bytes it sends. */
const getReply = (announced: number, data: Buffer) => Buffer.concat([u32le(announced), data]);

async function failure(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => new Error('expected a failure, the call succeeded'),
    (e: unknown) => e as Error,
  );
}

describe('getFile holds no more than the cap, whatever the guest announces', () => {
  it('a guest announcing 4 GiB is refused at the first reply (it used to be buffered, then a RangeError)', async () => {
    const agent = scriptedAgent((frame) =>
      frame.type === 0x01 ? [bannerFrame(frame.seq)] : [okFrame(frame.seq, getReply(0xffffffff, Buffer.alloc(32 * 1024, 0x41)))],
    );
    await using client = await AgentClient.connect(agent.stream);
    const error = await failure(client.getFile('C:\\big.bin'));
    expect(error).toBeInstanceOf(GuestDataTooLargeError);
    expect(error.message).toContain('GET C:\\big.bin: the guest announces 4294967295 bytes, over the limit of 67108864');
    expect(agent.requests.filter((f) => f.type === 0x04)).toHaveLength(1);
  });

  it('the cap is the client option (limits.maxGuestFileMiB) or the call option', async () => {
    const agent = scriptedAgent((frame) =>
      frame.type === 0x01 ? [bannerFrame(frame.seq)] : [okFrame(frame.seq, getReply(2000, Buffer.alloc(2000)))],
    );
    await using client = await AgentClient.connect(agent.stream, { maxFileBytes: 1000 });
    expect(await failure(client.getFile('a'))).toBeInstanceOf(GuestDataTooLargeError);
    expect((await client.getFile('a', { maxBytes: 4096 })).length).toBe(2000);
  });

  it('a chunk larger than asked for, or past the announced size, is refused', async () => {
    const over = scriptedAgent((frame) =>
      frame.type === 0x01 ? [bannerFrame(frame.seq)] : [okFrame(frame.seq, getReply(100_000, Buffer.alloc(40_000)))],
    );
    await using client = await AgentClient.connect(over.stream);
    expect((await failure(client.getFile('a'))).message).toContain('a chunk of 40000 bytes at offset 0 does not fit (asked for 32768');
    const past = scriptedAgent((frame) =>
      frame.type === 0x01 ? [bannerFrame(frame.seq)] : [okFrame(frame.seq, getReply(10, Buffer.alloc(11)))],
    );
    await using second = await AgentClient.connect(past.stream);
    expect(await failure(second.getFile('a'))).toBeInstanceOf(GuestDataTooLargeError);
  });

  it('an exec reply claiming more output than it carries is a protocol error, not a huge read', async () => {
    const reply = Buffer.concat([u32le(0), Buffer.of(0), u32le(1), u32le(0xfffffff0), Buffer.from('short')]);
    const agent = scriptedAgent((frame) => (frame.type === 0x01 ? [bannerFrame(frame.seq)] : [okFrame(frame.seq, reply)]));
    await using client = await AgentClient.connect(agent.stream);
    const error = await failure(client.exec('x'));
    expect(error).toBeInstanceOf(AgentProtocolError);
    expect(error.message).toContain('stdout needs 4294967280 bytes');
  });
});

describe('netstat parse and error messages quote at most 200 characters', () => {
  it('a file over 16 MiB is refused before it is read', async () => {
    const file = join(dir, 'huge.txt');
    await writeFile(file, '');
    execFileSync('truncate', ['-s', `${16 * 1024 * 1024 + 1}`, file]);
    const out = await retrolab(['netstat', 'parse', file]);
    expect(out.code).toBe(2);
    expect(out.stderr).toBe(
      `retrolab: ${file}: 16777217 bytes is over the limit of 16777216 (16 MiB) for NETSTAT text; give the NETSTAT -AN output itself\n`,
    );
  });

  it('a 1 MB one-line file comes back as a short message', async () => {
    const file = join(dir, 'one-line.txt');
    await writeFile(file, 'x'.repeat(1_000_000));
    const out = await retrolab(['netstat', 'parse', file]);
    expect(out.code).toBe(2);
    expect(out.stderr.length).toBeLessThan(500);
    expect(out.stderr).toContain('… (999800 more characters)');
  });

  it('quoteInput keeps short values whole and says how much it cut', () => {
    expect(quoteInput('abc')).toBe('"abc"');
    expect(quoteInput('a'.repeat(200))).toBe(JSON.stringify('a'.repeat(200)));
    expect(quoteInput('a'.repeat(201))).toBe(`${JSON.stringify('a'.repeat(200))}… (1 more characters)`);
  });
});

describe('config is checked before anything starts', () => {
  it('every problem of retrolab.config.json, spec.json and expectations.json at once, as path: message', async () => {
    const root = join(dir, 'root');
    await mkdir(join(root, 'vms'), { recursive: true });
    await cp(join(ROOT, 'vms', 'wine'), join(root, 'vms', 'wine'), { recursive: true });
    await cp(join(ROOT, 'vms', 'wine-vm'), join(root, 'vms', 'wine-vm'), { recursive: true });
    await writeFile(
      join(root, 'retrolab.config.json'),
      JSON.stringify({ images: { win98: '' }, limits: { maxGuestFileMiB: 0 }, extra: 1 }),
    );
    const spec = JSON.parse(await readFile(join(root, 'vms', 'wine-vm', 'spec.json'), 'utf8')) as { memoryMb: unknown };
    spec.memoryMb = 'lots';
    await writeFile(join(root, 'vms', 'wine-vm', 'spec.json'), JSON.stringify(spec));
    await writeFile(join(root, 'vms', 'wine', 'expectations.json'), '{ not json');
    const error = await failure(checkRunConfig(['wine', 'wine-vm'], { root }));
    expect(error).toBeInstanceOf(ConfigError);
    const lines = error.message.split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^retrolab\.config\.json: images\.win98: /),
        expect.stringMatching(/^retrolab\.config\.json: limits\.maxGuestFileMiB: must be at least 1/),
        expect.stringMatching(/^retrolab\.config\.json: .*extra/),
        expect.stringMatching(/^vms\/wine-vm\/spec\.json: memoryMb: /),
        expect.stringMatching(/expectations\.json: not valid JSON/),
      ]),
    );
    await expect(checkRunConfig(['wine', 'wine-vm'], { root: ROOT })).resolves.toBeUndefined();
  });
});

describe('text that ends up in guest files refuses line breaks and path tricks', () => {
  it('--user and --password refuse CR, LF and NUL', () => {
    expect(() => checkLogon({ user: 'Administrator', password: 'pw\r\n[HKEY_LOCAL_MACHINE\\Evil]' })).toThrow(
      '--password: holds a carriage return (CR) at position 3',
    );
    expect(() => checkLogon({ user: 'a\nb', password: '' })).toThrow('--user: holds a line feed (LF) at position 2');
    expect(() => checkLogon({ user: 'a', password: 'x\0y' })).toThrow('--password: holds a NUL character');
    expect(() => checkLogon({ user: 'Administrator', password: '' })).not.toThrow();
    expect(() => new RegFile().set('HKEY_LOCAL_MACHINE\\X', 'v', { type: 'sz', data: 'a\nb' })).toThrow(ConfigError);
  });

  it('patch file names refuse separators, "..", drive colons and DOS device names', async () => {
    for (const bad of ['a\\b.dll', 'c:evil.exe', '..', 'x..y', 'CON', 'nul.txt', 'COM1', 'lpt9.dat', 'clock$', 'a\u0001b']) {
      expect(checkPatchFileName(bad), bad).toBeDefined();
    }
    for (const good of ['wsock32.dll', 'SETUP.EXE', 'console.txt', 'com10.txt', 'a.b.c'])
      expect(checkPatchFileName(good), good).toBeUndefined();
    const patch = join(dir, 'patch');
    await mkdir(patch);
    await writeFile(join(patch, 'ok.dll'), 'x');
    await writeFile(join(patch, 'AUX.DLL'), 'x');
    await writeFile(join(patch, 'a:b'), 'x');
    const error = await failure(validatePatchDir(patch));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message.split('\n')).toHaveLength(2);
  });

  it('commas in every path QEMU parses as an option value are doubled', async () => {
    const spec = await loadVmSpec('wine-vm');
    if (spec.kind !== 'qemu') throw new Error('wine-vm is a QEMU spec');
    const args = qemuArguments(spec, { runDir: '/run/a,b', accel: 'tcg', disk: { path: '/run/a,b/d.qcow2' } });
    const values = args.filter((_, i) => ['-qmp', '-chardev', '-drive'].includes(args[i - 1] ?? ''));
    expect(values.length).toBeGreaterThanOrEqual(3);
    for (const value of values) expect(value, value).toContain('/run/a,,b/');
  });
});

describe('abort listeners end with their call', () => {
  it('sleep and raceAbort leave no listener on a long-lived signal (no MaxListenersExceededWarning)', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const run = new AbortController();
      for (let i = 0; i < 50; i++) {
        await sleep(1, run.signal);
        await raceAbort(Promise.resolve(i), run.signal);
      }
      expect(getEventListeners(run.signal, 'abort')).toHaveLength(0);
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
      const aborted = new AbortController();
      const waiting = sleep(60_000, aborted.signal);
      aborted.abort(new Error('stop'));
      await expect(waiting).rejects.toThrow('stop');
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('a hundred agent calls on one run signal leave no listener behind', async () => {
    const agent = scriptedAgent((frame) => (frame.type === 0x01 ? [bannerFrame(frame.seq)] : [okFrame(frame.seq, frame.payload)]));
    const run = new AbortController();
    await using client = await AgentClient.connect(agent.stream, { signal: run.signal });
    for (let i = 0; i < 100; i++) await client.ping(Buffer.from([i]), { signal: run.signal });
    expect(getEventListeners(run.signal, 'abort')).toHaveLength(0);
  });
});
