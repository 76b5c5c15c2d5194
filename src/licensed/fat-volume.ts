import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskToolError } from './errors.ts';
import { runTool } from './host-tool.ts';

/**
 * A FAT volume inside a raw disk image, edited with mtools at the partition's
 * byte offset (`image@@offset`), so nothing is mounted and no root is needed.
 * Paths are DOS paths relative to the volume root, `\` or `/` separated;
 * FAT is case-insensitive and mtools matches names that way.
 */
export class FatVolume {
  readonly image: string;
  readonly offset: number;
  readonly #signal: AbortSignal | undefined;

  constructor(image: string, offset: number, options: { signal?: AbortSignal } = {}) {
    this.image = image;
    this.offset = offset;
    this.#signal = options.signal;
  }

  get #drive(): string {
    return `${this.image}@@${this.offset}`;
  }

  #call(): { signal?: AbortSignal } {
    return { signal: this.#signal };
  }

  static mtoolsPath(path: string): string {
    return `::/${path.replaceAll('\\', '/').replace(/^\/+/, '')}`;
  }

  async exists(path: string): Promise<boolean> {
    try {
      await runTool('mdir', ['-i', this.#drive, '-b', FatVolume.mtoolsPath(path)], this.#call());
      return true;
    } catch (error) {
      if (error instanceof DiskToolError) return false;
      throw error;
    }
  }

  /** Names (not paths) in a folder, as stored (long names where there are any). */
  async list(folder: string): Promise<string[]> {
    const out = await runTool('mdir', ['-i', this.#drive, '-b', FatVolume.mtoolsPath(folder)], this.#call());
    return out
      .split('\n')
      .map((line) => line.trim().replace(/\/$/, ''))
      .filter((line) => line.length > 0)
      .map((line) => line.slice(line.lastIndexOf('/') + 1));
  }

  async read(path: string): Promise<Buffer> {
    return this.#withTemp(async (temp) => {
      await runTool('mcopy', ['-n', '-i', this.#drive, FatVolume.mtoolsPath(path), temp], this.#call());
      return readFile(temp);
    });
  }

  /** Writes a file, replacing one that exists; its folder must exist. */
  async write(path: string, data: Buffer | string): Promise<void> {
    await this.#withTemp(async (temp) => {
      await writeFile(temp, data);
      await runTool('mcopy', ['-o', '-i', this.#drive, temp, FatVolume.mtoolsPath(path)], this.#call());
    });
  }

  async mkdir(path: string): Promise<void> {
    if (await this.exists(path)) return;
    await runTool('mmd', ['-i', this.#drive, FatVolume.mtoolsPath(path)], this.#call());
  }

  async #withTemp<T>(use: (temp: string) => Promise<T>): Promise<T> {
    const dir = await mkdtemp(join(tmpdir(), 'retrolab-fat-'));
    try {
      return await use(join(dir, 'file'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}
