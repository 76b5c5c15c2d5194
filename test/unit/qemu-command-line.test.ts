import { describe, expect, it } from 'vitest';
import { loadVmSpec } from '../../src/config/load-vm-spec.ts';
import type { QemuVmSpec, TargetName } from '../../src/config/vm-spec.ts';
import { ConfigError } from '../../src/errors.ts';
import { WINE_VM_KERNEL_APPEND } from '../../src/images/wine-vm-disk.ts';
import { qemuArguments, type QemuRunOptions } from '../../src/qemu/command-line.ts';

async function qemuSpec(target: TargetName): Promise<QemuVmSpec> {
  const spec = await loadVmSpec(target);
  if (spec.kind !== 'qemu') throw new Error(`${target} is not a QEMU target`);
  return spec;
}

const run: QemuRunOptions = { accel: 'tcg', runDir: '/run/retrolab', disk: { path: '/run/retrolab/disk.qcow2' } };

/** The value after each occurrence of a flag. */
function values(args: string[], flag: string): string[] {
  return args.flatMap((arg, i) => (arg === flag ? [args[i + 1] ?? ''] : []));
}

function value(args: string[], flag: string): string | undefined {
  const found = values(args, flag);
  expect(found.length, `${flag} given ${found.length} times`).toBeLessThanOrEqual(1);
  return found[0];
}

describe('qemuArguments for every QEMU target', () => {
  it.each(['win95', 'win98', 'winme', 'winnt4', 'win2000', 'wine-vm'] as const)(
    '%s: no defaults, no display, sockets in the run dir',
    async (target) => {
      const args = qemuArguments(await qemuSpec(target), run);
      const first = (flag: string) => values(args, flag)[0];
      expect(args.slice(0, 4)).toEqual(['-nodefaults', '-no-user-config', '-display', 'none']);
      expect(value(args, '-qmp')).toBe('unix:/run/retrolab/qmp.sock,server=on,wait=off');
      expect(first('-chardev')).toBe('socket,id=ser0,path=/run/retrolab/serial.sock,server=on,wait=on');
      expect(first('-serial')).toBe('chardev:ser0');
      expect(value(args, '-pidfile')).toBe('/run/retrolab/qemu.pid');
      expect(value(args, '-accel')).toBe('tcg,tb-size=128');
      expect(value(args, '-netdev')).toBe('user,id=n0,restrict=on');
      expect(value(args, '-incoming')).toBeUndefined();
      expect(args).toContain('-no-reboot');
    },
  );

  it('Windows targets have one serial port, COM1, for the agent', async () => {
    for (const target of ['win95', 'win98', 'winme', 'winnt4', 'win2000'] as const) {
      const args = qemuArguments(await qemuSpec(target), run);
      expect(values(args, '-serial')).toEqual(['chardev:ser0']);
    }
  });

  it('win95: pentium, no ACPI/HPET, one CPU, 64 MB, ISA NE2000 at 0x300 IRQ 10, std VGA, IDE', async () => {
    const args = qemuArguments(await qemuSpec('win95'), run);
    expect(value(args, '-M')).toBe('pc,acpi=off,hpet=off');
    expect(value(args, '-cpu')).toBe('pentium');
    expect(value(args, '-smp')).toBe('1');
    expect(value(args, '-m')).toBe('64');
    expect(value(args, '-device')).toBe('ne2k_isa,netdev=n0,iobase=0x300,irq=10');
    expect(value(args, '-vga')).toBe('std');
    expect(value(args, '-drive')).toBe('file=/run/retrolab/disk.qcow2,if=ide,format=qcow2,media=disk');
    expect(value(args, '-kernel')).toBeUndefined();
  });

  it('win98: pentium2, no ACPI, one CPU, ne2k_pci (RTL8029), std VGA', async () => {
    const args = qemuArguments(await qemuSpec('win98'), run);
    expect(value(args, '-M')).toBe('pc,acpi=off,hpet=off');
    expect(value(args, '-cpu')).toBe('pentium2');
    expect(value(args, '-smp')).toBe('1');
    expect(value(args, '-m')).toBe('128');
    expect(value(args, '-device')).toBe('ne2k_pci,netdev=n0');
    expect(value(args, '-vga')).toBe('std');
  });

  it('winnt4: pentium with CPUID level 1, no ACPI/HPET, one CPU, pcnet, cirrus VGA', async () => {
    const args = qemuArguments(await qemuSpec('winnt4'), run);
    expect(value(args, '-M')).toBe('pc,acpi=off,hpet=off');
    expect(value(args, '-cpu')).toBe('pentium,level=1');
    expect(value(args, '-smp')).toBe('1');
    expect(value(args, '-device')).toBe('pcnet,netdev=n0');
    expect(value(args, '-vga')).toBe('cirrus');
    expect(value(args, '-drive')).toContain('if=ide');
  });

  it('winme: pentium2, no ACPI/HPET, one CPU, 128 MB, pcnet, std VGA, IDE (TCG only, as all 9x)', async () => {
    const spec = await qemuSpec('winme');
    const args = qemuArguments(spec, run);
    expect(value(args, '-M')).toBe('pc,acpi=off,hpet=off');
    expect(value(args, '-cpu')).toBe('pentium2');
    expect(value(args, '-smp')).toBe('1');
    expect(value(args, '-m')).toBe('128');
    expect(value(args, '-device')).toBe('pcnet,netdev=n0');
    expect(value(args, '-vga')).toBe('std');
    expect(value(args, '-drive')).toContain('if=ide');
    expect([spec.accel, spec.kvmAllowed]).toEqual(['tcg', false]);
  });

  it('win2000: qemu32 with CPUID level 1 (its setup loops otherwise), no ACPI/HPET, one CPU, 256 MB, pcnet, cirrus VGA, KVM where proven', async () => {
    const spec = await qemuSpec('win2000');
    const args = qemuArguments(spec, run);
    expect(value(args, '-M')).toBe('pc,acpi=off,hpet=off');
    expect(value(args, '-cpu')).toBe('qemu32,level=1');
    expect(value(args, '-smp')).toBe('1');
    expect(value(args, '-m')).toBe('256');
    expect(value(args, '-device')).toBe('pcnet,netdev=n0');
    expect(value(args, '-vga')).toBe('cirrus');
    expect([spec.accel, spec.kvmAllowed]).toEqual(['auto', true]);
  });

  it('wine-vm: pentium3, 512 MB, virtio disk, e1000, kernel and initramfs booted directly', async () => {
    const args = qemuArguments(await qemuSpec('wine-vm'), {
      ...run,
      kernel: { image: '/build/vmlinuz', initrd: '/build/initrd.img' },
    });
    expect(value(args, '-cpu')).toBe('pentium3');
    expect(value(args, '-m')).toBe('512');
    expect(value(args, '-M')).toBe('pc,acpi=on,hpet=off');
    expect(value(args, '-drive')).toBe('file=/run/retrolab/disk.qcow2,if=virtio,format=qcow2,media=disk');
    expect(value(args, '-device')).toBe('e1000,netdev=n0');
    expect(value(args, '-kernel')).toBe('/build/vmlinuz');
    expect(value(args, '-initrd')).toBe('/build/initrd.img');
    // The spec's line is the one the guest build expects (no_timer_check: a loaded host's TCG failed the IO-APIC timer check).
    expect(value(args, '-append')).toBe('console=ttyS1 panic=-1 no_timer_check');
    expect(value(args, '-append')).toBe(WINE_VM_KERNEL_APPEND);
    // COM1 for the agent first, then the guest's console (ttyS1) into a file.
    expect(values(args, '-chardev')).toEqual([
      'socket,id=ser0,path=/run/retrolab/serial.sock,server=on,wait=on',
      'file,id=con0,path=/run/retrolab/console.log',
    ]);
    expect(values(args, '-serial')).toEqual(['chardev:ser0', 'chardev:con0']);
  });

  it('the wine target has no QEMU command line', async () => {
    expect((await loadVmSpec('wine')).kind).toBe('wine-container');
  });
});

describe('qemuArguments run options', () => {
  it('uses KVM only when asked, and starts warm from a state file through exec:cat', async () => {
    const args = qemuArguments(await qemuSpec('wine-vm'), { ...run, accel: 'kvm', incomingStateFile: '/cache/wine vm/state.bin' });
    expect(value(args, '-accel')).toBe('kvm');
    expect(value(args, '-incoming')).toBe(`exec:cat '/cache/wine vm/state.bin'`);
  });

  it('adds only the forwards a scenario asks for, on a restricted slirp network', async () => {
    const args = qemuArguments(await qemuSpec('win98'), {
      ...run,
      forwards: {
        host: [
          { hostPort: 15000, guestPort: 5000 },
          { protocol: 'udp', hostAddress: '0.0.0.0', hostPort: 1600, guestPort: 1600 },
        ],
        guest: [{ guestAddress: '10.0.2.100', guestPort: 7, to: 'cmd:socat - UNIX-CONNECT:/run/retrolab/echo.sock,nonblock' }],
      },
    });
    expect(value(args, '-netdev')).toBe(
      'user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:15000-:5000,hostfwd=udp:0.0.0.0:1600-:1600,' +
        'guestfwd=tcp:10.0.2.100:7-cmd:socat - UNIX-CONNECT:/run/retrolab/echo.sock,,nonblock',
    );
  });

  it('refuses a port out of range', async () => {
    const spec = await qemuSpec('win98');
    expect(() => qemuArguments(spec, { ...run, forwards: { host: [{ hostPort: 70000, guestPort: 80 }] } })).toThrow(ConfigError);
    expect(() => qemuArguments(spec, { ...run, forwards: { host: [{ hostPort: 70000, guestPort: 80 }] } })).toThrow(
      'forward hostPort: 70000 is not a TCP/UDP port (1-65535)',
    );
  });

  it('leaves the disk out when the run has none, and adds extra devices', async () => {
    const args = qemuArguments(await qemuSpec('wine-vm'), {
      accel: 'tcg',
      runDir: '/run/retrolab',
      kernel: { image: '/probe.bin' },
      devices: ['isa-debug-exit,iobase=0xf4,iosize=0x04'],
    });
    expect(value(args, '-drive')).toBeUndefined();
    expect(value(args, '-initrd')).toBeUndefined();
    expect(values(args, '-device')).toEqual(['e1000,netdev=n0', 'isa-debug-exit,iobase=0xf4,iosize=0x04']);
  });

  it('lets a guest reboot only when asked', async () => {
    expect(qemuArguments(await qemuSpec('win98'), { ...run, reboot: 'allow' })).not.toContain('-no-reboot');
  });

  it('escapes commas in a disk path', async () => {
    const args = qemuArguments(await qemuSpec('win95'), { ...run, disk: { path: '/run/a,b.qcow2' } });
    expect(value(args, '-drive')).toBe('file=/run/a,,b.qcow2,if=ide,format=qcow2,media=disk');
  });
});

describe('qemuArguments install media', () => {
  it('puts a floppy in drive A:, write-protected unless asked, and a CD on the secondary IDE master, read-only', async () => {
    const args = qemuArguments(await qemuSpec('win98'), {
      ...run,
      floppy: { path: '/run/retrolab/answer-floppy.img' },
      cdrom: { path: '/home/me/win98,se.iso' },
    });
    expect(values(args, '-drive')).toEqual([
      'file=/run/retrolab/disk.qcow2,if=ide,format=qcow2,media=disk',
      'file=/run/retrolab/answer-floppy.img,if=floppy,index=0,format=raw,readonly=on',
      'file=/home/me/win98,,se.iso,if=ide,index=2,media=cdrom,format=raw,readonly=on',
    ]);
    const writable = qemuArguments(await qemuSpec('win95'), { ...run, floppy: { path: '/run/retrolab/boot.img', readOnly: false } });
    expect(values(writable, '-drive')[1]).toBe('file=/run/retrolab/boot.img,if=floppy,index=0,format=raw');
  });

  it('sets the boot order with the letters of -boot order=', async () => {
    const spec = await qemuSpec('winnt4');
    expect(value(qemuArguments(spec, { ...run, bootOrder: ['cdrom', 'disk'] }), '-boot')).toBe('order=dc');
    expect(value(qemuArguments(spec, { ...run, bootOrder: ['floppy', 'disk'] }), '-boot')).toBe('order=ac');
    expect(value(qemuArguments(spec, { ...run, bootOrder: ['disk'] }), '-boot')).toBe('order=c');
    expect(value(qemuArguments(spec, run), '-boot')).toBeUndefined();
  });

  it('refuses an empty boot order or a device named twice', async () => {
    const spec = await qemuSpec('win98');
    expect(() => qemuArguments(spec, { ...run, bootOrder: [] })).toThrow(ConfigError);
    expect(() => qemuArguments(spec, { ...run, bootOrder: ['disk', 'disk'] })).toThrow(
      'boot order ["disk","disk"]: name each of floppy, disk, cdrom at most once, and at least one',
    );
  });

  it('keeps -no-reboot for install stages, so a guest reset ends QEMU', async () => {
    const args = qemuArguments(await qemuSpec('win95'), { ...run, cdrom: { path: '/iso' }, bootOrder: ['cdrom', 'disk'] });
    expect(args).toContain('-no-reboot');
  });
});
