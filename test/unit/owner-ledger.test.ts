import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanLedger, openLeftovers, processAlive, processStartTime } from '../../src/util/owner-ledger.ts';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'owner-ledger-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const line = (value: object) => `${JSON.stringify(value)}\n`;

describe('the owner ledger', () => {
  it('replays + and - lines; a line cut by a kill is ignored', () => {
    const text =
      line({ op: 'owner', pid: 10, host: 'h', startTime: '5' }) +
      line({ op: '+path', path: '/a' }) +
      line({ op: '+path', path: '/b' }) +
      line({ op: '-path', path: '/a' }) +
      line({ op: '+pid', pid: 11, startTime: '7' }) +
      line({ op: '+pid', pid: 12, startTime: '8' }) +
      line({ op: '-pid', pid: 11, startTime: '7' }) +
      '{"op":"+path","pa';
    expect(openLeftovers(text)).toEqual({
      owner: { op: 'owner', pid: 10, host: 'h', startTime: '5' },
      paths: ['/b'],
      processes: [{ pid: 12, startTime: '8' }],
    });
  });

  it('kills the recorded process and removes the paths, but never a reused pid', async () => {
    const victim = spawn('sleep', ['60'], { stdio: 'ignore' });
    const bystander = spawn('sleep', ['60'], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 100));
    const work = join(dir, 'work');
    await mkdir(work);
    await writeFile(join(work, 'partial'), 'x');
    const ledger = join(dir, `${hostname()}-1.log`);
    await writeFile(
      ledger,
      line({ op: 'owner', pid: 1, host: hostname(), startTime: '1' }) +
        line({ op: '+path', path: work }) +
        line({ op: '+pid', pid: victim.pid, startTime: processStartTime(victim.pid!) }) +
        // The same pid number, but another process's start time: what a reused pid looks like.
        line({ op: '+pid', pid: bystander.pid, startTime: '1' }),
    );
    const exited = new Promise((r) => victim.once('exit', r));
    const cleaned = await cleanLedger(ledger);
    await exited;
    expect(cleaned.processes.map((p) => p.pid)).toEqual([victim.pid]);
    expect(cleaned.paths).toEqual([work]);
    await expect(readFile(join(work, 'partial'))).rejects.toThrow('ENOENT');
    await expect(readFile(ledger)).rejects.toThrow('ENOENT');
    expect(processAlive(bystander.pid!)).toBe(true);
    bystander.kill('SIGKILL');
  });
});
