import { describe, expect, it } from 'vitest';
import type { DockerClient } from '../../src/docker/docker-client.ts';
import type { ScenarioName } from '../../src/model/scenario-catalog.ts';
import type { ProgressEvent } from '../../src/report/progress.ts';
import { matrixItems, runMatrix, type MatrixHost } from '../../src/scenarios/matrix-run.ts';
import type { PreparedTarget } from '../../src/targets/prepare-target.ts';
import { fakePreparedTarget, type FakeBehaviour } from '../support/fake-guest.ts';

// runMatrix over several hosts, with fake guests (test/support/fake-guest.ts)
// and fake engines whose ping says whether the host is up. The real engines
// (a second dockerd in a namespace, reached over SSH) are in the e2e suite.

const RUN = { settleMs: 0, pollMs: 1, releaseAckMs: 1000, programTimeoutMs: 30_000 };
const SCENARIOS: ScenarioName[] = ['dup-close', 'workaround-late-close', 'workaround-dummy-socket', 'leak-control'];

function fakeHost(name: string, slots: number, up: () => boolean): MatrixHost {
  const docker = {
    endpoint: `fake://${name}`,
    ping: () => (up() ? Promise.resolve() : Promise.reject(new Error(`${name}: connection refused`))),
  } as unknown as DockerClient;
  return { name, docker, slots };
}

describe('runMatrix over several hosts', () => {
  it('spreads the scenarios over both hosts, runs them at once, and records the host of every entry', async () => {
    const logs = new Map<string, string[]>();
    let running = 0;
    let most = 0;
    const prepare = (_target: string, { docker }: { docker: DockerClient }): Promise<PreparedTarget> => {
      const log: string[] = [];
      logs.set(docker.endpoint, log);
      const prepared = fakePreparedTarget({ log, execGuestMs: 0 });
      const start = prepared.startGuest.bind(prepared);
      return Promise.resolve(
        Object.assign(prepared, {
          async startGuest() {
            running += 1;
            most = Math.max(most, running);
            // Long enough for the other slot's item to start meanwhile.
            await new Promise((resolve) => setTimeout(resolve, 30));
            const guest = await start();
            const dispose = guest[Symbol.asyncDispose];
            return Object.assign(guest, {
              [Symbol.asyncDispose]: async () => {
                running -= 1;
                await dispose();
              },
            });
          },
        }),
      );
    };
    const progress: ProgressEvent[] = [];
    const { entries } = await runMatrix({
      hosts: [fakeHost('a', 1, () => true), fakeHost('b', 1, () => true)],
      targets: ['wine'],
      scenarios: SCENARIOS,
      prepare,
      run: RUN,
      onProgress: (event) => progress.push(event),
    });
    expect(entries.map((entry) => entry.scenario)).toEqual(SCENARIOS);
    for (const entry of entries) expect(entry.verdict, entry.reason).toBe('pass');
    expect(new Set(entries.map((entry) => entry.host))).toEqual(new Set(['a', 'b']));
    expect(most).toBe(2);
    // Both engines prepared the target for their own guests.
    expect([...logs.keys()].sort()).toEqual(['fake://a', 'fake://b']);
    // The progress lines say where each scenario runs, and each guest's own lines carry the host.
    expect(progress.filter((event) => event.kind === 'step' && /^on [ab]$/.test(event.message))).toHaveLength(SCENARIOS.length);
  });

  it('a host that stops answering mid-scenario: its item runs again on the other host, whose entry it becomes', async () => {
    let bUp = true;
    const prepare = (_target: string, { docker }: { docker: DockerClient }): Promise<PreparedTarget> => {
      const onB = docker.endpoint === 'fake://b';
      // On b the agent goes silent and the engine with it: what a dockerd killed mid-scenario looks like.
      const behaviour = (commandLine: string): FakeBehaviour => {
        if (onB && /dupclose\.exe/.test(commandLine)) {
          bUp = false;
          return 'silent';
        }
        return 'normal';
      };
      return Promise.resolve(fakePreparedTarget({ log: [], behaviour, execGuestMs: 0 }));
    };
    const progress: ProgressEvent[] = [];
    const { entries } = await runMatrix({
      hosts: [fakeHost('a', 1, () => true), fakeHost('b', 1, () => bUp)],
      targets: ['wine'],
      scenarios: ['leak-control', 'dup-close', 'workaround-late-close'],
      prepare,
      run: RUN,
      onProgress: (event) => progress.push(event),
    });
    for (const entry of entries) {
      expect(entry.verdict, `${entry.scenario}: ${entry.reason}`).toBe('pass');
      expect(entry.host).toBe('a');
    }
    expect(progress.some((event) => event.kind === 'warn' && /host lost: b stopped answering/.test(event.message))).toBe(true);
    expect(progress.some((event) => event.kind === 'warn' && /queued again for another host: b dropped/.test(event.message))).toBe(true);
  });

  it('with every host gone, what is left is an infra-error naming the hosts it was lost on', async () => {
    let up = true;
    const prepare = (): Promise<PreparedTarget> =>
      Promise.resolve(
        fakePreparedTarget({
          log: [],
          behaviour: (commandLine) => {
            if (/dupclose\.exe/.test(commandLine)) up = false;
            return /dupclose\.exe/.test(commandLine) ? 'silent' : 'normal';
          },
          execGuestMs: 0,
        }),
      );
    const { entries } = await runMatrix({
      hosts: [fakeHost('only', 1, () => up)],
      targets: ['wine'],
      scenarios: ['dup-close', 'workaround-dummy-socket'],
      prepare,
      run: RUN,
    });
    expect(entries).toHaveLength(2);
    expect(entries.map((entry) => entry.verdict)).toEqual(['infra-error', 'infra-error']);
    // The one that ran was cut short; the one still queued never ran.
    expect(entries[0]!.reason).toMatch(/^cut short: its host dropped while it ran \(only\): /);
    expect(entries[1]!.reason).toMatch(/^not run: every host dropped \(only\)/);
    expect(entries[0]!.host).toBeUndefined();
  });

  it('--shard i/n: the shards hold every item once, and a shard runs only its own', async () => {
    const whole = matrixItems({ targets: ['wine', 'wine-vm'], scenarios: SCENARIOS });
    const parts = [1, 2, 3].map((index) => matrixItems({ targets: ['wine', 'wine-vm'], scenarios: SCENARIOS, shard: { index, count: 3 } }));
    expect(parts.flat().length).toBe(whole.length);
    expect(new Set(parts.flat().map((item) => `${item.target} ${item.scenarios.join()}`)).size).toBe(whole.length);
    const { entries } = await runMatrix({
      hosts: [fakeHost('a', 1, () => true)],
      targets: ['wine'],
      scenarios: SCENARIOS,
      shard: { index: 2, count: 2 },
      prepare: () => Promise.resolve(fakePreparedTarget({ log: [], execGuestMs: 0 })),
      run: RUN,
    });
    const expected = matrixItems({ targets: ['wine'], scenarios: SCENARIOS, shard: { index: 2, count: 2 } }).map(
      (item) => item.scenarios[0],
    );
    expect(entries.map((entry) => entry.scenario)).toEqual(expected);
    expect(entries.length).toBe(2);
  });
});
