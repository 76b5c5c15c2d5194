import Docker from 'dockerode';
import { DockerClient } from '../../src/docker/docker-client.ts';
import { DEFAULT_ENGINE_SOCKET } from '../../src/docker/host-address.ts';
import { RUNNER_IMAGES } from '../../src/docker/image-names.ts';
import { newRunId } from '../../src/docker/labels.ts';

/**
 * An owner whose engine is watched by a reaper container only (no reaper
 * process: it does not connect through connectDocker), for the engine-reaper
 * test: this machine's engine stands in for a remote one. It starts a
 * labelled container (which starts the reaper), prints what it made as one
 * JSON line, and waits to be stopped or killed.
 */
const docker = new DockerClient(
  new Docker({ socketPath: DEFAULT_ENGINE_SOCKET }),
  `unix://${DEFAULT_ENGINE_SOCKET}`,
  newRunId(),
  undefined,
  {
    reaperSocket: { socketPath: DEFAULT_ENGINE_SOCKET, socketSource: 'the test', setting: 'the test' },
  },
);
const container = await docker.start({ image: RUNNER_IMAGES.qemu, entrypoint: ['sleep'], cmd: ['3600'], memoryMb: 32 });
process.stdout.write(`${JSON.stringify({ owner: process.pid, container: container.id, reaper: await docker.reaperId() })}\n`);
setInterval(() => undefined, 1_000);
