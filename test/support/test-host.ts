import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/util/paths.ts';

const TEST_HOST = join(PROJECT_ROOT, 'scripts', 'test-host.sh');

/** `scripts/test-host.sh COMMAND`: its stdout, or an error saying what the script needs. */
export function testHost(command: 'up' | 'kill-engine'): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('bash', [TEST_HOST, command], { timeout: 180_000 }, (error, stdout, stderr) => {
      if (error)
        reject(
          new Error(`scripts/test-host.sh ${command} failed (it needs root, iproute2, openssh-server, docker.io, openssl):\n${stderr}`),
        );
      else resolve(stdout);
    });
  });
}

/** Brings the test host up and returns the environment it prints (RETROLAB_TESTHOST_URL and the rest). */
export async function testHostEnv(): Promise<Record<string, string>> {
  const out = await testHost('up');
  return Object.fromEntries(
    out
      .split('\n')
      .filter((line) => /^[A-Z_]+=/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}
