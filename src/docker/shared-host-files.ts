import { chown, copyFile, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Duplex } from 'node:stream';
import { trackPath } from '../util/owner-ledger.ts';
import { connectUnix } from '../util/unix-socket.ts';
import { cacheDir } from '../util/paths.ts';
import type { HostDir, HostFileOptions, HostFiles } from './host-files.ts';

/** Root hands what it made to the containers' user; anyone else already is that user (containerUser()). */
async function handTo(path: string, owner: string | undefined): Promise<void> {
  if (owner === undefined || (process.getuid?.() ?? 0) !== 0) return;
  const [uid, gid] = owner.split(':').map(Number) as [number, number];
  await chown(path, uid, gid);
}

/**
 * The files of a host that sees this machine's paths at the same places:
 * every call is the local file system, and a local file is its own host path.
 */
export class SharedHostFiles implements HostFiles {
  readonly kind = 'shared' as const;
  readonly hostName: string;

  constructor(hostName: string) {
    this.hostName = hostName;
  }

  get cacheDir(): string {
    return cacheDir();
  }

  async makeRunDir(prefix: string, owner: string): Promise<HostDir> {
    const parent = join(cacheDir(), 'runs');
    await mkdir(parent, { recursive: true });
    const path = await mkdtemp(join(parent, prefix));
    const untrack = trackPath(path);
    await handTo(path, owner);
    return {
      path,
      async [Symbol.asyncDispose]() {
        await rm(path, { recursive: true, force: true });
        untrack();
      },
    };
  }

  async mkdir(path: string, options: { owner?: string } = {}): Promise<void> {
    await mkdir(path, { recursive: true });
    await handTo(path, options.owner);
  }

  async readText(path: string): Promise<string | undefined> {
    try {
      return await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async writeText(path: string, text: string): Promise<void> {
    await writeFile(path, text);
  }

  async exists(path: string): Promise<boolean> {
    return stat(path).then(
      () => true,
      () => false,
    );
  }

  async copy(from: string, to: string, options: { owner?: string } = {}): Promise<void> {
    await copyFile(from, to);
    await handTo(to, options.owner);
  }

  async move(from: string, to: string): Promise<void> {
    try {
      await rename(from, to);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'EISDIR') {
        await rm(to, { recursive: true, force: true });
        await rename(from, to);
      } else if (code === 'EXDEV') {
        await copyFile(from, to);
        await rm(from);
      } else {
        throw error;
      }
    }
  }

  async remove(path: string): Promise<void> {
    await rm(path, { recursive: true, force: true });
  }

  async fetch(path: string, localPath: string): Promise<void> {
    if (resolve(path) !== resolve(localPath)) await copyFile(path, localPath);
  }

  connect(socketPath: string, options: HostFileOptions = {}): Promise<Duplex> {
    return connectUnix(socketPath, options.signal);
  }

  provideFile(localPath: string): Promise<string> {
    return Promise.resolve(resolve(localPath));
  }

  provideDir(localDir: string): Promise<string> {
    return Promise.resolve(resolve(localDir));
  }
}
