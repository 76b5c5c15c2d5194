import { createHash } from 'node:crypto';
import { access, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadVmSpec } from '../../src/config/load-vm-spec.ts';
import type { QemuVmSpec } from '../../src/config/vm-spec.ts';
import { connectDocker, type DockerClient } from '../../src/docker/docker-client.ts';
import { LABEL } from '../../src/docker/labels.ts';
import { chooseAccel, testGuestRuns } from '../../src/qemu/accel.ts';
import {
  BootTimeoutError,
  QmpCommandError,
  SerialSilenceError,
  VmCrashedError,
  VmDeadlineError,
  VmStartError,
} from '../../src/qemu/errors.ts';
import { createOverlay, diskImageInfo } from '../../src/qemu/overlay-disk.ts';
import { PNG_SIGNATURE } from '../../src/qemu/ppm-to-png.ts';
import { QemuVm } from '../../src/qemu/qemu-vm.ts';
import { createRunDirectory } from '../../src/qemu/run-directory.ts';
import type { SerialLine } from '../../src/qemu/serial-line.ts';
import { TINY_GUEST_BANNER, tinyGuestImage } from '../../src/qemu/tiny-guest.ts';

// The wine-vm machine (pentium3, std VGA, e1000, pc) with the hand-written tiny
// guest instead of Debian's kernel: it prints a banner on COM1, then echoes.
let docker: DockerClient;
let work: string;
let spec: QemuVmSpec;
let guestKernel: string;

beforeAll(async () => {
  docker = await connectDocker();
  work = await mkdtemp(join(tmpdir(), 'retrolab-qemu-vm-test-'));
  const wineVm = await loadVmSpec('wine-vm');
  if (wineVm.kind !== 'qemu') throw new Error('vms/wine-vm/spec.json is not a QEMU spec');
  spec = { ...wineVm, memoryMb: 32 };
  guestKernel = join(work, 'tiny-guest.bin');
  await writeFile(guestKernel, tinyGuestImage('echo'));
});

afterAll(async () => {
  await docker[Symbol.asyncDispose]();
  await rm(work, { recursive: true, force: true });
});

/** Run directories live under `work`, which afterAll removes with everything in it. */
async function startTinyVm(name: string, extra: { incomingStateFile?: string; devices?: string[] } = {}) {
  const runDir = await createRunDirectory(join(work, name));
  const vm = await QemuVm.start({
    docker,
    spec,
    runDir,
    artifactsDir: join(work, name, 'artifacts'),
    accel: 'tcg',
    kernel: { image: guestKernel },
    ...extra,
  });
  return vm;
}

/** Reads COM1 until `text` has arrived; returns everything read. */
function readUntil(serial: SerialLine, text: string, timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer) => {
      seen += chunk.toString('latin1');
      if (seen.includes(text)) {
        cleanup();
        resolve(seen);
      }
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`serial: no ${JSON.stringify(text)} within ${timeoutMs} ms; got ${JSON.stringify(seen)}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      serial.off('data', onData);
    };
    serial.on('data', onData);
  });
}

async function containersOfThisRun(): Promise<string[]> {
  const found = await docker.listContainers({ [LABEL.runId]: docker.runId });
  return found.map((c) => c.id);
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

describe('QemuVm in the hardened qemu-runner container', () => {
  it('boots, answers QMP query-status and echoes on COM1', async () => {
    const vm = await startTinyVm('cold');
    await using running = vm;
    expect(await readUntil(running.serial, TINY_GUEST_BANNER)).toContain(TINY_GUEST_BANNER);
    expect(await running.status()).toEqual({ status: 'running', running: true });
    running.serial.write('ping-1');
    await readUntil(running.serial, 'ping-1');
    expect(running.serial.lastLines(5)[0]).toBe(TINY_GUEST_BANNER.trim());
    expect(running.accel).toBe('tcg');
  });

  it('runs QEMU hardened: non-root, no capabilities, read-only root, no network but loopback', async () => {
    await using vm = await startTinyVm('hardening');
    await readUntil(vm.serial, TINY_GUEST_BANNER);
    const pid = (await readFile(join(vm.hostRunDir, 'qemu.pid'), 'utf8')).trim();
    const status = await vm.container.exec(['cat', `/proc/${pid}/status`]);
    expect(status.stdout).toMatch(/^Uid:\s+65534\s/m);
    expect(status.stdout).toMatch(/^CapEff:\s+0{16}$/m);
    expect(status.stdout).toMatch(/^NoNewPrivs:\s+1$/m);
    expect((await vm.container.exec(['touch', '/etc/written'])).exitCode).not.toBe(0);
    const interfaces = (await vm.container.exec(['cat', '/proc/net/dev'])).stdout
      .split('\n')
      .slice(2)
      .map((line) => line.split(':')[0]?.trim())
      .filter((name) => name);
    expect(interfaces).toEqual(['lo']);
  });

  it('speaks QMP: stop/cont with their events, and typed errors', async () => {
    const vm = await startTinyVm('qmp');
    await using running = vm;
    await readUntil(running.serial, TINY_GUEST_BANNER);
    const stopped = running.qmp.waitForEvent('STOP');
    const iterated = (async () => {
      for await (const event of running.qmp.events()) if (event.event === 'STOP') return event;
      return undefined;
    })();
    await running.qmp.stop();
    expect((await stopped).event).toBe('STOP');
    expect((await iterated)?.timestamp?.seconds).toBeGreaterThan(0);
    expect(await running.status()).toEqual({ status: 'paused', running: false });
    const drained = (async () => {
      const seen: string[] = [];
      for await (const event of running.qmp.events()) seen.push(event.event);
      return seen;
    })();
    const resumed = running.qmp.waitForEvent('RESUME');
    await running.qmp.cont();
    await resumed;
    expect((await running.status()).running).toBe(true);
    const error = await running.qmp.execute('no-such-command').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QmpCommandError);
    expect(error).toMatchObject({ command: 'no-such-command', errorClass: 'CommandNotFound' });
    await running.qmp.quit();
    expect(running.qmp.closed).toBe(true);
    // The iterator ends with the connection, after the events of the quit itself.
    expect(await drained).toEqual(['RESUME', 'SHUTDOWN']);
  });

  it('takes a screendump and converts it to a PNG of the right size', async () => {
    const vm = await startTinyVm('screen');
    await using running = vm;
    await readUntil(running.serial, TINY_GUEST_BANNER);
    const png = await running.screenshot('screen');
    const data = await readFile(png);
    expect(data.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    expect(data.toString('latin1', 12, 16)).toBe('IHDR');
    const width = data.readUInt32BE(16);
    const height = data.readUInt32BE(20);
    // SeaBIOS leaves std VGA in 80x25 text mode: 9x16 cells.
    expect([width, height]).toEqual([720, 400]);
    const idatLength = data.readUInt32BE(33);
    expect(data.toString('latin1', 37, 41)).toBe('IDAT');
    const raw = inflateSync(data.subarray(41, 41 + idatLength));
    expect(raw.length).toBe((width * 3 + 1) * height);
  });

  it('saves a running guest to a file and restores it warm with -incoming', async () => {
    const stateFile = join(work, 'tiny.state');
    {
      const vm = await startTinyVm('save');
      await using running = vm;
      await readUntil(running.serial, TINY_GUEST_BANNER);
      const saved = await running.saveState(stateFile);
      expect(saved.bytes).toBeGreaterThan(0);
      expect((await running.status()).status).toBe('postmigrate');
    }
    expect((await stat(stateFile)).size).toBeGreaterThan(100_000);

    const vm = await startTinyVm('restore', { incomingStateFile: stateFile });
    await using restored = vm;
    expect(await restored.status()).toEqual({ status: 'running', running: true });
    // The restored guest carries on in its echo loop; a reboot would print the banner again.
    restored.serial.write('after-restore');
    const echoed = await readUntil(restored.serial, 'after-restore');
    expect(echoed).not.toContain('RETROLAB-TINY-GUEST-UP');
  });

  it('runs on a throwaway overlay and leaves the golden image untouched', async () => {
    const golden = join(work, 'golden.img');
    const content = Buffer.alloc(4 * 1024 * 1024, 0x5a);
    await writeFile(golden, content);
    const before = sha256(await readFile(golden));
    const runDir = await createRunDirectory(join(work, 'disk'));
    const overlay = await createOverlay(docker, { backing: golden, overlay: join(runDir.hostPath, 'disk.qcow2') });
    expect(overlay.chain).toEqual([
      { path: join(runDir.hostPath, 'disk.qcow2'), format: 'qcow2' },
      { path: golden, format: 'raw' },
    ]);
    expect((await diskImageInfo(docker, overlay.path)).virtualSizeBytes).toBe(content.length);
    {
      const vm = await QemuVm.start({
        docker,
        spec,
        runDir,
        artifactsDir: join(work, 'disk', 'artifacts'),
        accel: 'tcg',
        kernel: { image: guestKernel },
        disk: overlay,
      });
      await using running = vm;
      await readUntil(running.serial, TINY_GUEST_BANNER);
      const blocks = await running.qmp.execute<{ inserted?: { file: string; ro: boolean; backing_file?: string } }[]>('query-block');
      const disk = blocks.find((block) => block.inserted?.file.endsWith('disk.qcow2'));
      expect(disk?.inserted?.ro).toBe(false);
      expect(disk?.inserted?.backing_file).toBe(golden);
      await running.qmp.quit();
    }
    expect(sha256(await readFile(golden))).toBe(before);
  });

  it('warm-starts from a saved state on a fresh overlay of the saved disk (the golden-overlay chain)', async () => {
    const base = join(work, 'chain-base.img');
    await writeFile(base, Buffer.alloc(2 * 1024 * 1024, 0x33));
    const before = sha256(await readFile(base));
    const cache = join(work, 'chain-cache');
    await mkdir(cache, { recursive: true });
    const goldenOverlay = join(cache, 'golden.qcow2');
    const stateFile = join(cache, 'state.bin');
    {
      const runDir = await createRunDirectory(join(work, 'chain-cold'));
      const overlay = await createOverlay(docker, { backing: base, overlay: join(runDir.hostPath, 'disk.qcow2') });
      await using vm = await QemuVm.start({
        docker,
        spec,
        runDir,
        artifactsDir: join(work, 'chain-cold', 'artifacts'),
        accel: 'tcg',
        kernel: { image: guestKernel },
        disk: overlay,
      });
      await readUntil(vm.serial, TINY_GUEST_BANNER);
      await vm.saveState(stateFile);
      await vm.qmp.quit();
      await rename(overlay.path, goldenOverlay);
    }
    for (const run of ['warm-1', 'warm-2']) {
      const runDir = await createRunDirectory(join(work, run));
      const overlay = await createOverlay(docker, { backing: goldenOverlay, overlay: join(runDir.hostPath, 'disk.qcow2') });
      expect(overlay.chain.map((entry) => entry.path)).toEqual([overlay.path, goldenOverlay, base]);
      await using vm = await QemuVm.start({
        docker,
        spec,
        runDir,
        artifactsDir: join(work, run, 'artifacts'),
        accel: 'tcg',
        kernel: { image: guestKernel },
        disk: overlay,
        incomingStateFile: stateFile,
      });
      expect((await vm.status()).running).toBe(true);
      vm.serial.write(run);
      expect(await readUntil(vm.serial, run)).toBe(run);
    }
    expect(sha256(await readFile(base))).toBe(before);
  });

  it('reports a QEMU that cannot start with its own words, and leaves no container', async () => {
    const error = await startTinyVm('bad-start', { devices: ['no-such-device'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VmStartError);
    expect((error as VmStartError).message).toContain("'no-such-device' is not a valid device model name");
    expect(await containersOfThisRun()).toEqual([]);
  });

  it('turns QEMU dying mid-operation into VmCrashedError with the serial tail saved, and leaves no container', async () => {
    const vm = await startTinyVm('crash');
    let caught: unknown;
    {
      await using running = vm;
      await readUntil(running.serial, TINY_GUEST_BANNER);
      const waiting = running.guard(
        'waiting for an answer that never comes',
        (signal) => readUntil(running.serial, 'never', 120_000).then(() => signal),
        {
          timeoutMs: 120_000,
        },
      );
      await running.killQemu();
      caught = await waiting.catch((error: unknown) => error);
    }
    expect(caught).toBeInstanceOf(VmCrashedError);
    const crash = caught as VmCrashedError;
    expect(crash.target).toBe('wine-vm');
    expect(crash.lastSerialLines).toEqual([TINY_GUEST_BANNER.trim()]);
    expect(crash.screenshotPath).toBeUndefined();
    expect(crash.artifacts.serialLogPath).toBeDefined();
    expect(await readFile(crash.artifacts.serialLogPath!, 'latin1')).toBe(TINY_GUEST_BANNER);
    expect(crash.message).toContain('QEMU exited unexpectedly');
    expect(await containersOfThisRun()).toEqual([]);
  });

  it('turns a missed deadline into VmDeadlineError with a screenshot', async () => {
    const vm = await startTinyVm('deadline');
    await using running = vm;
    await readUntil(running.serial, TINY_GUEST_BANNER);
    const error = await running
      .guard(
        'a command with a short deadline',
        (signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))),
        {
          timeoutMs: 500,
        },
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VmDeadlineError);
    const screenshot = (error as VmDeadlineError).screenshotPath;
    expect(screenshot).toBeDefined();
    await access(screenshot!);
    expect((await readFile(screenshot!)).subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
  });
});

describe('the watchdog', () => {
  it('raises BootTimeoutError with the serial tail and a screenshot when the guest never gets ready', async () => {
    const runDir = await createRunDirectory(join(work, 'boot-timeout'));
    await using vm = await QemuVm.start({
      docker,
      spec: { ...spec, timeouts: { ...spec.timeouts, bootToReadyMs: 1_500 } },
      runDir,
      artifactsDir: join(work, 'boot-timeout', 'artifacts'),
      accel: 'tcg',
      kernel: { image: guestKernel },
    });
    const error = await vm
      .waitForReady((signal) => readUntil(vm.serial, 'AGENT READY', 60_000).then(() => signal))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BootTimeoutError);
    const timeout = error as BootTimeoutError;
    expect(timeout.target).toBe('wine-vm');
    expect(timeout.elapsedMs).toBeGreaterThanOrEqual(1_500);
    expect(timeout.lastSerialLines).toEqual([TINY_GUEST_BANNER.trim()]);
    expect(timeout.message).toContain('not ready after');
    expect(timeout.message).toContain(`screenshot: ${timeout.screenshotPath}`);
    expect((await readFile(timeout.screenshotPath!)).subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
  });

  it('raises SerialSilenceError when the guest stays quiet too long', async () => {
    await using vm = await startTinyVm('silence');
    await readUntil(vm.serial, TINY_GUEST_BANNER);
    const error = await vm
      .guard('a command the guest never answers', (signal) => readUntil(vm.serial, 'reply', 60_000).then(() => signal), {
        timeoutMs: 60_000,
        silenceMs: 1_000,
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SerialSilenceError);
    expect((error as SerialSilenceError).silentMs).toBeGreaterThan(1_000);
    expect((error as SerialSilenceError).artifacts.serialLogPath).toBeDefined();
  });
});

describe('the command lines of the licensed targets in a real QEMU', () => {
  // Their disks need a licence; the tiny guest stands in, so what is checked is QEMU's machine.
  it.each([
    { target: 'win95', cpu: 'pentium-i386-cpu', level: 1, nic: ['dev: ne2k_isa', 'iobase = 768 (0x300)', 'irq = 10 (0xa)'], vga: 'VGA' },
    { target: 'win98', cpu: 'pentium2-i386-cpu', level: 2, nic: ['dev: ne2k_pci'], vga: 'VGA' },
    { target: 'winnt4', cpu: 'pentium-i386-cpu', level: 1, nic: ['dev: pcnet'], vga: 'cirrus-vga' },
  ] as const)('$target starts with its CPU, NIC and VGA and no ACPI', async ({ target, cpu, level, nic, vga }) => {
    const licensed = await loadVmSpec(target);
    if (licensed.kind !== 'qemu') throw new Error(`${target} is a QEMU target`);
    const runDir = await createRunDirectory(join(work, target));
    await using vm = await QemuVm.start({
      docker,
      spec: licensed,
      runDir,
      artifactsDir: join(work, target, 'artifacts'),
      accel: 'tcg',
      kernel: { image: guestKernel },
    });
    await readUntil(vm.serial, TINY_GUEST_BANNER);
    const cpus = await vm.qmp.execute<{ 'qom-path': string }[]>('query-cpus-fast');
    expect(cpus).toHaveLength(1);
    const path = cpus[0]?.['qom-path'];
    expect(await vm.qmp.execute('qom-get', { path, property: 'type' })).toBe(cpu);
    expect(await vm.qmp.execute('qom-get', { path, property: 'level' })).toBe(level);
    const qtree = await vm.qmp.execute<string>('human-monitor-command', { 'command-line': 'info qtree' });
    for (const line of nic) expect(qtree).toContain(line);
    expect(qtree).toContain(`dev: ${vga}`);
    expect(qtree).not.toContain('dev: PIIX4_PM');
    expect(qtree).not.toContain('dev: hpet');
  });
});

describe('accelerator choice', () => {
  it('proves an accelerator by running the probe guest to its exit (here with TCG)', async () => {
    const outcome = await testGuestRuns(docker, 'tcg');
    expect(outcome.ran).toBe(true);
  });

  it('never uses KVM for a spec that forbids it', async () => {
    const win98 = await loadVmSpec('win98');
    if (win98.kind !== 'qemu') throw new Error('win98 is a QEMU target');
    expect(await chooseAccel(docker, { ...win98, accel: 'auto' })).toEqual({
      accel: 'tcg',
      reason: 'the VM spec of win98 forbids KVM (kvmAllowed: false)',
    });
  });

  it('falls back to TCG here, saying why', async () => {
    const hostCanRunKvm = await hasHardwareKvm();
    const choice = await chooseAccel(docker, spec);
    if (hostCanRunKvm) {
      expect(choice.accel).toBe('kvm');
    } else {
      expect(choice.accel).toBe('tcg');
      expect(choice.reason).toMatch(/\/dev\/kvm|paravirtual|KVM/);
    }
  });
});

/** Hardware KVM: the device exists and the CPU has vmx or svm. */
async function hasHardwareKvm(): Promise<boolean> {
  const device = await access('/dev/kvm').then(
    () => true,
    () => false,
  );
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8');
  return device && /^flags\s*:.*\b(vmx|svm)\b/m.test(cpuinfo);
}
