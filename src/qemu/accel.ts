import { access, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import createDebug from 'debug';
import type { QemuVmSpec } from '../config/vm-spec.ts';
import type { DockerClient } from '../docker/docker-client.ts';
import { RUNNER_IMAGES } from '../docker/image-names.ts';
import type { ProgressSink } from '../report/progress.ts';
import { silentProgress } from '../report/progress.ts';
import { QEMU_BINARY } from './command-line.ts';
import { KvmUnavailableError } from './errors.ts';
import { containerUser, prepareWritableDirectory } from './run-directory.ts';
import { DEBUG_EXIT_PORT, TINY_GUEST_BANNER, tinyGuestImage } from './tiny-guest.ts';
import { trackPath } from '../util/owner-ledger.ts';

const debug = createDebug('retrolab:accel');

export interface AccelChoice {
  accel: 'tcg' | 'kvm';
  /** Why, in a sentence a person can act on. */
  reason: string;
}

/** A KVM that works boots the tiny guest in well under a second; the rest is container start-up. */
const PROBE_TIMEOUT_MS = 15_000;

/** One probe per engine per process: KVM does not come and go during a run. */
const probes = new Map<string, Promise<AccelChoice>>();

/**
 * Picks TCG or KVM for a spec. KVM is used only when the spec allows it and a
 * guest has been seen running under it on this engine: `/dev/kvm` existing is
 * not enough (here it is paravirtual, kvm_pvm, and cannot run unmodified
 * guests).
 */
export async function chooseAccel(
  docker: DockerClient,
  spec: QemuVmSpec,
  options: { signal?: AbortSignal; onProgress?: ProgressSink } = {},
): Promise<AccelChoice> {
  const choice = await decide(docker, spec, options);
  if (spec.accel === 'kvm' && choice.accel !== 'kvm') throw new KvmUnavailableError(choice.reason);
  (options.onProgress ?? silentProgress)({ kind: 'step', scope: spec.target, message: `accelerator ${choice.accel}: ${choice.reason}` });
  return choice;
}

async function decide(docker: DockerClient, spec: QemuVmSpec, options: { signal?: AbortSignal }): Promise<AccelChoice> {
  if (spec.accel === 'tcg') return { accel: 'tcg', reason: 'the VM spec asks for TCG' };
  if (!spec.kvmAllowed) return { accel: 'tcg', reason: `the VM spec of ${spec.target} forbids KVM (kvmAllowed: false)` };
  return kvmOnEngine(docker, options);
}

/** Whether a guest runs under KVM on this engine's machine (`kvm`) or not (`tcg`, with the reason); probed once per engine. */
export function kvmOnEngine(docker: DockerClient, options: { signal?: AbortSignal } = {}): Promise<AccelChoice> {
  let probe = probes.get(docker.endpoint);
  if (!probe) {
    probe = probeKvm(docker, options);
    probes.set(docker.endpoint, probe);
    probe.catch(() => probes.delete(docker.endpoint));
  }
  return probe;
}

async function probeKvm(docker: DockerClient, options: { signal?: AbortSignal }): Promise<AccelChoice> {
  // Host-side facts only describe this machine when the engine runs on it.
  if (docker.endpoint.startsWith('unix://')) {
    const local = await localKvmVerdict();
    if (local) return local;
  }
  const outcome = await testGuestRuns(docker, 'kvm', options);
  if (outcome.ran) return { accel: 'kvm', reason: `a test guest ran under KVM (${outcome.elapsedMs} ms)` };
  return { accel: 'tcg', reason: `a test guest under KVM failed (${outcome.detail}); using TCG` };
}

export type TestGuestOutcome = { ran: true; elapsedMs: number } | { ran: false; detail: string };

/**
 * Boots the tiny guest under an accelerator in the qemu-runner container and
 * reports whether it ran: it prints its banner on COM1 and leaves through
 * isa-debug-exit, so QEMU exits with (0 << 1) | 1 within milliseconds of a working start.
 */
export async function testGuestRuns(
  docker: DockerClient,
  accel: 'tcg' | 'kvm',
  options: { signal?: AbortSignal } = {},
): Promise<TestGuestOutcome> {
  const dir = await mkdtemp(join(tmpdir(), 'retrolab-accel-probe-'));
  const untrack = trackPath(dir);
  try {
    await prepareWritableDirectory(dir);
    const local = join(dir, 'probe.bin');
    await writeFile(local, tinyGuestImage('exit'));
    // On a host that does not see this machine's files, a copy in its cache (tiny, once).
    const image = await docker.files.provideFile(local, { signal: options.signal });
    const signal = options.signal
      ? AbortSignal.any([options.signal, AbortSignal.timeout(PROBE_TIMEOUT_MS)])
      : AbortSignal.timeout(PROBE_TIMEOUT_MS);
    const started = Date.now();
    let result;
    try {
      // start + waitForExit rather than DockerClient.run: see overlay-disk.ts.
      await using container = await docker.start(
        {
          image: RUNNER_IMAGES.qemu,
          entrypoint: [QEMU_BINARY],
          cmd: [
            '-nodefaults',
            '-no-user-config',
            '-display',
            'none',
            '-M',
            'pc',
            '-cpu',
            'qemu32',
            '-m',
            '16',
            '-accel',
            accel,
            '-kernel',
            image,
            '-serial',
            'stdio',
            '-device',
            `isa-debug-exit,iobase=0x${DEBUG_EXIT_PORT.toString(16)},iosize=0x04`,
          ],
          binds: [{ hostPath: image, containerPath: image, readOnly: true }],
          devices: accel === 'kvm' ? ['/dev/kvm'] : [],
          user: await containerUserFor(accel, docker),
          memoryMb: 128,
        },
        { signal },
      );
      result = await container.waitForExit({ signal });
    } catch (error) {
      options.signal?.throwIfAborted();
      debug('%s probe failed: %O', accel, error);
      return { ran: false, detail: `no clean exit within ${PROBE_TIMEOUT_MS / 1000} s: ${String(error)}` };
    }
    if (result.exitCode === 1 && result.stdout.includes(TINY_GUEST_BANNER.trim())) return { ran: true, elapsedMs: Date.now() - started };
    const said = (result.stderr.trim().split('\n').at(-1) ?? '').slice(0, 200);
    return { ran: false, detail: `exit ${result.exitCode}${said ? `: ${said}` : ''}` };
  } finally {
    await rm(dir, { recursive: true, force: true });
    untrack();
  }
}

/**
 * The container user for an accelerator: under KVM its group is /dev/kvm's
 * (usually 0660 root:kvm), since a device passed into a container keeps the
 * host's permissions.
 */
export async function containerUserFor(accel: 'tcg' | 'kvm', docker: DockerClient): Promise<string> {
  const user = containerUser();
  if (accel === 'tcg' || !docker.endpoint.startsWith('unix://')) return user;
  const device = await stat('/dev/kvm');
  return `${user.split(':')[0]}:${device.gid}`;
}

/** A reason not to try KVM at all, read from this host, or undefined when a probe should decide. */
async function localKvmVerdict(): Promise<AccelChoice | undefined> {
  try {
    await access('/dev/kvm');
  } catch {
    return { accel: 'tcg', reason: '/dev/kvm does not exist on this host; using TCG' };
  }
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  const hardware = /^flags\s*:.*\b(vmx|svm)\b/m.test(cpuinfo);
  const paravirtual = await access('/sys/module/kvm_pvm').then(
    () => true,
    () => false,
  );
  if (paravirtual && !hardware) {
    return {
      accel: 'tcg',
      reason: '/dev/kvm is paravirtual here (kvm_pvm loaded, the CPU has no vmx/svm) and cannot run unmodified guests; using TCG',
    };
  }
  return undefined;
}
