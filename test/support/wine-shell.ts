import type { BindMount } from '../../src/docker/container-spec.ts';
import type { DockerClient } from '../../src/docker/docker-client.ts';
import { RUNNER_IMAGES } from '../../src/docker/image-names.ts';
import type { StartedContainer } from '../../src/docker/started-container.ts';

/**
 * A wine-runner container that idles, for tests that run guest programs under
 * Wine with `exec`: hardened as the wine target's containers are, no network,
 * `binds` (the built programs), and one long-lived wineserver, so that each
 * program starts in a fraction of the usual time.
 */
export async function startWineShell(docker: DockerClient, binds: BindMount[]): Promise<StartedContainer> {
  const wine = await docker.start({
    image: RUNNER_IMAGES.wine,
    cmd: ['sleep', 'infinity'],
    init: true,
    user: '1000:1000',
    hardening: 'standard',
    network: 'none',
    // Wine runs under qemu-user on hosts whose kernel refuses i386 programs: every Wine process is a big emulator.
    pidsLimit: 512,
    memoryMb: 2048,
    binds,
  });
  await wine.exec(['sh', '-c', 'wineserver -p </dev/null >/dev/null 2>&1']);
  return wine;
}
