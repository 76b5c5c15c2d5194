import { describe, expect, it } from 'vitest';
import { runMatrix } from '../../src/scenarios/matrix-run.ts';
import type { DockerClient } from '../../src/docker/docker-client.ts';
import { SCENARIO_NAMES, SCENARIOS, TABLE_FREE_CYCLES, tableFillCycles } from '../../src/model/scenario-catalog.ts';
import { FAMILY_PROFILES } from '../../src/os/os-family.ts';
import { fakePreparedTarget } from '../support/fake-guest.ts';

// How many cycles a scenario plans on a guest: the table-filling ones outrun the table the guest has.

const win9x = { hasMstcpTable: FAMILY_PROFILES.win9x.mstcpMaxConnections };
const wine = { hasMstcpTable: FAMILY_PROFILES.wine.mstcpMaxConnections };
const nt = { hasMstcpTable: FAMILY_PROFILES.nt.mstcpMaxConnections };

describe('tableFillCycles', () => {
  it('on Win9x with the default table (100 slots): 120 cycles, 15 apps × 8 — the counts the lab always ran there', () => {
    expect(tableFillCycles(SCENARIOS['dup-close'], win9x)).toBe(120);
    expect(tableFillCycles(SCENARIOS['duphandle-ws1'], win9x)).toBe(120);
    expect(tableFillCycles(SCENARIOS['workaround-late-close'], win9x)).toBe(120);
    expect(tableFillCycles(SCENARIOS['dup-close-many-apps'], win9x)).toBe(8);
  });

  it('on Win9x with MaxConnections raised to 200, past 200: a fixed 120 would end with the table half empty and no WSAENOBUFS', () => {
    expect(tableFillCycles(SCENARIOS['dup-close'], { ...win9x, maxConnections: 200 })).toBe(240);
    expect(15 * tableFillCycles(SCENARIOS['dup-close-many-apps'], { ...win9x, maxConnections: 200 })).toBeGreaterThan(200);
  });

  it(`on NT and Wine (no MSTCP table): ${TABLE_FREE_CYCLES} in all, the many-apps scenario keeping its 15 apps`, () => {
    for (const guest of [nt, wine]) {
      expect(tableFillCycles(SCENARIOS['dup-close'], guest)).toBe(TABLE_FREE_CYCLES);
      expect(tableFillCycles(SCENARIOS['workaround-dummy-socket'], guest)).toBe(TABLE_FREE_CYCLES);
      expect(15 * tableFillCycles(SCENARIOS['dup-close-many-apps'], guest)).toBe(TABLE_FREE_CYCLES);
    }
  });

  it('the scenarios that do not fill the table keep their own count everywhere', () => {
    const others = SCENARIO_NAMES.filter((name) => !SCENARIOS[name].fillsTable);
    expect(others).toEqual(['close-order', 'leak-control', 'leak-control-ws1', 'leak-after-exit']);
    for (const name of others)
      for (const guest of [win9x, nt, wine]) expect(tableFillCycles(SCENARIOS[name], guest)).toBe(SCENARIOS[name].cycles);
  });

  it('every table-free count is a whole number of cycles per app, at least 1', () => {
    for (const name of SCENARIO_NAMES) {
      const n = tableFillCycles(SCENARIOS[name], wine);
      expect(Number.isInteger(n) && n >= 1, `${name}: ${n}`).toBe(true);
    }
  });
});

describe('the runner plans by the guest it has', () => {
  it('a Wine guest runs dup-close 30 cycles, leak-control its 40, and --cycles still overrides both', async () => {
    const run = (cycles?: number) =>
      runMatrix({
        hosts: [{ name: 'local', docker: { endpoint: 'fake://', ping: () => Promise.resolve() } as unknown as DockerClient, slots: 1 }],
        targets: ['wine'],
        scenarios: ['dup-close', 'leak-control'],
        ...(cycles === undefined ? {} : { cycles }),
        prepare: () => Promise.resolve(fakePreparedTarget({ log: [] })),
        run: { settleMs: 0, pollMs: 1, releaseAckMs: 1000, programTimeoutMs: 30_000 },
      });
    const own = await run();
    expect(own.entries.map((e) => [e.scenario, e.verdict, e.counts?.cyclesPlanned])).toEqual([
      ['dup-close', 'pass', 30],
      ['leak-control', 'pass', 40],
    ]);
    const given = await run(7);
    expect(given.entries.map((e) => e.counts?.cyclesPlanned)).toEqual([7, 7]);
  });
});
