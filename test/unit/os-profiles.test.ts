import { describe, expect, it } from 'vitest';
import { loadTargetSpecs } from '../../src/config/target-list.ts';
import { GUEST_APPS } from '../../src/guest-apps/guest-app-table.ts';
import { licensedOsOf } from '../../src/licensed/licensed-os.ts';
import { FAMILY_PROFILES } from '../../src/os/os-family.ts';
import {
  OS_NAMES,
  OS_PROFILES,
  familyOf,
  familyOfReported,
  identifyOsProfile,
  importVariants,
  type OsProfile,
} from '../../src/os/os-profiles.ts';
import { GUEST_OSES } from '../../src/pe/os-allowlists.ts';

const specs = await loadTargetSpecs();

describe('OS profiles', () => {
  it('cover every target of vms/: its OS has a profile, and a licensed one an install route', () => {
    for (const spec of specs) {
      expect(OS_NAMES, spec.target).toContain(spec.os);
      if (spec.licensed) expect(() => licensedOsOf(spec), spec.target).not.toThrow();
    }
    expect(specs.find((s) => s.target === 'winme')?.os).toBe('winme');
    expect(specs.find((s) => s.target === 'win2000')?.os).toBe('win2000');
  });

  it('tell every OS apart by its first-boot facts, and find each from them', () => {
    const profiles: OsProfile[] = Object.values(OS_PROFILES);
    const keys = profiles.map((p) => JSON.stringify(p.firstBoot));
    expect(new Set(keys).size).toBe(keys.length);
    for (const profile of profiles) {
      const reported = profile.firstBoot.kind === 'wine' ? { platformId: 2, major: 6, minor: 1, wineVersion: '8.0' } : profile.firstBoot;
      expect(identifyOsProfile(reported)?.name).toBe(profile.name);
    }
    expect(identifyOsProfile({ platformId: 2, major: 5, minor: 1 })).toBeUndefined();
  });

  it("start a background program the way each family's shell does", () => {
    expect(familyOf('winme').backgroundStart('C:\\RETROLAB\\dupclose.exe --cycles 3')).toBe(
      'start /m C:\\RETROLAB\\dupclose.exe --cycles 3',
    );
    expect(familyOf('win95').shell).toBe('command.com');
    for (const os of ['winnt4', 'win2000', 'wine'] as const) {
      expect(familyOf(os).backgroundStart('x.exe')).toBe('start "retrolab" /b x.exe');
      expect(familyOf(os).shell).toBe('cmd.exe');
    }
  });

  it('capture the socket table through the agent on 9x and through a guest file elsewhere', () => {
    expect(FAMILY_PROFILES.win9x.snapshot).toEqual({ netstatCommand: 'netstat -an', capture: 'agent' });
    expect(FAMILY_PROFILES.nt.snapshot.capture).toBe('file');
    expect(FAMILY_PROFILES.wine.snapshot.capture).toBe('file');
  });

  it('give a running guest its family from what it reports, an OS no profile names included', () => {
    expect(familyOfReported({ platformId: 1, major: 4, minor: 90 }).name).toBe('win9x');
    expect(familyOfReported({ platformId: 2, major: 5, minor: 1 }).name).toBe('nt');
    expect(familyOfReported({ platformId: 2, major: 6, minor: 1, wineVersion: '8.0' }).name).toBe('wine');
  });

  it('say where the agent autostart and the MaxConnections type come from', () => {
    expect(familyOf('winme').autostart).toBe('runservices-autoexec');
    expect(OS_PROFILES.winme.realModeAutoexec).toBe(false);
    expect(OS_PROFILES.win98.realModeAutoexec).toBe(true);
    expect(familyOf('win2000').autostart).toBe('winlogon-hive');
    expect(OS_PROFILES.win95.maxConnectionsType).toBe('dword-without-winsock2');
    expect(OS_PROFILES.winme.maxConnectionsType).toBe('sz');
    expect(familyOf('win2000').mstcpMaxConnections).toBe(false);
  });

  it('hold the import allowlists: one id per variant, and the Winsock 2 program promised wherever ws2_32 is', () => {
    const ids = importVariants().map((v) => v.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(GUEST_OSES).toEqual(ids);
    expect(GUEST_OSES).toEqual(expect.arrayContaining(['win95', 'win95-ws2', 'win98', 'winme', 'winnt4', 'win2000', 'wine']));
    expect(GUEST_APPS.dupclose.supportedOs).toEqual(expect.arrayContaining(['win2000', 'win95-ws2', 'win98', 'wine', 'winme', 'winnt4']));
    expect(GUEST_APPS.dupclose.supportedOs).not.toContain('win95');
    expect(GUEST_APPS.duphandle.supportedOs).toEqual(GUEST_OSES);
  });
});
