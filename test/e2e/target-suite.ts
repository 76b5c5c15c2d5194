import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadExpectations } from '../../src/config/expectations.ts';
import { loadVmSpec } from '../../src/config/load-vm-spec.ts';
import { licensedReadiness } from '../../src/licensed/readiness.ts';
import type { TargetName } from '../../src/config/vm-spec.ts';
import { connectDocker, type DockerClient } from '../../src/docker/docker-client.ts';
import { SCENARIO_NAMES, SCENARIOS } from '../../src/model/scenario-catalog.ts';
import { runScenario } from '../../src/scenarios/scenario-runner.ts';
import { unsupportedScenario } from '../../src/targets/guest-check.ts';
import { startTarget, type StartedTarget } from '../../src/targets/start-target.ts';
import { decideVerdict } from '../../src/verdict/verdict.ts';

/**
 * One e2e test per scenario on `target`: start the target once, run each
 * scenario for real, and require the verdict the KB predicts (vms/<target>/expectations.json).
 * A licensed target without an image is skipped with how to configure one.
 */
export function defineTargetSuite(target: TargetName, options: { maxCycles?: number } = {}): void {
  describe(`${target}: KB Q198663 scenarios`, async () => {
    const licensed = (await loadVmSpec(target)).licensed;
    const readiness = licensed ? await licensedReadiness(target) : undefined;
    const skipReason =
      readiness && readiness.state !== 'ready'
        ? `${target} is a licensed target, ${readiness.state}: ${readiness.reason}. To run it: ${readiness.fix} (README: Licensed targets)`
        : undefined;

    let docker: DockerClient | undefined;
    let handle: StartedTarget | undefined;

    beforeAll(async () => {
      if (skipReason) return;
      docker = await connectDocker();
      handle = await startTarget(target, { docker });
    });

    afterAll(async () => {
      await handle?.[Symbol.asyncDispose]();
      await docker?.[Symbol.asyncDispose]();
    });

    it('first-boot check: the guest runs the system of its target', async (ctx) => {
      if (skipReason) {
        ctx.skip(skipReason);
        return;
      }
      const spec = await loadVmSpec(target);
      expect(handle!.facts.os, handle!.facts.description).toBe(spec.os);
      expect(handle!.facts.programs).toContain('duphandle');
      if (spec.winsock2 === true) expect(handle!.facts.programs).toContain('dupclose');
    });

    for (const scenario of SCENARIO_NAMES) {
      it(scenario, async (ctx) => {
        if (skipReason) {
          ctx.skip(skipReason);
          return;
        }
        // A Windows 95 without the Winsock 2 update cannot run WSADuplicateSocket: the first-boot check says so.
        const unsupported = unsupportedScenario(handle!.facts, SCENARIOS[scenario]);
        if (unsupported) {
          ctx.skip(`${unsupported.reason}. To run it: ${unsupported.fix}`);
          return;
        }
        const expectations = await loadExpectations(target);
        const observation = await runScenario(handle!, SCENARIOS[scenario], options);
        const verdict = decideVerdict(observation, expectations.scenarios[scenario]);
        expect(verdict.status, `${verdict.reason}\n${verdict.evidence?.netstatExcerpt ?? ''}`).toBe('pass');
        // The positive controls must see the held connections on every target.
        if (scenario === 'leak-control' || scenario === 'leak-control-ws1') expect(verdict.observed).toBe('leak');
        if (scenario === 'dup-close') {
          // The same observation judged against the opposite prediction must fail, with the evidence.
          const expected = expectations.scenarios[scenario].expect;
          const wrong = decideVerdict(observation, { ...expectations.scenarios[scenario], expect: expected === 'leak' ? 'clean' : 'leak' });
          expect(wrong.status).toBe('fail');
          expect(wrong.evidence?.netstatExcerpt.length).toBeGreaterThan(0);
        }
      });
    }
  });
}
