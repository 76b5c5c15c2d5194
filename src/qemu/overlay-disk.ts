import { dirname, resolve } from 'node:path';
import type { DockerClient } from '../docker/docker-client.ts';
import type { BindMount } from '../docker/container-spec.ts';
import { RUNNER_IMAGES } from '../docker/image-names.ts';
import type { DiskFormat } from '../config/vm-spec.ts';
import { QemuImgError } from './errors.ts';
import { containerUser } from './run-directory.ts';

/**
 * Disk images are handled with qemu-img inside the qemu-runner image, so the
 * host needs no QEMU. Paths are bind-mounted at the same path they have on the
 * host: a qcow2 overlay records its backing file by absolute path, and that
 * path must hold in every container that later opens the overlay. Images are
 * mounted as single read-only files, never their folders.
 */

export interface DiskImageInfo {
  path: string;
  format: string;
  virtualSizeBytes: number;
  /** The image itself, then each backing file down to the base. */
  chain: { path: string; format: string }[];
}

interface QemuImgInfoJson {
  filename: string;
  format: string;
  'virtual-size': number;
  'full-backing-filename'?: string;
  'backing-filename-format'?: string;
}

/** Reads an image and its backing chain, one level at a time: each file is lent to the container read-only, alone. */
export async function diskImageInfo(docker: DockerClient, path: string, options: { signal?: AbortSignal } = {}): Promise<DiskImageInfo> {
  const chain: { path: string; format: string }[] = [];
  let top: QemuImgInfoJson | undefined;
  let next: string | undefined = resolve(path);
  while (next !== undefined) {
    if (chain.length >= 16) throw new QemuImgError(['info', path], 0, 'backing chain deeper than 16 levels (a loop?)');
    const stdout = await qemuImg(docker, ['info', '-U', '--output=json', next], [readOnly(next)], options);
    const info = JSON.parse(stdout) as QemuImgInfoJson;
    top ??= info;
    chain.push({ path: next, format: info.format });
    const backing = info['full-backing-filename'];
    next = backing === undefined ? undefined : resolve(dirname(next), backing);
  }
  if (!top) throw new QemuImgError(['info', path], 0, 'qemu-img printed no image');
  return { path: resolve(path), format: top.format, virtualSizeBytes: top['virtual-size'], chain };
}

/**
 * Creates a throwaway qcow2 overlay on `backing`. The backing image is mounted
 * read-only and QEMU only reads it through the overlay, so it is never written.
 */
export async function createOverlay(
  docker: DockerClient,
  request: { backing: string; backingFormat?: DiskFormat; overlay: string },
  options: { signal?: AbortSignal } = {},
): Promise<DiskImageInfo> {
  const backing = resolve(request.backing);
  const overlay = resolve(request.overlay);
  const backingInfo = await diskImageInfo(docker, backing, options);
  const format = request.backingFormat ?? backingInfo.format;
  await docker.files.mkdir(dirname(overlay), { owner: containerUser(), signal: options.signal });
  await qemuImg(
    docker,
    ['create', '-q', '-f', 'qcow2', '-b', backing, '-F', format, overlay],
    [...backingInfo.chain.map((entry) => readOnly(entry.path)), { hostPath: dirname(overlay), containerPath: dirname(overlay) }],
    options,
  );
  return {
    path: overlay,
    format: 'qcow2',
    virtualSizeBytes: backingInfo.virtualSizeBytes,
    chain: [{ path: overlay, format: 'qcow2' }, ...backingInfo.chain],
  };
}

async function qemuImg(docker: DockerClient, args: string[], binds: BindMount[], options: { signal?: AbortSignal }): Promise<string> {
  const result = await docker.run(
    { image: RUNNER_IMAGES.qemu, entrypoint: ['qemu-img'], cmd: args, binds, user: containerUser(), memoryMb: 256 },
    options,
  );
  if (result.exitCode !== 0) throw new QemuImgError(args, result.exitCode, result.stderr);
  return result.stdout;
}

function readOnly(path: string): BindMount {
  return { hostPath: path, containerPath: path, readOnly: true };
}
