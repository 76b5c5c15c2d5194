import { posix } from 'node:path';
import type { NicSpec, QemuVmSpec } from '../config/vm-spec.ts';
import { ConfigError } from '../errors.ts';

/** The wrapper script on Debian; it execs /usr/libexec/qemu-system-i386. */
export const QEMU_BINARY = 'qemu-system-i386';

/** File names inside a run directory; the host sees the same files through the bind mount. */
export const RUN_FILES = {
  serial: 'serial.sock',
  qmp: 'qmp.sock',
  pid: 'qemu.pid',
  console: 'console.log',
} as const;

/**
 * TCG's translation cache, in MiB. QEMU's default is 1 GiB, filled as the guest
 * runs new code: a guest running many programs (Wine starting fifteen
 * processes) grew QEMU past its container's memory limit and the kernel's OOM
 * killer ended it. A bounded cache only means more flushes.
 */
export const TCG_TB_SIZE_MB = 128;

/** Memory QEMU needs besides guest RAM: the translation cache and its own heap, devices and migration buffers. */
export const QEMU_OVERHEAD_MB = TCG_TB_SIZE_MB + 320;

/** `hostfwd`: a host (container-side) port reaching a guest port. */
export interface HostForward {
  protocol?: 'tcp' | 'udp';
  hostAddress?: string;
  hostPort: number;
  guestPort: number;
}

/** `guestfwd`: a guest connection to guestAddress:guestPort handed to a QEMU character device (`unix:/path`, `cmd:...`). */
export interface GuestForward {
  guestAddress: string;
  guestPort: number;
  to: string;
}

export interface QemuRunOptions {
  accel: 'tcg' | 'kvm';
  /** The run directory as QEMU sees it (inside the container). */
  runDir: string;
  /** The run's throwaway qcow2 overlay as QEMU sees it; omitted, the guest has no disk. */
  disk?: { path: string };
  /** Kernel and initramfs as QEMU sees them; the command line comes from the spec. */
  kernel?: { image: string; initrd?: string };
  /** Only what a scenario asks for; the guest's slirp network is `restrict=on` either way. */
  forwards?: { host?: HostForward[]; guest?: GuestForward[] };
  /** A saved VM state to start from (warm start) as QEMU sees it. */
  incomingStateFile?: string;
  /** Extra `-device` values (e.g. the isa-debug-exit a probe guest leaves through). */
  devices?: string[];
  /**
   * `exit` (default): a guest reset ends QEMU, so a triple fault or a panic
   * reboot shows as a crash instead of a silent boot loop. `allow` for flows
   * that reboot on purpose (installs).
   */
  reboot?: 'exit' | 'allow';
  /** A raw floppy image in drive A:, as QEMU sees it; write-protected unless `readOnly` is false. */
  floppy?: { path: string; readOnly?: boolean };
  /** A CD image (ISO 9660, raw) on the secondary IDE master, where `-cdrom` puts it; always read-only. */
  cdrom?: { path: string };
  /** The firmware's boot order (`-boot order=`); omitted, QEMU's default for pc (cad: disk, floppy, CD). */
  bootOrder?: BootDevice[];
}

/** A device the firmware may boot from: `-boot order=` calls them a (floppy), c (first disk) and d (CD-ROM). */
export type BootDevice = 'floppy' | 'disk' | 'cdrom';

const BOOT_LETTER: Record<BootDevice, string> = { floppy: 'a', disk: 'c', cdrom: 'd' };

/** The argv (after the binary) for one run of a spec. */
export function qemuArguments(spec: QemuVmSpec, run: QemuRunOptions): string[] {
  const inRun = (name: string) => posix.join(run.runDir, name);
  const args = [
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-name',
    spec.target,
    '-M',
    machineOption(spec),
    '-cpu',
    [spec.cpu.model, ...spec.cpu.flags].join(','),
    '-smp',
    String(spec.smp),
    '-m',
    String(spec.memoryMb),
    '-accel',
    run.accel === 'tcg' ? `tcg,tb-size=${TCG_TB_SIZE_MB}` : run.accel,
    '-vga',
    spec.vga,
    '-pidfile',
    inRun(RUN_FILES.pid),
    '-qmp',
    `unix:${escapeOption(inRun(RUN_FILES.qmp))},server=on,wait=off`,
    // wait=on holds the guest until the host is connected, so no early byte is lost.
    '-chardev',
    `socket,id=ser0,path=${escapeOption(inRun(RUN_FILES.serial))},server=on,wait=on`,
    '-serial',
    'chardev:ser0',
  ];
  if (spec.consoleLog) args.push('-chardev', `file,id=con0,path=${escapeOption(inRun(RUN_FILES.console))}`, '-serial', 'chardev:con0');
  if ((run.reboot ?? 'exit') === 'exit') args.push('-no-reboot');
  if (run.disk) {
    args.push('-drive', `file=${escapeOption(run.disk.path)},if=${spec.disk.bus},format=qcow2,media=disk`);
  }
  if (run.floppy) {
    args.push(
      '-drive',
      `file=${escapeOption(run.floppy.path)},if=floppy,index=0,format=raw${(run.floppy.readOnly ?? true) ? ',readonly=on' : ''}`,
    );
  }
  if (run.cdrom) {
    args.push('-drive', `file=${escapeOption(run.cdrom.path)},if=ide,index=2,media=cdrom,format=raw,readonly=on`);
  }
  if (run.bootOrder) args.push('-boot', `order=${bootOrderLetters(run.bootOrder)}`);
  if (run.kernel) {
    args.push('-kernel', run.kernel.image);
    if (run.kernel.initrd) args.push('-initrd', run.kernel.initrd);
    if (spec.kernel && spec.kernel.append.length > 0) args.push('-append', spec.kernel.append);
  }
  args.push('-netdev', netdevOption(run.forwards), '-device', nicDevice(spec.nic));
  for (const device of run.devices ?? []) args.push('-device', device);
  if (run.incomingStateFile) args.push('-incoming', `exec:cat ${shellQuote(run.incomingStateFile)}`);
  return args;
}

function bootOrderLetters(order: BootDevice[]): string {
  if (order.length === 0 || new Set(order).size !== order.length) {
    throw new ConfigError(`boot order ${JSON.stringify(order)}: name each of floppy, disk, cdrom at most once, and at least one`, {
      context: { order },
    });
  }
  return order.map((device) => BOOT_LETTER[device]).join('');
}

function machineOption(spec: QemuVmSpec): string {
  const { type, acpi, hpet } = spec.machine;
  return `${type},acpi=${acpi ? 'on' : 'off'},hpet=${hpet ? 'on' : 'off'}`;
}

function nicDevice(nic: NicSpec): string {
  switch (nic.model) {
    case 'ne2k_isa':
      return `ne2k_isa,netdev=n0,iobase=${nic.iobase},irq=${nic.irq}`;
    case 'ne2k_pci':
    case 'pcnet':
    case 'e1000':
    case 'rtl8139':
      return `${nic.model},netdev=n0`;
  }
}

function netdevOption(forwards: QemuRunOptions['forwards']): string {
  const parts = ['user', 'id=n0', 'restrict=on'];
  for (const fwd of forwards?.host ?? []) {
    checkPort(fwd.hostPort, 'hostPort');
    checkPort(fwd.guestPort, 'guestPort');
    parts.push(`hostfwd=${fwd.protocol ?? 'tcp'}:${fwd.hostAddress ?? '127.0.0.1'}:${fwd.hostPort}-:${fwd.guestPort}`);
  }
  for (const fwd of forwards?.guest ?? []) {
    checkPort(fwd.guestPort, 'guestPort');
    parts.push(`guestfwd=tcp:${fwd.guestAddress}:${fwd.guestPort}-${escapeOption(fwd.to)}`);
  }
  return parts.join(',');
}

function checkPort(port: number, field: string): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ConfigError(`forward ${field}: ${port} is not a TCP/UDP port (1-65535)`, { context: { field, port } });
  }
}

/**
 * A one-off boot of a Linux disk image by kernel and initrd, with the kernel
 * console on the second serial port written to `consoleLog`: the wine-vm
 * guest's provisioning boot. Paths are as QEMU sees them (in the container).
 */
export function kernelBootArguments(boot: {
  cpu: string;
  memoryMb: number;
  kernel: string;
  initrd: string;
  append: string;
  rawDisk: string;
  consoleLog: string;
}): string[] {
  return [
    ...['-accel', `tcg,tb-size=${TCG_TB_SIZE_MB}`, '-M', 'pc', '-cpu', boot.cpu, '-m', String(boot.memoryMb), '-smp', '1'],
    ...['-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot'],
    ...['-kernel', boot.kernel, '-initrd', boot.initrd, '-append', boot.append],
    ...['-drive', `file=${escapeOption(boot.rawDisk)},if=virtio,format=raw,discard=unmap`],
    ...['-serial', 'null', '-chardev', `file,id=console,path=${escapeOption(boot.consoleLog)}`, '-serial', 'chardev:console'],
  ];
}

/** QEMU's option parser splits on commas; a doubled comma is a literal one, so a path with commas stays one value. */
export function escapeOption(value: string): string {
  return value.replaceAll(',', ',,');
}

/** `exec:` migration URIs go through /bin/sh. */
export function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}
