import { z } from 'zod';
import { OS_NAMES, familyOf } from '../os/os-profiles.ts';

/**
 * One schema for every target's `vms/<target>/spec.json`: QEMU guests and the
 * Wine container alike, so the target layer reads one shape and scenario code
 * never asks which kind it got. Only `src/qemu/` turns a spec into a QEMU
 * command line; the values here are facts about the guest, not QEMU syntax.
 */

/**
 * A target is a folder under vms/ (its name is the folder's); the list of
 * targets is read from there (src/config/target-list.ts), never written out
 * in code.
 */
export const targetName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'must be a target folder name under vms/ (lower-case letters, digits and dashes, e.g. "win98")');
export type TargetName = z.infer<typeof targetName>;

/** The OS inside: the key of its profile in src/os/os-profiles.ts (family, first-boot facts, install, imports). */
export const osName = z.enum(OS_NAMES);

/**
 * Where a disk image (or kernel) comes from: a user's environment variable, a
 * path (relative to the repository root), or retrolab's own build of an open
 * guest (content-hashed under .cache/, so it has no fixed path).
 */
export const fileSource = z.union([
  z.strictObject({
    env: z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'must be an environment variable name such as RETROLAB_IMAGE_WIN98'),
  }),
  z.strictObject({ path: z.string().min(1) }),
  z.strictObject({ build: z.literal('wine-vm') }),
]);
export type FileSource = z.infer<typeof fileSource>;

const timeouts = z.strictObject({
  /** From start (cold or warm) until the agent answers. */
  bootToReadyMs: z.number().int().min(1_000).max(3_600_000),
  /** Longest the serial line may stay quiet while a command is outstanding before the guest counts as hung. */
  serialSilenceMs: z.number().int().min(1_000).max(3_600_000),
});

/** QEMU's names for the i386 CPU models the targets use. */
export const cpuModel = z.enum(['pentium', 'pentium2', 'pentium3', 'qemu32', 'n270', 'coreduo', 'max']);

/** `-smap`, `+sse2`, `level=1`: QEMU's per-feature CPU property syntax. */
const cpuFlag = z
  .string()
  .regex(/^([+-][a-z0-9_.-]+|[a-z0-9_.-]+=[a-z0-9_.-]+)$/, 'must be +feature, -feature or name=value (e.g. -smap, level=1)');

/** An ISA I/O port written as in device manuals: 0x300. */
const ioPort = z.string().regex(/^0x[0-9a-f]{1,4}$/, 'must be a hex I/O port such as 0x300');

/** NICs the guests have drivers for; the ISA NE2000 needs the I/O port and IRQ its guest driver is set to. */
export const nic = z.discriminatedUnion('model', [
  z.strictObject({ model: z.literal('ne2k_isa'), iobase: ioPort, irq: z.number().int().min(2).max(15) }),
  z.strictObject({ model: z.literal('ne2k_pci') }),
  z.strictObject({ model: z.literal('pcnet') }),
  z.strictObject({ model: z.literal('e1000') }),
  z.strictObject({ model: z.literal('rtl8139') }),
]);
export type NicSpec = z.infer<typeof nic>;

export const diskFormat = z.enum(['raw', 'qcow2', 'vmdk', 'vdi', 'vpc']);
export type DiskFormat = z.infer<typeof diskFormat>;

const commonFields = {
  target: targetName,
  os: osName,
  /** Needs a user's licensed image; unconfigured means skipped with a reason, never passed. */
  licensed: z.boolean(),
  /** ws2_32.dll present: yes, no, or only with an update (Win95 + "Windows Sockets 2 for Windows 95"). */
  winsock2: z.union([z.boolean(), z.literal('optional')], { error: 'must be true, false or "optional"' }),
  timeouts,
  /** Where the values come from (KB articles, public projects, measurements here). */
  notes: z.array(z.string().min(1)).min(1),
};

export const qemuVmSpec = z
  .strictObject({
    kind: z.literal('qemu'),
    ...commonFields,
    machine: z.strictObject({
      type: z.enum(['pc', 'q35', 'isapc']),
      acpi: z.boolean(),
      hpet: z.boolean(),
    }),
    cpu: z.strictObject({ model: cpuModel, flags: z.array(cpuFlag) }),
    smp: z.number().int().min(1).max(16),
    memoryMb: z.number().int().min(16).max(8192),
    nic,
    disk: z.strictObject({
      bus: z.enum(['ide', 'virtio']),
      image: fileSource,
      /** Omitted: detected with `qemu-img info` (users bring raw, qcow2, vmdk, vdi or vpc). */
      format: diskFormat.optional(),
    }),
    /** Linux guests boot their kernel and initramfs directly, with no boot loader on the disk. */
    kernel: z.strictObject({ image: fileSource, initrd: fileSource, append: z.string() }).optional(),
    vga: z.enum(['std', 'cirrus', 'none']),
    /** The guest writes its own console (kernel, init) to a second serial port, kept as a log; COM1 stays the agent's. */
    consoleLog: z.boolean().default(false),
    accel: z.enum(['auto', 'tcg', 'kvm']),
    /** false where the guest is known to misbehave under KVM (Win9x); `auto` then always means TCG. */
    kvmAllowed: z.boolean(),
  })
  .superRefine((spec, ctx) => {
    if (spec.accel === 'kvm' && !spec.kvmAllowed) {
      ctx.addIssue({ code: 'custom', path: ['accel'], message: `"kvm" contradicts kvmAllowed: false; use "auto" or "tcg"` });
    }
    if (spec.nic.model === 'ne2k_isa' && spec.machine.type === 'q35') {
      ctx.addIssue({ code: 'custom', path: ['nic', 'model'], message: 'an ISA NIC needs an ISA bus: use machine.type "pc" or "isapc"' });
    }
    if (spec.smp > 1 && familyOf(spec.os).name === 'win9x') {
      ctx.addIssue({ code: 'custom', path: ['smp'], message: `${spec.os} (Windows 9x) uses one CPU only; set smp to 1` });
    }
  });
export type QemuVmSpec = z.infer<typeof qemuVmSpec>;

export const wineContainerSpec = z.strictObject({
  kind: z.literal('wine-container'),
  ...commonFields,
});
export type WineContainerSpec = z.infer<typeof wineContainerSpec>;

export const vmSpec = z.discriminatedUnion('kind', [qemuVmSpec, wineContainerSpec]);
export type VmSpec = z.infer<typeof vmSpec>;
