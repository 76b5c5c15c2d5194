import { listTargets } from '../../config/target-list.ts';
import { connectDocker } from '../../docker/docker-client.ts';
import { errorMessage } from '../../errors.ts';
import { TOOLCHAIN_ENV } from '../../guest-apps/toolchain.ts';
import { consoleProgress } from '../../report/progress.ts';
import { TargetSkippedError } from '../../targets/errors.ts';
import { prepareTarget } from '../../targets/prepare-target.ts';
import { diskFullMessage } from '../../util/disk-full.ts';
import type { CommandIo } from '../command.ts';
import { EXIT } from '../exit-codes.ts';
import type { ParsedArgs } from '../parsed-args.ts';

/**
 * `retrolab prepare [--target T]...`: everything a run needs before its first
 * scenario, once per target — guest programs, the wine-vm disk, licence
 * readiness, the accelerator, the saved VM state — so CI can warm its cache
 * in a step of its own. A run afterwards only starts guests.
 */
export async function prepareCommand(args: ParsedArgs, io: CommandIo): Promise<number> {
  const named = args.strings('target');
  const targets = named.length > 0 ? named : await listTargets();
  const toolchain = args.string('toolchain');
  if (toolchain && toolchain !== 'auto') process.env[TOOLCHAIN_ENV] = toolchain;
  const progress = consoleProgress({ verbose: args.flag('verbose') });
  await using docker = await connectDocker({ signal: io.signal, onProgress: progress });
  let broken = 0;
  for (const target of targets) {
    try {
      const prepared = await prepareTarget(target, { docker, signal: io.signal, onProgress: progress });
      io.stdout.write(`prepared ${target} (${(prepared.prepareMs / 1000).toFixed(1)} s)\n`);
    } catch (error) {
      io.signal.throwIfAborted();
      if (error instanceof TargetSkippedError) {
        io.stdout.write(`skipped ${target}: ${error.reason}\n  to enable: ${error.fix}\n`);
      } else {
        broken += 1;
        io.stderr.write(`retrolab: could not prepare ${target}: ${diskFullMessage(error) ?? errorMessage(error)}\n`);
      }
    }
  }
  return broken > 0 ? EXIT.infrastructure : EXIT.ok;
}
