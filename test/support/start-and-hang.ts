// Starts a labelled container and waits to be killed: the "killed run" whose
// leftovers the sweep test expects the next run to remove.
import '../../src/util/dispose.ts';
import { connectDocker } from '../../src/docker/docker-client.ts';
import { RUNNER_IMAGES } from '../../src/docker/image-names.ts';
import { startReaper } from '../../src/docker/reaper.ts';

const docker = await connectDocker();
const container = await docker.start({ image: RUNNER_IMAGES.qemu, cmd: ['sleep', '300'] });
process.stdout.write(`started ${container.id} reaper ${await startReaper()}\n`);
setInterval(() => {}, 1000);
