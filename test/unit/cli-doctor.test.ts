import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECK_STATUSES } from '../../src/doctor/check-status.ts';
import { retrolabProcess } from '../support/cli-process.ts';

/**
 * doctor as a process against an engine address where nothing listens, so
 * the outcome does not depend on this machine: the engine and the images
 * are missing (required), the licensed targets are not configured or not
 * prepared (optional), and doctor exits 1 with a summary saying why.
 */
let work: string;
const env = () => ({
  DOCKER_HOST: `unix://${join(work, 'no-engine.sock')}`,
  RETROLAB_IMAGE_WIN95: '',
  RETROLAB_IMAGE_WIN98: join(work, 'not-there.img'),
  RETROLAB_IMAGE_WINNT4: '',
});

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'retrolab-doctor-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('retrolab doctor', () => {
  it('--json: every check with a known status, required marked, no doubled words; exit 1 when a required one is not ok', async () => {
    const out = await retrolabProcess(['doctor', '--json'], { env: env() });
    expect(out.code, out.stderr).toBe(1);
    const checks = JSON.parse(out.stdout) as { name: string; status: string; required: boolean; detail: string; fix?: string }[];
    const words = CHECK_STATUSES.map((s) => s.status as string);
    for (const check of checks) {
      expect(words, check.name).toContain(check.status);
      expect(typeof check.required).toBe('boolean');
      expect(check.detail.toLowerCase().startsWith(check.status), `${check.name}: "${check.status}: ${check.detail}"`).toBe(false);
    }
    const byName = new Map(checks.map((c) => [c.name, c]));
    expect(byName.get('Docker engine')).toMatchObject({ status: 'missing', required: true });
    expect(byName.get('target win95')).toMatchObject({ status: 'not configured', required: false });
    expect(byName.get('target win95')?.fix).toMatch(/RETROLAB_IMAGE_WIN95|image prepare/);
    expect(byName.get('target win98')).toMatchObject({ status: 'not prepared', required: false });
  });

  it('the table: a need column, no "not configured: not configured", and a summary line', async () => {
    const out = await retrolabProcess(['doctor'], { env: env() });
    expect(out.code).toBe(1);
    expect(out.stdout).toMatch(/^check\s+status\s+need\s+detail$/m);
    expect(out.stdout).toMatch(/^Docker engine\s+missing\s+required\s/m);
    expect(out.stdout).toMatch(/^target win95\s+not configured\s+optional\s+no win95 image/m);
    expect(out.stdout).not.toMatch(/not configured: not configured|not prepared: not prepared/);
    const last = out.stdout.trimEnd().split('\n').at(-1) ?? '';
    expect(last).toMatch(/^doctor: \d+ ok, \d+ missing, .*; \d+ required check\(s\) not ok: Docker engine, /);
  });
});
