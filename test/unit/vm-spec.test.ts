import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadVmSpec, parseVmSpec, resolveFileSource } from '../../src/config/load-vm-spec.ts';
import { listLicensedTargets, listTargets } from '../../src/config/target-list.ts';
import { ConfigError } from '../../src/errors.ts';
import { PROJECT_ROOT } from '../../src/util/paths.ts';

const TARGETS = await listTargets();

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'retrolab-vm-spec-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function writeSpec(target: string, spec: unknown): Promise<void> {
  await mkdir(join(root, 'vms', target), { recursive: true });
  await writeFile(join(root, 'vms', target, 'spec.json'), typeof spec === 'string' ? spec : JSON.stringify(spec));
}

describe('the specs in vms/', () => {
  it('are the folders of vms/: the open targets, the licensed ones, and winme and win2000 among them', async () => {
    expect(TARGETS).toEqual(expect.arrayContaining(['wine', 'wine-vm', 'win95', 'win98', 'winme', 'winnt4', 'win2000']));
    // The licensed ones are the specs that say so (a new folder joins without an edit here).
    const licensed = await listLicensedTargets();
    expect(licensed).toEqual(expect.arrayContaining(['win2000', 'win95', 'win98', 'winme', 'winnt4']));
    expect(licensed).not.toContain('wine');
    expect(licensed).not.toContain('wine-vm');
  });

  it.each(TARGETS)('%s loads and names its own target', async (target) => {
    const spec = await loadVmSpec(target);
    expect(spec.target).toBe(target);
    expect(spec.notes.length).toBeGreaterThan(0);
  });

  it('keeps Win9x off KVM and single-CPU, and the wine target out of QEMU', async () => {
    for (const target of ['win95', 'win98', 'winme'] as const) {
      const spec = await loadVmSpec(target);
      expect(spec.kind).toBe('qemu');
      if (spec.kind !== 'qemu') continue;
      expect(spec.kvmAllowed).toBe(false);
      expect(spec.smp).toBe(1);
      expect(spec.licensed).toBe(true);
    }
    expect((await loadVmSpec('wine')).kind).toBe('wine-container');
  });

  it('points licensed targets at environment variables and wine-vm at its build output', async () => {
    const win98 = await loadVmSpec('win98');
    const wineVm = await loadVmSpec('wine-vm');
    if (win98.kind !== 'qemu' || wineVm.kind !== 'qemu') throw new Error('QEMU targets expected');
    expect(win98.disk.image).toEqual({ env: 'RETROLAB_IMAGE_WIN98' });
    expect(wineVm.disk.image).toEqual({ build: 'wine-vm' });
    expect(wineVm.kernel?.image).toEqual({ build: 'wine-vm' });
  });
});

describe('the target list', () => {
  it('takes every folder of vms/ with a spec.json, and only those', async () => {
    const here = await mkdtemp(join(tmpdir(), 'retrolab-targets-'));
    try {
      for (const name of ['winxp', 'notes']) await mkdir(join(here, 'vms', name), { recursive: true });
      await writeFile(join(here, 'vms', 'winxp', 'spec.json'), '{}');
      await writeFile(join(here, 'vms', 'README.md'), 'not a target');
      expect(await listTargets({ root: here })).toEqual(['winxp']);
      await mkdir(join(here, 'vms', 'Win XP'));
      await writeFile(join(here, 'vms', 'Win XP', 'spec.json'), '{}');
      await expect(listTargets({ root: here })).rejects.toThrow(/vms\/Win XP: a target folder name must be lower-case/);
    } finally {
      await rm(here, { recursive: true, force: true });
    }
  });
});

describe('loadVmSpec errors', () => {
  it('holds every 9x OS to one CPU, Me too (the rule once named 95 and 98 only)', async () => {
    const spec = { ...(JSON.parse(await readFile(join(PROJECT_ROOT, 'vms', 'winme', 'spec.json'), 'utf8')) as object), smp: 2 };
    expect(() => parseVmSpec(spec, 'vms/winme/spec.json')).toThrow(
      'vms/winme/spec.json: smp: winme (Windows 9x) uses one CPU only; set smp to 1',
    );
    expect(() => parseVmSpec({ ...spec, os: 'win2000' }, 'vms/winme/spec.json')).not.toThrow();
    expect(() => parseVmSpec({ ...spec, os: 'winxp' }, 'vms/winme/spec.json')).toThrow(/os: /);
  });

  it('reports every problem at once as file: path: message', async () => {
    await writeSpec('win98', {
      kind: 'qemu',
      target: 'win98',
      os: 'win98',
      licensed: true,
      winsock2: 'sometimes',
      machine: { type: 'pc', acpi: false, hpet: false },
      cpu: { model: 'pentium9', flags: ['smap'] },
      smp: 1,
      memoryMb: 128,
      nic: { model: 'ne2k_pcmcia' },
      disk: { bus: 'scsi', image: { env: 'lowercase' } },
      vga: 'std',
      accel: 'tcg',
      kvmAllowed: false,
      timeouts: { bootToReadyMs: 240000, serialSilenceMs: 60000 },
      notes: ['test'],
    });
    const error = await loadVmSpec('win98', { root }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    const lines = (error as ConfigError).message.split('\n');
    for (const line of lines) expect(line.startsWith('vms/win98/spec.json: ')).toBe(true);
    const problems = lines.map((line) => line.slice(line.indexOf(': ') + 2));
    expect(problems.map((p) => p.slice(0, p.indexOf(':')))).toEqual(
      expect.arrayContaining(['winsock2', 'cpu.model', 'cpu.flags.0', 'nic.model', 'disk.bus', 'disk.image.env']),
    );
    expect(lines.find((line) => line.includes('nic.model:'))).toMatch(/nic\.model: Invalid (input|discriminator|option)/i);
    expect(lines.find((line) => line.includes('cpu.flags.0:'))).toContain('must be +feature, -feature or name=value');
    expect(lines).toContain('vms/win98/spec.json: winsock2: must be true, false or "optional"');
  });

  it('rejects contradictions between fields', async () => {
    await writeSpec('win95', {
      kind: 'qemu',
      target: 'win95',
      os: 'win95',
      licensed: true,
      winsock2: 'optional',
      machine: { type: 'q35', acpi: false, hpet: false },
      cpu: { model: 'pentium', flags: [] },
      smp: 2,
      memoryMb: 64,
      nic: { model: 'ne2k_isa', iobase: '0x300', irq: 10 },
      disk: { bus: 'ide', image: { env: 'RETROLAB_IMAGE_WIN95' } },
      vga: 'std',
      accel: 'kvm',
      kvmAllowed: false,
      timeouts: { bootToReadyMs: 240000, serialSilenceMs: 60000 },
      notes: ['test'],
    });
    const error = (await loadVmSpec('win95', { root }).catch((e: unknown) => e)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('accel: "kvm" contradicts kvmAllowed: false');
    expect(error.message).toContain('nic.model: an ISA NIC needs an ISA bus');
    expect(error.message).toContain('smp: win95 (Windows 9x) uses one CPU only; set smp to 1');
  });

  it('names a file that is not JSON, a missing file, and a target in the wrong folder', async () => {
    await writeSpec('winnt4', '{ "kind": ');
    await expect(loadVmSpec('winnt4', { root })).rejects.toThrow(/vms\/winnt4\/spec\.json: not valid JSON/);
    await expect(loadVmSpec('wine', { root })).rejects.toThrow(/vms\/wine\/spec\.json: cannot read the VM spec of target wine/);
    await writeSpec('wine-vm', {
      kind: 'wine-container',
      target: 'wine',
      os: 'wine',
      licensed: false,
      winsock2: true,
      timeouts: { bootToReadyMs: 60000, serialSilenceMs: 30000 },
      notes: ['test'],
    });
    await expect(loadVmSpec('wine-vm', { root })).rejects.toThrow('target: "wine" does not match its folder vms/wine-vm');
  });

  it('rejects unknown fields instead of ignoring a typo', () => {
    expect(() =>
      parseVmSpec(
        {
          kind: 'wine-container',
          target: 'wine',
          os: 'wine',
          licensed: false,
          winsock2: true,
          timeouts: { bootToReadyMs: 60000, serialSilenceMs: 30000 },
          notes: ['x'],
          memoryMB: 64,
        },
        'spec.json',
      ),
    ).toThrow(/spec\.json: Unrecognized key: "memoryMB"/);
  });
});

describe('resolveFileSource', () => {
  it('resolves a path against the root and an env var against the environment', () => {
    expect(resolveFileSource({ path: 'build/x.img' }, { root: '/r' })).toEqual({ ok: true, path: '/r/build/x.img' });
    expect(resolveFileSource({ env: 'RETROLAB_IMAGE_WIN98' }, { env: { RETROLAB_IMAGE_WIN98: '/images/98.qcow2' } })).toEqual({
      ok: true,
      path: '/images/98.qcow2',
    });
  });

  it('sends a built guest to its builder', () => {
    expect(resolveFileSource({ build: 'wine-vm' })).toEqual({
      ok: false,
      reason: 'the wine-vm guest is built by retrolab, not configured',
      fix: 'use ensureWineVmGuest() from src/images/wine-vm-disk.ts',
    });
  });

  it('says which variable is missing and how to set it', () => {
    expect(resolveFileSource({ env: 'RETROLAB_IMAGE_WIN95' }, { env: {} })).toEqual({
      ok: false,
      reason: 'RETROLAB_IMAGE_WIN95 is not set',
      fix: 'export RETROLAB_IMAGE_WIN95=/path/to/your/disk-image',
    });
  });
});
