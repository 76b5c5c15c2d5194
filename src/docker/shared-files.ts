import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PrerequisiteError, errorMessage } from '../errors.ts';
import type { ProgressSink } from '../report/progress.ts';
import { silentProgress } from '../report/progress.ts';
import { PROJECT_ROOT, cacheDir } from '../util/paths.ts';
import type { DockerClient } from './docker-client.ts';
import { EngineReaperError } from './engine-reaper.ts';
import { RUNNER_IMAGES } from './image-names.ts';
import { SftpHostFiles } from './sftp-host-files.ts';

/**
 * Whether a host's engine sees this machine's files at the same paths: it is
 * asked to read a file just written to the cache folder and one of this
 * checkout (guests get both: run folders from the first, programs and
 * target scripts from the second, and either may be shared without the
 * other). Returns undefined when it does, else what it saw instead.
 */
export async function probeSharedFiles(docker: DockerClient, options: { signal?: AbortSignal } = {}): Promise<string | undefined> {
  const dir = join(cacheDir(), 'runs');
  await mkdir(dir, { recursive: true });
  const token = randomBytes(8).toString('hex');
  const probe = join(dir, `host-probe-${token}`);
  await writeFile(probe, token, { mode: 0o644 });
  const inCheckout = join(PROJECT_ROOT, 'vms', 'wine', 'start-agent.sh');
  const expected = `${token}\n${createHash('sha256').update(await readFile(inCheckout)).digest('hex')}`;
  let seen: string;
  try {
    const result = await docker.run(
      {
        image: RUNNER_IMAGES.wine,
        entrypoint: ['sh'],
        cmd: ['-c', 'cat /probe && echo && sha256sum < /checkout | cut -c1-64'],
        binds: [
          { hostPath: probe, containerPath: '/probe', readOnly: true, mustExist: true },
          { hostPath: inCheckout, containerPath: '/checkout', readOnly: true, mustExist: true },
        ],
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
  if (seen === expected) return undefined;
  return `a probe file written to ${dir} and ${inCheckout} of this checkout were not both there: ${seen.replace(/\n/g, ' ')}`;
}

/**
 * Settles which files a host's guests see (docker.files). A host that sees
 * this machine's paths keeps them (the same machine, a network namespace, a
 * shared mount); an SSH host that does not gets its own: the guests' files
 * are copied into its cache folder over the SSH connection and its sockets
 * are reached through it (SftpHostFiles). Any other host that does not is
 * refused before the run, with what is missing.
 */
export async function settleHostFiles(
  docker: DockerClient,
  name: string,
  options: { signal?: AbortSignal; onProgress?: ProgressSink; cacheDir?: string } = {},
): Promise<void> {
  const missing = await probeSharedFiles(docker, options);
  if (missing === undefined) return;
  const progress = options.onProgress ?? silentProgress;
  if (docker.session) {
    const files = await SftpHostFiles.open(docker.session, { signal: options.signal, cacheDir: options.cacheDir });
    docker.useFiles(files);
    progress({
      kind: 'step',
      scope: `files ${name}`,
      message: `${name} does not see this machine's files (${missing}): guests' files go over SSH to ${files.cacheDir} there`,
    });
    return;
  }
  throw new PrerequisiteError(
    `${name} does not see this machine's files at the same paths (${missing}), and only an ssh:// host gets copies of them: reach it over SSH instead (guests get their run folders, programs and disks as bind mounts, and their serial line is a socket in one)`,
    `reach that engine over SSH instead (--host ssh://user@host: retrolab then copies the files to the host's cache folder and reaches the sockets through the connection), or share ${cacheDir()} and this checkout at the same paths there`,
  );
}
