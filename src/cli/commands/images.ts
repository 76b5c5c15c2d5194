import type { CommandIo } from '../command.ts';
import { connectDocker } from '../../docker/docker-client.ts';
import { ensureRunnerImages } from '../../images/ensure-runner-images.ts';
import { consoleProgress } from '../../report/progress.ts';
import { ConfigError } from '../../errors.ts';
import { quoteInput } from '../../util/quote-input.ts';

const USAGE = 'usage: retrolab images build [--verbose]   builds every runner image that is missing or stale';

export async function imagesCommand(args: string[], io: CommandIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'build') throw new ConfigError(`Unknown images subcommand ${quoteInput(sub ?? '')}\n${USAGE}`);
  const verbose = rest.includes('--verbose') || process.env.CI === 'true';
  await using docker = await connectDocker({ signal: io.signal });
  const built = await ensureRunnerImages(docker, { signal: io.signal, onProgress: consoleProgress({ verbose }) });
  for (const image of built) io.stdout.write(`${image.ref} -> ${image.hashRef}${image.built ? ' (built)' : ''}\n`);
  return 0;
}
