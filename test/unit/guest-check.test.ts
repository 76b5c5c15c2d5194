import { describe, expect, it } from 'vitest';
import type { GuestSysinfo } from '../../src/agent/agent-client.ts';
import { loadVmSpec } from '../../src/config/load-vm-spec.ts';
import { SCENARIOS } from '../../src/model/scenario-catalog.ts';
import { GuestMismatchError } from '../../src/targets/errors.ts';
import { checkGuest, identifyOs, unsupportedScenario } from '../../src/targets/guest-check.ts';

/** What the agent's SYSINFO reports on each system (version numbers from GetVersionEx as documented for each release). */
function sysinfo(fields: Partial<GuestSysinfo>): GuestSysinfo {
  return {
    platformId: 1,
    major: 4,
    minor: 0,
    build: 950,
    csd: '',
    wineVersion: undefined,
    ws2_32: true,
    iphlpapi: false,
    mstcpMaxConnections: undefined,
    raw: {},
    ...fields,
  };
}

const WIN95_RETAIL = sysinfo({ platformId: 1, major: 4, minor: 0, build: 950, ws2_32: false });
const WIN95_WS2 = sysinfo({ platformId: 1, major: 4, minor: 0, build: 1111, csd: ' B', ws2_32: true });
const WIN98_SE = sysinfo({ platformId: 1, major: 4, minor: 10, build: 2222, csd: ' A' });
const NT4_SP6 = sysinfo({ platformId: 2, major: 4, minor: 0, build: 1381, csd: 'Service Pack 6' });
const WINE = sysinfo({ platformId: 2, major: 6, minor: 1, build: 7601, wineVersion: '8.0', iphlpapi: true });

const W2K_SPEC = await loadVmSpec('win2000');

describe('first-boot check', () => {
  it('names each system from its version numbers, Wine first', () => {
    expect(identifyOs(WIN95_RETAIL)).toBe('win95');
    expect(identifyOs(WIN98_SE)).toBe('win98');
    expect(identifyOs(sysinfo({ minor: 90, build: 3000 }))).toBe('winme');
    expect(identifyOs(NT4_SP6)).toBe('winnt4');
    expect(identifyOs(sysinfo({ platformId: 2, major: 5, minor: 0, build: 2195 }))).toBe('win2000');
    expect(identifyOs(sysinfo({ platformId: 2, major: 5, minor: 1, build: 2600 }))).toBe('unknown');
    expect(identifyOs(WINE)).toBe('wine');
    expect(identifyOs(sysinfo({ platformId: 0, major: 3, minor: 11 }))).toBe('unknown');
  });

  it('lets a Windows 95 without Winsock 2 run only the Winsock 1.1 scenarios, its positive control included, and says how to get Winsock 2', async () => {
    const facts = checkGuest(await loadVmSpec('win95'), WIN95_RETAIL);
    expect(facts.programs).toEqual(['duphandle']);
    expect(facts.description).toBe('Windows 95 4.0.950, Winsock 1.1 only (no ws2_32.dll)');
    expect(unsupportedScenario(facts, SCENARIOS['duphandle-ws1'])).toBeUndefined();
    expect(unsupportedScenario(facts, SCENARIOS['leak-control-ws1'])).toBeUndefined();
    expect(unsupportedScenario(facts, SCENARIOS['leak-control'])).toBeDefined();
    const skipped = unsupportedScenario(facts, SCENARIOS['dup-close']);
    expect(skipped?.reason).toMatch(/dup-close runs dupclose, which needs WSADuplicateSocket from ws2_32\.dll/);
    expect(skipped?.fix).toMatch(/Windows Sockets 2 for Windows 95/);
  });

  it('runs every program where Winsock 2 is there', async () => {
    const ME = sysinfo({ platformId: 1, major: 4, minor: 90, build: 3000 });
    const W2K = sysinfo({ platformId: 2, major: 5, minor: 0, build: 2195, csd: 'Service Pack 4' });
    for (const [target, info] of [
      ['win95', WIN95_WS2],
      ['win98', WIN98_SE],
      ['winme', ME],
      ['winnt4', NT4_SP6],
      ['win2000', W2K],
      ['wine', WINE],
      ['wine-vm', WINE],
    ] as const) {
      const facts = checkGuest(await loadVmSpec(target), info);
      expect(facts.programs, target).toEqual(['dupclose', 'duphandle']);
      for (const definition of Object.values(SCENARIOS)) expect(unsupportedScenario(facts, definition)).toBeUndefined();
    }
    expect(checkGuest(await loadVmSpec('winnt4'), NT4_SP6).description).toBe('Windows NT 4.0 4.0.1381 Service Pack 6, Winsock 2');
    expect(checkGuest(await loadVmSpec('win2000'), W2K).description).toBe('Windows 2000 5.0.2195 Service Pack 4, Winsock 2');
    expect(checkGuest(await loadVmSpec('winme'), ME).description).toBe('Windows Me 4.90.3000, Winsock 2');
    // An NT 4 image configured for win2000 is refused, naming both.
    expect(() => checkGuest(W2K_SPEC, NT4_SP6)).toThrow(/^win2000 expects Windows 2000, but the guest runs Windows NT 4\.0 4\.0\.1381/);
    expect(checkGuest(await loadVmSpec('wine'), WINE).description).toBe('Wine 8.0 (reports Windows 6.1.7601), Winsock 2');
  });

  it('refuses an image of another system, naming both and the fix', async () => {
    const spec = await loadVmSpec('win98');
    let thrown: unknown;
    try {
      checkGuest(spec, WIN95_WS2);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(GuestMismatchError);
    const error = thrown as GuestMismatchError;
    expect(error.message).toMatch(/^win98 expects Windows 98, but the guest runs Windows 95 4\.0\.1111 B, Winsock 2/);
    expect(error.fix).toMatch(/configure an image of Windows 98 for win98/);
    expect(error.context).toMatchObject({ target: 'win98', expected: 'win98', seen: 'win95' });
    expect(() => checkGuest(spec, WINE)).toThrow(/but the guest runs Wine 8\.0/);
  });

  it('refuses a system that always ships ws2_32.dll when the guest cannot load it', async () => {
    const spec = await loadVmSpec('winnt4');
    expect(() => checkGuest(spec, { ...NT4_SP6, ws2_32: false })).toThrow(
      /Windows NT 4\.0 always ships ws2_32\.dll, but the guest could not load it/,
    );
  });
});
