// What a user downloads or builds: the runner images and the wine-vm guest disk.
import { stat } from 'node:fs/promises';
import { RUNNER_IMAGES } from '../src/docker/image-names.ts';
import { ensureWineVmGuest } from '../src/images/wine-vm-disk.ts';
import { single, type BenchGroup } from './bench-row.ts';

const MB = 1e6;

export const imageSizes: BenchGroup = {
  name: 'images',
  describe: 'image sizes: qemu-runner, wine-runner, the wine-vm disk (and its saved state)',
  async run({ docker, signal, onProgress }) {
    const guest = await ensureWineVmGuest({ docker, signal, onProgress });
    const disk = await stat(guest.disk);
    const rows = [
      single('images', 'wine-vm', 'qemu-runner image', 'MB', (await docker.imageSize(RUNNER_IMAGES.qemu)) / MB),
      single('images', 'wine', 'wine-runner image', 'MB', (await docker.imageSize(RUNNER_IMAGES.wine)) / MB),
      single('images', 'wine-vm', 'wine-vm disk (qcow2, bytes on disk)', 'MB', (disk.blocks * 512) / MB, {
        note: `${guest.disk}, apparent size ${Math.round(disk.size / MB)} MB`,
      }),
      single(
        'images',
        'wine-vm',
        'wine-vm kernel + initramfs',
        'MB',
        ((await stat(guest.kernel)).size + (await stat(guest.initrd)).size) / MB,
      ),
    ];
    return rows;
  },
};
