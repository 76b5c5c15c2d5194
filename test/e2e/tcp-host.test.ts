import { mkdtemp, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResults } from '../../src/model/run-results.ts';
import { retrolabProcess } from '../support/cli-process.ts';
import { testHostEnv } from '../support/test-host.ts';

/**
 * A `tcp://` engine with TLS, as the docker CLI reaches one: the namespaced
 * dockerd of scripts/test-host.sh listens on its address with --tlsverify
 * and certificates the script made. Plain `retrolab hosts` goes through it;
 * the refusals say which variable to set, and that a scenario needs files
 * the engine sees (the test host hides this machine's: only ssh:// copies them).
 */

let env: Record<string, string>;
let tls: Record<string, string>;
let url: string;
let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tcp-host-'));
  env = await testHostEnv();
  expect(env.RETROLAB_TESTHOST_TCP_URL, 'scripts/test-host.sh up printed no RETROLAB_TESTHOST_TCP_URL').toMatch(/^tcp:\/\//);
  url = env.RETROLAB_TESTHOST_TCP_URL!;
  // The engine's own socket for its reaper: on the test host, whose folders are this machine's, /var/run/docker.sock is the other engine.
  tls = {
    DOCKER_TLS_VERIFY: '1',
    DOCKER_CERT_PATH: env.RETROLAB_TESTHOST_CERT_PATH!,
    RETROLAB_ENGINE_SOCKET: env.RETROLAB_TESTHOST_SOCKET!,
  };
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function latest(resultsRoot: string): Promise<RunResults> {
  return JSON.parse(await readFile(join(resultsRoot, await readlink(join(resultsRoot, 'latest')), 'results.json'), 'utf8')) as RunResults;
}

describe('a tcp:// engine with TLS', () => {
  it('retrolab hosts over TLS (--host and DOCKER_HOST); without DOCKER_TLS_VERIFY, or with a CA that did not sign the engine, refused with the variable to set', async () => {
    const ok = await retrolabProcess(['hosts', '--host', url, '--json'], { env: tls });
    expect(ok.code, ok.stderr + ok.stdout).toBe(0);
    const [host] = JSON.parse(ok.stdout) as { name: string; url: string; engine?: string; cpus?: number }[];
    expect(host).toMatchObject({ name: `${env.RETROLAB_TESTHOST_ADDRESS}:2376`, url });
    expect(host?.engine).toMatch(/^Docker \d+/);
    // DOCKER_HOST names it as well as --host does.
    const fromEnv = await retrolabProcess(['hosts', '--json'], { env: { ...tls, DOCKER_HOST: url } });
    expect(fromEnv.code, fromEnv.stderr + fromEnv.stdout).toBe(0);
    expect(JSON.parse(fromEnv.stdout)).toMatchObject([{ url, engine: host?.engine }]);

    const plain = await retrolabProcess(['hosts', '--host', url], { env: { DOCKER_TLS_VERIFY: '', DOCKER_TLS: '' } });
    expect(plain.code).toBe(3);
    expect(plain.stdout).toMatch(/the engine speaks TLS, and DOCKER_TLS_VERIFY is not set/);

    // The client folder without its ca.pem: the system's roots do not know the test CA.
    const stranger = await retrolabProcess(['hosts', '--host', url], { env: { ...tls, DOCKER_CERT_PATH: work } });
    expect(stranger.code).toBe(3);
    expect(stranger.stdout).toMatch(/certificate is not signed by the system's roots/);
  });

  it('a wine scenario through tcp:// on a host that does not see this machine’s files is refused before any work, naming the fix', async () => {
    // The test host hides this checkout and its cache (scripts/test-host.sh), and tcp:// has no SSH connection to copy them over.
    const root = join(work, 'wine');
    const result = await retrolabProcess(['run', '--target', 'wine', '--scenario', 'dup-close', '--cycles', '3', '--host', url], {
      env: { ...tls, RETROLAB_RESULTS: root },
    });
    expect(result.code, result.stderr.slice(-4000)).toBe(3);
    expect(result.stderr).toMatch(/2376 does not see this machine's files at the same paths/);
    expect(result.stderr).toMatch(/only an ssh:\/\/ host gets copies of them: reach it over SSH instead/);
    const [entry] = (await latest(root)).entries;
    expect(entry?.verdict).toBe('infra-error');
  });

  it('a reaper socket that leads to another engine stops the run before any work, naming the setting', async () => {
    // The crafted case: /var/run/docker.sock exists on the test host, but it is this machine's engine, not the one at tcp://.
    const root = join(work, 'wrong-socket');
    const result = await retrolabProcess(['run', '--target', 'wine', '--scenario', 'dup-close', '--cycles', '3', '--host', url], {
      env: { ...tls, RETROLAB_ENGINE_SOCKET: '/var/run/docker.sock', RETROLAB_RESULTS: root },
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/\/var\/run\/docker\.sock \(RETROLAB_ENGINE_SOCKET\) is not this engine's socket on its machine/);
    const [entry] = (await latest(root)).entries;
    expect(entry?.verdict).toBe('infra-error');
  });
});
