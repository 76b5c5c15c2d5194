import type { CommandIo } from '../command.ts';
import type { ParsedArgs } from '../parsed-args.ts';
import { connectDocker } from '../../docker/docker-client.ts';
import { ensureRunnerImages } from '../../images/ensure-runner-images.ts';
import { consoleProgress } from '../../report/progress.ts';

/** `retrolab images build`: every runner image that is missing or stale. */
export async function imagesBuildCommand(args: ParsedArgs, io: CommandIo): Promise<number> {
  const verbose = args.flag('verbose') || process.env.CI === 'true';
  await using docker = await connectDocker({ signal: io.signal });
  const built = await ensureRunnerImages(docker, { signal: io.signal, onProgress: consoleProgress({ verbose }) });
  for (const image of built) io.stdout.write(`${image.ref} -> ${image.hashRef}${image.built ? ' (built)' : ''}\n`);
  return 0;
}
