import { open, stat } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { buildGuestApps } from '../../src/guest-apps/build.ts';
import { ensureWineVmGuest, type WineVmGuest } from '../../src/images/wine-vm-disk.ts';

async function mtimes(guest: WineVmGuest): Promise<number[]> {
  return Promise.all([guest.kernel, guest.initrd, guest.disk].map(async (file) => (await stat(file)).mtimeMs));
}

// What the guest built here boots into (its console, Wine, the agent on COM1, a shutdown through the agent)
// is checked on its one cold boot, in qemu-wine-vm.test.ts.
describe('wine-vm guest', () => {
  it(
    'builds kernel, initramfs and disk once; a second call reuses them untouched',
    async () => {
      const [agent] = await buildGuestApps({ only: ['agent'] });
      if (!agent) throw new Error('buildGuestApps returned no agent');
      const guest = await ensureWineVmGuest({ agentExe: agent.path, signal: AbortSignal.timeout(40 * 60_000) });

      expect((await stat(guest.kernel)).size).toBeGreaterThan(1_000_000);
      expect((await stat(guest.initrd)).size).toBeGreaterThan(100_000);
      // The qcow2 magic; the disk is ~470 MB, so only its first bytes are read.
      await using disk = await open(guest.disk);
      const { buffer } = await disk.read(Buffer.alloc(4), 0, 4, 0);
      expect(buffer.toString('latin1')).toBe('QFI\xfb');

      const built = await mtimes(guest);
      const again = await ensureWineVmGuest({ agentExe: agent.path });
      expect(again).toEqual(guest);
      expect(await mtimes(again)).toEqual(built);
    },
    45 * 60_000,
  );
});
