import { connectHost } from '../../src/docker/docker-host.ts';
import { parseHostAddress } from '../../src/docker/host-address.ts';
import { RUNNER_IMAGES } from '../../src/docker/image-names.ts';

/**
 * An orchestrator stand-in on an `ssh://` host (argv[2]) for the host-reaper
 * test: it connects as a run does, starts a labelled container there (which
 * starts the host's reaper container), prints what it made as one JSON line,
 * prints another when its SSH connection is lost, and waits to be killed.
 */
const docker = await connectHost(parseHostAddress(process.argv[2] ?? '', 'argv[2]'), {
  onLost: (reason) => process.stdout.write(`${JSON.stringify({ lost: reason })}\n`),
});
const container = await docker.start({ image: RUNNER_IMAGES.qemu, entrypoint: ['sleep'], cmd: ['3600'], memoryMb: 32 });
process.stdout.write(`${JSON.stringify({ owner: process.pid, container: container.id, reaper: await docker.reaperId() })}\n`);
setInterval(() => undefined, 1_000);
