import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentClient } from '../../src/agent/agent-client.ts';
import type { QemuVmSpec } from '../../src/config/vm-spec.ts';
import { connectDocker, type DockerClient } from '../../src/docker/docker-client.ts';
import type { WineVmGuest } from '../../src/images/wine-vm-disk.ts';
import { GuestFrozenError } from '../../src/qemu/errors.ts';
import { createOverlay } from '../../src/qemu/overlay-disk.ts';
import { QemuVm } from '../../src/qemu/qemu-vm.ts';
import { createRunDirectory } from '../../src/qemu/run-directory.ts';
import { PEER_FORWARD, prepareQemuTarget, type PreparedQemuTarget } from '../../src/targets/qemu-target.ts';
import { sleep } from '../../src/util/abortable.ts';
import { resultsDir } from '../../src/util/paths.ts';
import { wineVmGuest, wineVmSpec } from '../support/wine-vm-guest.ts';

// The real wine-vm guest, frozen with QMP `stop` in the middle of a stream of
// agent calls (a scenario's polling): the watchdog must end the operation
// with a typed error inside the spec's silence budget, not at a deadline,
// and carry the serial tail and a screenshot. The guest is restored from the
// target's saved state (made by the first run that needs it, then found in
// the cache), as every scenario's guest is: no cold boot of its own.
let docker: DockerClient;
let work: string;
let spec: QemuVmSpec;
let guest: WineVmGuest;
let prepared: PreparedQemuTarget;

beforeAll(async () => {
  docker = await connectDocker();
  work = await mkdtemp(join(tmpdir(), 'retrolab-silence-'));
  spec = await wineVmSpec();
  const signal = AbortSignal.timeout(40 * 60_000);
  prepared = await prepareQemuTarget(spec, { docker, signal });
  guest = await wineVmGuest(docker, { signal });
}, 45 * 60_000);

afterAll(async () => {
  await docker[Symbol.asyncDispose]();
  await rm(work, { recursive: true, force: true });
});

describe('the silence budget', () => {
  it(
    'a guest frozen by QMP stop mid-scenario is an error within serialSilenceMs, with serial tail and screenshot',
    async () => {
      const runDir = await createRunDirectory(join(work, 'frozen'));
      const overlay = await createOverlay(docker, { backing: prepared.warm.goldenOverlay, overlay: join(runDir.hostPath, 'disk.qcow2') });
      await using vm = await QemuVm.start({
        docker,
        spec,
        runDir,
        artifactsDir: join(resultsDir(), 'integration', 'silence-budget'),
        accel: prepared.accel,
        kernel: { image: guest.kernel, initrd: guest.initrd },
        disk: overlay,
        incomingStateFile: prepared.warm.stateFile,
        forwards: { guest: [PEER_FORWARD] },
      });
      const agent = await vm.waitForReady((signal) =>
        AgentClient.connect(vm.serial, { signal, handshakeTimeoutMs: spec.timeouts.bootToReadyMs }),
      );
      let calls = 0;
      let frozenAt = 0;
      const started = Date.now();
      const outcome = await vm
        .guard(
          'a polling scenario',
          async (signal) => {
            for (;;) {
              await agent.ping(Buffer.from('alive'), { signal });
              calls++;
              if (calls === 5) {
                frozenAt = Date.now();
                await vm.qmp.stop();
              }
              await sleep(200, signal);
            }
          },
          { timeoutMs: 10 * 60_000, silence: { limitMs: spec.timeouts.serialSilenceMs, silentForMs: () => agent.silentWhileWaitingMs } },
        )
        .catch((error: unknown) => error);
      expect(calls).toBe(5);
      expect(outcome).toBeInstanceOf(GuestFrozenError);
      const frozen = outcome as GuestFrozenError;
      expect(frozen.status).toBe('paused');
      expect(Date.now() - frozenAt).toBeLessThan(spec.timeouts.serialSilenceMs + 5_000);
      expect(frozen.lastSerialLines.length + (frozen.artifacts.serialLogPath ? 1 : 0)).toBeGreaterThan(0);
      expect(frozen.screenshotPath).toBeDefined();
      expect((await stat(frozen.screenshotPath!)).size).toBeGreaterThan(0);
      expect(Date.now() - started).toBeLessThan(spec.timeouts.serialSilenceMs + 30_000);
      await agent.close();
    },
    15 * 60_000,
  );
});
