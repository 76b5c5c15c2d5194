import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDocker, dockerFromEnvironment } from '../../src/docker/docker-client.ts';
import { LABEL } from '../../src/docker/labels.ts';
import { processAlive } from '../../src/util/owner-ledger.ts';
import { startOwnerProcess } from '../support/owner-process.ts';

// A real orchestrator stand-in (test/support/killable-owner.ts) makes a
// container, a work folder and a host process, and is killed with SIGKILL:
// nothing in it runs again, so whatever disappears was removed from outside.

interface Owner {
  owner: number;
  reaper: number;
  container: string;
  work: string;
  hostProcess: number;
}

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reaper-test-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function startOwner(): Promise<Owner> {
  return startOwnerProcess<Owner>('killable-owner.ts', [dir]);
}

async function leftovers(owner: Owner): Promise<string[]> {
  // The engine itself, not connectDocker(): connecting sweeps, and would hide what is left.
  const { docker } = dockerFromEnvironment();
  const found: string[] = [];
  const containers = await docker.listContainers({ all: true, filters: { label: [`${LABEL.ownerPid}=${owner.owner}`] } });
  if (containers.some((c) => c.Id === owner.container)) found.push(`container ${owner.container.slice(0, 12)}`);
  if (
    await access(owner.work).then(
      () => true,
      () => false,
    )
  )
    found.push(`folder ${owner.work}`);
  if (processAlive(owner.hostProcess)) found.push(`process ${owner.hostProcess}`);
  return found;
}

async function waitForNothingLeft(owner: Owner, withinMs: number): Promise<{ left: string[]; ms: number }> {
  const started = Date.now();
  let left = await leftovers(owner);
  while (left.length > 0 && Date.now() - started < withinMs) {
    await new Promise((r) => setTimeout(r, 500));
    left = await leftovers(owner);
  }
  return { left, ms: Date.now() - started };
}

describe('nothing is left behind when the orchestrator is killed', () => {
  it('SIGKILL: the reaper removes the container, the work folder and the host process within 30 s', async () => {
    const owner = await startOwner();
    expect(await leftovers(owner)).toHaveLength(3);
    process.kill(owner.owner, 'SIGKILL');
    const { left, ms } = await waitForNothingLeft(owner, 30_000);
    expect(left).toEqual([]);
    expect(ms).toBeLessThan(30_000);
    expect(processAlive(owner.reaper)).toBe(false);
  }, 90_000);

  it('reaper killed too: the next command that connects sweeps the same leftovers', async () => {
    const owner = await startOwner();
    process.kill(owner.reaper, 'SIGKILL');
    process.kill(owner.owner, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await leftovers(owner)).toHaveLength(3);
    await using docker = await connectDocker();
    void docker;
    expect(await leftovers(owner)).toEqual([]);
  }, 90_000);
});
