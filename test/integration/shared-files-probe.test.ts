import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDocker, type DockerClient } from '../../src/docker/docker-client.ts';
import { connectHost } from '../../src/docker/docker-host.ts';
import { parseHostAddress } from '../../src/docker/host-address.ts';
import { RUNNER_IMAGES } from '../../src/docker/image-names.ts';
import { probeSharedFiles } from '../../src/docker/shared-files.ts';
import { copyImage } from '../../src/images/host-images.ts';
import { testHostEnv } from '../support/test-host.ts';

/**
 * The probe that decides whether a host's guests can use this machine's
 * paths, against the real test host (scripts/test-host.sh), which hides this
 * checkout and RETROLAB_CACHE in its mount namespace.
 */

let local: DockerClient;
let remote: DockerClient;
let visibleCache: string;
const savedCache = process.env.RETROLAB_CACHE;

beforeAll(async () => {
  const env = await testHostEnv();
  const address = parseHostAddress(env.RETROLAB_TESTHOST_URL ?? '', 'RETROLAB_TESTHOST_URL');
  if (address.kind !== 'ssh') throw new Error('the test host is not an ssh:// host');
  local = await connectDocker();
  remote = await connectHost({ ...address, identityFile: env.RETROLAB_SSH_KEY, knownHostsFile: env.RETROLAB_KNOWN_HOSTS });
  if (!(await remote.imageExists(RUNNER_IMAGES.wine))) await copyImage(local, remote, RUNNER_IMAGES.wine);
  // A cache folder the test host does see (only the checkout and RETROLAB_CACHE are hidden there).
  visibleCache = await mkdtemp('/var/tmp/retrolab-probe-');
});

afterAll(async () => {
  if (savedCache === undefined) delete process.env.RETROLAB_CACHE;
  else process.env.RETROLAB_CACHE = savedCache;
  await remote?.[Symbol.asyncDispose]();
  await local?.[Symbol.asyncDispose]();
  if (visibleCache) await rm(visibleCache, { recursive: true, force: true });
});

describe('probeSharedFiles', () => {
  it('a host that sees the cache folder but not this checkout does not share this machine’s files', async () => {
    // The crafted case: the probe of the cache folder alone (the old rule) passes here, yet the guest programs are missing.
    process.env.RETROLAB_CACHE = visibleCache;
    const missing = await probeSharedFiles(remote);
    expect(missing).toMatch(/bind source path does not exist: .*vms\/wine\/start-agent\.sh/);
  });

  it('the local engine sees both', async () => {
    process.env.RETROLAB_CACHE = join(visibleCache, 'local');
    expect(await probeSharedFiles(local)).toBeUndefined();
  });
});
