import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connectDocker } from '../../src/docker/docker-client.ts';
import { RUNNER_IMAGES } from '../../src/docker/image-names.ts';
import { startReaper } from '../../src/docker/reaper.ts';
import { streamHostCommand } from '../../src/util/host-command.ts';
import { openLeftovers, ownLedgerFile, trackPath } from '../../src/util/owner-ledger.ts';

/**
 * An orchestrator stand-in for the reaper test and `npm run chaos`: it
 * connects (which starts its reaper), starts a labelled container, makes a
 * tracked work folder with a big partial file, starts a tracked host
 * process, prints what it made as one JSON line, and waits to be killed.
 */
const docker = await connectDocker();
const container = await docker.start({ image: RUNNER_IMAGES.qemu, entrypoint: ['sleep'], cmd: ['3600'], memoryMb: 32 });
const work = join(process.argv[2] ?? '/tmp', `.prepare-owner-${process.pid}`);
await mkdir(work, { recursive: true });
trackPath(work);
await writeFile(join(work, 'disk.raw.partial'), Buffer.alloc(1024 * 1024));
const child = streamHostCommand('sleep', ['3600']);
await new Promise((resolve) => setTimeout(resolve, 200));
const pid = openLeftovers(readFileSync(ownLedgerFile(), 'utf8')).processes[0]?.pid ?? 0;
process.stdout.write(
  `${JSON.stringify({ owner: process.pid, reaper: await startReaper(), container: container.id, work, hostProcess: pid })}\n`,
);
void child;
setInterval(() => undefined, 1_000);
