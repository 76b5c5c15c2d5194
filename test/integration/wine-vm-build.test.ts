import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AgentClient } from '../../src/agent/agent-client.ts';
import { connectDocker } from '../../src/docker/docker-client.ts';
import { RUNNER_IMAGES } from '../../src/docker/image-names.ts';
import { buildGuestApps } from '../../src/guest-apps/build.ts';
import { ensureWineVmGuest, type WineVmGuest } from '../../src/images/wine-vm-disk.ts';

async function mtimes(guest: WineVmGuest): Promise<number[]> {
  return Promise.all([guest.kernel, guest.initrd, guest.disk].map(async (file) => (await stat(file)).mtimeMs));
}

/** QEMU creates the socket and holds the guest until someone connects (wait=on). */
async function connectSerial(path: string, signal: AbortSignal): Promise<Socket> {
  for (;;) {
    signal.throwIfAborted();
    const socket = await new Promise<Socket | undefined>((done) => {
      const s = connect(path);
      s.once('connect', () => done(s));
      s.once('error', () => done(undefined));
    });
    if (socket) return socket;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** QEMU's command line for this test only; the product's comes from src/qemu and vms/wine-vm/spec.json. */
function qemuCommand(guest: WineVmGuest): string {
  return [
    `qemu-img create -q -f qcow2 -b /guest/${basename(guest.disk)} -F qcow2 /run/retrolab/run.qcow2 &&`,
    'exec qemu-system-i386 -accel tcg -M pc -cpu pentium3 -m 512 -smp 1 -nodefaults -display none -no-reboot',
    `-kernel /guest/${basename(guest.kernel)} -initrd /guest/${basename(guest.initrd)} -append '${guest.kernelAppend}'`,
    '-drive file=/run/retrolab/run.qcow2,if=virtio,format=qcow2',
    '-netdev user,id=n0,restrict=on -device e1000,netdev=n0',
    '-chardev socket,id=ser0,path=/run/retrolab/serial.sock,server=on,wait=on -serial chardev:ser0',
    '-serial file:/run/retrolab/console.log',
  ].join(' ');
}

describe('wine-vm guest', () => {
  it(
    'builds kernel, initramfs and disk once, then boots under TCG into the agent on COM1',
    async () => {
      const [agent] = await buildGuestApps({ only: ['agent'] });
      if (!agent) throw new Error('buildGuestApps returned no agent');
      const guest = await ensureWineVmGuest({ agentExe: agent.path, signal: AbortSignal.timeout(40 * 60_000) });

      expect((await stat(guest.kernel)).size).toBeGreaterThan(1_000_000);
      expect((await stat(guest.initrd)).size).toBeGreaterThan(100_000);
      expect((await readFile(guest.disk)).subarray(0, 4).toString('latin1')).toBe('QFI\xfb');

      const built = await mtimes(guest);
      const again = await ensureWineVmGuest({ agentExe: agent.path });
      expect(again).toEqual(guest);
      expect(await mtimes(again)).toEqual(built);

      const run = await mkdtemp(join(tmpdir(), 'wine-vm-'));
      try {
        // QEMU runs as nobody in the container and creates its sockets and overlay here.
        await chmod(run, 0o777);
        await using docker = await connectDocker();
        const startedAt = Date.now();
        await using container = await docker.start({
          image: RUNNER_IMAGES.qemu,
          cmd: ['sh', '-c', qemuCommand(guest)],
          binds: [
            { hostPath: dirname(guest.disk), containerPath: '/guest', readOnly: true },
            { hostPath: run, containerPath: '/run/retrolab' },
          ],
          memoryMb: 1024,
        });

        const socket = await connectSerial(join(run, 'serial.sock'), AbortSignal.timeout(30_000));
        await using client = await AgentClient.connect(socket, { handshakeTimeoutMs: 180_000 });
        const readyMs = Date.now() - startedAt;
        expect(client.banner.text).toMatch(/^retrolab-agent /);
        // The kernel console goes to ttyS1: on COM1 its boot log would be tens
        // of kilobytes of garbage. Some stray bytes arrive while the line is set
        // up (3 and 108 seen); the protocol's resync drops them.
        expect(client.stats.garbageBytes).toBeLessThan(1024);

        const info = await client.sysinfo();
        expect(info.wineVersion).toMatch(/^8\./);
        const echo = await client.exec('cmd /c echo wine-vm-exec');
        expect(echo.stdout).toContain('wine-vm-exec');

        const console = await readFile(join(run, 'console.log'), 'utf8');
        expect(console).toContain('initramfs: root is /dev/vda');
        expect(console).toMatch(/inet 10\.0\.2\.15\/24/);

        // A shutdown request makes the agent exit 0 under Wine; the guest then powers off and QEMU exits.
        await client.shutdown();
        const exited = await container.waitForExit({ signal: AbortSignal.timeout(60_000) });
        expect(exited.exitCode).toBe(0);
        expect(await readFile(join(run, 'console.log'), 'utf8')).toContain('the agent asked for shutdown');
        process.stderr.write(`wine-vm: agent ready ${(readyMs / 1000).toFixed(1)} s after the container started\n`);
      } finally {
        await rm(run, { recursive: true, force: true });
      }
      expect(await mtimes(guest)).toEqual(built);
    },
    45 * 60_000,
  );
});
