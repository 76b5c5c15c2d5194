import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { defaultCpus, toCreateOptions } from '../../src/docker/container-spec.ts';
import { ConfigError } from '../../src/errors.ts';

// What every container retrolab starts is given (#11: containers get a CPU
// limit; the hardening the runner images were measured to work with).

const LABELS = { 'retrolab.product': 'retrolab', 'retrolab.owner.pid': '1' };

describe('container create options', () => {
  it('a CPU limit on every container: half the host’s CPUs (at least one) unless the spec says', () => {
    const cores = availableParallelism();
    expect(defaultCpus()).toBe(Math.max(1, Math.floor(cores / 2)));
    expect(toCreateOptions({ image: 'x', cmd: ['true'] }, LABELS).HostConfig?.NanoCpus).toBe(defaultCpus() * 1e9);
    expect(toCreateOptions({ image: 'x', cmd: ['true'], cpus: 1.25 }, LABELS).HostConfig?.NanoCpus).toBe(1.25e9);
  });

  it('no capabilities, no new privileges, a pids and a memory limit, no network and the run’s labels, whatever the hardening', () => {
    for (const hardening of ['strict', 'standard'] as const) {
      const options = toCreateOptions({ image: 'x', cmd: ['true'], hardening }, LABELS);
      expect(options.Labels).toEqual(LABELS);
      expect(options.User).toBe('65534:65534');
      expect(options.HostConfig).toMatchObject({
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges'],
        PidsLimit: 256,
        Memory: 1024 * 1024 * 1024,
        NetworkMode: 'none',
        ReadonlyRootfs: hardening === 'strict',
      });
      // No restart policy: after a dockerd restart a guest stays stopped for the run's cleanup, the reaper or the
      // next sweep to remove, instead of coming back with nobody on its serial line.
      expect(options.HostConfig?.RestartPolicy).toBeUndefined();
    }
  });

  it('refuses a bind mount with a relative host path, naming it', () => {
    const make = () =>
      toCreateOptions({ image: 'x', cmd: ['true'], binds: [{ hostPath: 'runs/wine-1', containerPath: '/run/retrolab' }] }, LABELS);
    expect(make).toThrow(ConfigError);
    expect(make).toThrow('Bind mount host path must be absolute: runs/wine-1');
  });
});
