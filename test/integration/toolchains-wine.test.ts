import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadExpectations } from '../../src/config/expectations.ts';
import { connectDocker, type DockerClient } from '../../src/docker/docker-client.ts';
import { startWineShell } from '../support/wine-shell.ts';
import type { StartedContainer } from '../../src/docker/started-container.ts';
import { buildGuestApps, type GuestBuildResult } from '../../src/guest-apps/build.ts';
import { TOOLCHAIN_ENV, TOOLCHAIN_KINDS, type ToolchainKind } from '../../src/guest-apps/toolchain.ts';
import { SCENARIOS } from '../../src/model/scenario-catalog.ts';
import { runScenario } from '../../src/scenarios/scenario-runner.ts';
import { startTarget } from '../../src/targets/start-target.ts';
import { decideVerdict } from '../../src/verdict/verdict.ts';

// The same guest programs built by Open Watcom and by mingw-w64 must behave
// the same under Wine: the same event lines (once the values that change from
// run to run are masked) and the same verdicts for dup-close and leak-control,
// with each toolchain's agent driving its own programs through the wine target.
// Open Watcom comes from ../shared/toolchains (or WATCOM / RETROLAB_OPENWATCOM_TARBALL):
// without one, this test fails saying so.

/** Fields whose values differ between any two runs (process ids, timings, ephemeral ports). */
const VOLATILE = new Set(['pid', 'ms', 'local_port', 'port']);

function maskedLines(stdout: string): string[] {
  return stdout
    .split(/\r?\n/)
    .filter((line) => line.startsWith('event='))
    .map((line) =>
      line
        .trim()
        .split(' ')
        .map((word) => {
          const [key = '', value = ''] = word.split('=', 2);
          if (VOLATILE.has(key)) return `${key}=*`;
          // tcptab: addresses keep their IP, lose the ephemeral port.
          if ((key === 'local' || key === 'remote') && /:\d+$/.test(value))
            return `${key}=${value.replace(/:\d+$/, value.endsWith(':0') ? ':0' : ':*')}`;
          return word;
        })
        .join(' '),
    );
}

let docker: DockerClient;
let wine: StartedContainer;
const built = {} as Record<ToolchainKind, GuestBuildResult[]>;

beforeAll(async () => {
  for (const toolchain of TOOLCHAIN_KINDS) built[toolchain] = await buildGuestApps({ toolchain });
  docker = await connectDocker();
  wine = await startWineShell(
    docker,
    TOOLCHAIN_KINDS.map((t) => ({ hostPath: dirname(built[t][0]!.path), containerPath: `/guest/${t}`, readOnly: true })),
  );
});

afterAll(async () => {
  await wine?.stop();
  await docker?.[Symbol.asyncDispose]();
});

async function runBoth(command: string): Promise<Record<ToolchainKind, { exitCode: number | null; lines: string[]; stdout: string }>> {
  const out = {} as Record<ToolchainKind, { exitCode: number | null; lines: string[]; stdout: string }>;
  for (const toolchain of TOOLCHAIN_KINDS) {
    const result = await wine.exec(['sh', '-c', command.replaceAll('BIN', `/guest/${toolchain}`)]);
    out[toolchain] = {
      exitCode: result.exitCode,
      lines: maskedLines(result.stdout),
      stdout: `${result.stdout}\n--- stderr\n${result.stderr.slice(-2000)}`,
    };
  }
  return out;
}

describe('one set of programs per toolchain', () => {
  it('builds every program with both, recording the toolchain', () => {
    for (const toolchain of TOOLCHAIN_KINDS) {
      expect(built[toolchain].map((b) => b.name).sort()).toEqual(['agent', 'dupclose', 'duphandle', 'providers', 'tcptab']);
      expect(built[toolchain].every((b) => b.toolchain === toolchain && b.path.includes(`/build/guest/${toolchain}/`))).toBe(true);
    }
    // Different compilers, different code: the comparison below compares two real builds.
    expect(built.watcom.find((b) => b.name === 'dupclose')!.sha256).not.toBe(built.mingw.find((b) => b.name === 'dupclose')!.sha256);
  });
});

describe('the same event lines under Wine', () => {
  it('dupclose: 3 plain KB cycles', async () => {
    const runs = await runBoth('wine BIN/dupclose.exe --cycles 3');
    expect(runs.watcom.exitCode, runs.watcom.stdout).toBe(0);
    expect(runs.mingw.exitCode, runs.mingw.stdout).toBe(0);
    expect(runs.watcom.lines.length).toBeGreaterThan(40);
    expect(runs.watcom.lines).toEqual(runs.mingw.lines);
    expect(runs.watcom.lines.at(-1)).toBe('event=summary role=parent app=0 ok=1 cycles=3 cycles_run=3 cycles_ok=3 final_ok=1 held=0 ms=*');
  });

  it('duphandle: 2 cycles, where Wine refuses the duplicated handle as a socket either way', async () => {
    const runs = await runBoth('wine BIN/duphandle.exe --cycles 2');
    expect(runs.watcom.exitCode, runs.watcom.stdout).toBe(1);
    expect(runs.mingw.exitCode, runs.mingw.stdout).toBe(1);
    expect(runs.watcom.lines).toEqual(runs.mingw.lines);
    expect(runs.watcom.lines.filter((l) => l.startsWith('event=child-send '))).toEqual([
      'event=child-send role=child app=0 cycle=1 ok=0 err=10038 bytes=0',
      'event=child-send role=child app=0 cycle=2 ok=0 err=10038 bytes=0',
    ]);
  });

  it('tcptab: the rows of a leak-control run that holds its sockets', async () => {
    // Each toolchain's dupclose holds 2 connections; that toolchain's tcptab lists them while it holds.
    const runs = await runBoth(
      '(wine BIN/dupclose.exe --leak-control --cycles 2 --hold-ms 8000 >/tmp/held.txt 2>&1 &) ; sleep 5; wine BIN/tcptab.exe | grep -v TIME_WAIT; sleep 4',
    );
    expect(runs.watcom.exitCode, runs.watcom.stdout).toBe(0);
    // The count includes the TIME_WAIT rows earlier tests left behind, which differ between the two runs.
    // Wine lists rows by port, and the ports (masked here) are the system's choice: compare them as a set.
    const rows = (lines: string[]) => lines.filter((l) => l.startsWith('event=row ')).sort();
    expect(rows(runs.watcom.lines)).toEqual(rows(runs.mingw.lines));
    for (const toolchain of TOOLCHAIN_KINDS) expect(runs[toolchain].lines.at(-1)).toMatch(/^event=count rows=\d+$/);
    expect(runs.watcom.lines.filter((l) => l.includes('state=ESTABLISHED'))).toHaveLength(4);
    expect(runs.watcom.lines.filter((l) => l.includes('state=LISTEN'))).toHaveLength(1);
  }, 120_000);
});

describe('the same verdicts on the wine target', () => {
  const verdicts = {} as Record<
    ToolchainKind,
    Record<'dup-close' | 'leak-control', { status: string; observed?: string; leaked?: number; cycles: string[] }>
  >;

  for (const toolchain of TOOLCHAIN_KINDS) {
    it(`runs dup-close and leak-control with the ${toolchain} agent and programs`, async () => {
      // startTarget builds and mounts the programs of the toolchain this names (the worker's own environment).
      process.env[TOOLCHAIN_ENV] = toolchain;
      try {
        await using handle = await startTarget('wine', { docker });
        const expectations = await loadExpectations('wine');
        verdicts[toolchain] = {} as (typeof verdicts)[ToolchainKind];
        for (const scenario of ['dup-close', 'leak-control'] as const) {
          const observation = await runScenario(handle, SCENARIOS[scenario], { maxCycles: 5 });
          const verdict = decideVerdict(observation, expectations.scenarios[scenario]);
          expect(verdict.status, `${toolchain} ${scenario}: ${verdict.reason}`).toBe('pass');
          verdicts[toolchain][scenario] = {
            status: verdict.status,
            observed: verdict.observed,
            ...(verdict.evidence ? { leaked: verdict.evidence.leaked } : {}),
            cycles: observation.cycles.map((c) => JSON.stringify({ ...c, ms: undefined, localPort: undefined })),
          };
        }
      } finally {
        delete process.env[TOOLCHAIN_ENV];
      }
    }, 600_000);
  }

  it('gives both toolchains the same verdicts, leaks and cycle outcomes', () => {
    expect(verdicts.watcom, 'the watcom run did not finish').toBeDefined();
    expect(verdicts.mingw, 'the mingw run did not finish').toBeDefined();
    expect(verdicts.watcom['leak-control'].observed).toBe('leak');
    expect(verdicts.watcom['dup-close'].observed).toBe('clean');
    expect(verdicts.watcom).toEqual(verdicts.mingw);
  });
});
