import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PrerequisiteError, errorMessage } from '../errors.ts';
import { cacheDir } from '../util/paths.ts';
import type { DockerClient } from './docker-client.ts';
import { EngineReaperError } from './engine-reaper.ts';
import { RUNNER_IMAGES } from './image-names.ts';

/**
 * Guests get their run folders, the guest programs and the wine-vm disk as
 * bind mounts of this machine's paths, and the agent's serial line is a
 * socket in such a folder: a host must see this machine's files at the same
 * paths (the same machine, a network namespace, a shared mount). This asks the
 * host's engine to read a file just written here, so a host that cannot is
 * refused before the run with what is missing, rather than failing every
 * scenario with a guest that cannot start.
 */
export async function checkHostSeesFiles(docker: DockerClient, name: string, options: { signal?: AbortSignal } = {}): Promise<void> {
  const dir = join(cacheDir(), 'runs');
  await mkdir(dir, { recursive: true });
  const token = randomBytes(8).toString('hex');
  const probe = join(dir, `host-probe-${token}`);
  await writeFile(probe, token, { mode: 0o644 });
  let seen: string;
  try {
    const result = await docker.run(
      {
        image: RUNNER_IMAGES.wine,
        entrypoint: ['cat'],
        cmd: ['/probe'],
        binds: [{ hostPath: probe, containerPath: '/probe', readOnly: true, mustExist: true }],
        memoryMb: 64,
      },
      options,
    );
    seen = result.exitCode === 0 ? result.stdout.trim() : `exit ${result.exitCode}: ${result.stderr.trim().slice(0, 200)}`;
  } catch (error) {
    options.signal?.throwIfAborted();
    // The probe is the first container on a host: a reaper that cannot start there is its own problem, with its own fix.
    if (error instanceof EngineReaperError) throw error;
    seen = errorMessage(error).split('\n')[0] ?? 'no answer';
  } finally {
    await rm(probe, { force: true });
  }
  if (seen !== token) {
    throw new PrerequisiteError(
      `${name} does not see this machine's files at the same paths (a probe file written to ${dir} was not there: ${seen}); guests there get their programs, disks and serial line through such paths`,
      `run on hosts that share this machine's filesystem at the same paths (the same machine, a network namespace as scripts/test-host.sh makes, or ${cacheDir()} and this checkout mounted at the same paths), or leave ${name} out; copying them over SSH is not built yet`,
    );
  }
}
