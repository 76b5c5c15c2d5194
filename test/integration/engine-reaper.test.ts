import Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { connectDocker } from '../../src/docker/docker-client.ts';
import { LABEL } from '../../src/docker/labels.ts';
import { processAlive } from '../../src/util/owner-ledger.ts';
import { startOwnerProcess } from '../support/owner-process.ts';

// The reaper container on a real engine (this machine's, standing in for a remote one), driven by an owner
// process (test/support/engine-reaper-owner.ts) that has no reaper process: what disappears, the container did.

const engine = new Docker({ socketPath: '/var/run/docker.sock' });

interface Owner {
  owner: number;
  container: string;
  reaper: string;
}

async function startOwner(env: NodeJS.ProcessEnv = {}): Promise<Owner> {
  return startOwnerProcess<Owner>('engine-reaper-owner.ts', [], env);
}

async function left(owner: Owner): Promise<string[]> {
  const found = await engine.listContainers({ all: true, filters: { label: [`${LABEL.ownerPid}=${owner.owner}`] } });
  return found.map((c) => (c.Id === owner.reaper ? 'reaper' : c.Id === owner.container ? 'container' : c.Id)).sort();
}

async function waitForNone(owner: Owner, withinMs: number): Promise<number> {
  const started = Date.now();
  while ((await left(owner)).length > 0) {
    if (Date.now() - started > withinMs) throw new Error(`still there after ${withinMs} ms: ${(await left(owner)).join(', ')}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return Date.now() - started;
}

describe('the reaper container', () => {
  it('an owner that hangs without closing its stream (SIGSTOP): reaped after the silence allowed, the owner still alive', async () => {
    const owner = await startOwner({ RETROLAB_REAPER_SILENCE_S: '3' });
    try {
      expect(await left(owner)).toEqual(['container', 'reaper']);
      process.kill(owner.owner, 'SIGSTOP');
      // Its connection stays open: only the missing heartbeat can tell. 3 s of silence, 2 s of grace.
      await new Promise((r) => setTimeout(r, 2_000));
      expect(await left(owner)).toEqual(['container', 'reaper']);
      const ms = await waitForNone(owner, 15_000);
      expect(ms).toBeLessThan(15_000);
      expect(processAlive(owner.owner)).toBe(true);
    } finally {
      process.kill(owner.owner, 'SIGKILL');
    }
  }, 60_000);

  it('a stale reaper (it could not act: paused here) is removed by the next command’s sweep with what its owner left', async () => {
    const owner = await startOwner();
    await engine.getContainer(owner.reaper).pause();
    process.kill(owner.owner, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 3_000));
    expect(await left(owner)).toEqual(['container', 'reaper']);
    await using docker = await connectDocker();
    void docker;
    expect(await left(owner)).toEqual([]);
  }, 60_000);
});
