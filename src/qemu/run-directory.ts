import { chown, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { NOBODY } from '../docker/container-spec.ts';
import type { HostFiles } from '../docker/host-files.ts';
import { trackPath } from '../util/owner-ledger.ts';

/** Where a run directory appears inside the QEMU container. */
export const RUN_DIR_IN_CONTAINER = '/run/retrolab';

/**
 * A run's working folder on the host: QEMU's sockets, pid file, overlay disk
 * and screendumps live here, bind-mounted into the container. The container
 * runs as a non-root user that must be able to write it.
 */
export interface RunDirectory extends AsyncDisposable {
  readonly hostPath: string;
  readonly containerPath: string;
  /** The uid:gid QEMU and qemu-img run as. */
  readonly user: string;
}

/** The user containers run as: the caller's own uid when it is not root, else nobody. */
export function containerUser(): string {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  return uid === 0 ? NOBODY : `${uid}:${gid}`;
}

/** Makes a directory the container user may write (root on the host hands it over with chown). */
export async function prepareWritableDirectory(path: string): Promise<void> {
  await mkdir(path, { recursive: true });
  await handToContainerUser(path);
}

/** Root on the host hands a file or folder it made to the container user (chown); anyone else already is that user. */
export async function handToContainerUser(path: string): Promise<void> {
  if ((process.getuid?.() ?? 0) === 0) {
    const [uid, gid] = containerUser().split(':').map(Number) as [number, number];
    await chown(path, uid, gid);
  }
}

/** Creates a fresh run directory under `parent`; disposing removes it unless `keep` is set. */
export async function createRunDirectory(parent: string, options: { keep?: boolean } = {}): Promise<RunDirectory> {
  await mkdir(parent, { recursive: true });
  const hostPath = await mkdtemp(join(parent, 'qemu-'));
  const untrack = options.keep ? () => undefined : trackPath(hostPath);
  await prepareWritableDirectory(hostPath);
  return {
    hostPath,
    containerPath: RUN_DIR_IN_CONTAINER,
    user: containerUser(),
    async [Symbol.asyncDispose]() {
      if (!options.keep) await rm(hostPath, { recursive: true, force: true });
      untrack();
    },
  };
}

/**
 * A fresh run directory on the machine of the engine whose files these are
 * (its cache folder's `runs/`); disposing removes it there.
 */
export async function createHostRunDirectory(files: HostFiles, options: { signal?: AbortSignal } = {}): Promise<RunDirectory> {
  const user = containerUser();
  const dir = await files.makeRunDir('qemu-', user, options);
  return { hostPath: dir.path, containerPath: RUN_DIR_IN_CONTAINER, user, [Symbol.asyncDispose]: () => dir[Symbol.asyncDispose]() };
}
