import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { HostCommandError } from './host-command.ts';
import { cacheDir } from './paths.ts';

/**
 * A full disk, found anywhere in an error's cause chain (a Node ENOSPC, or a
 * host tool such as tar or qemu-img saying "No space left on device"), told in
 * one line: where, how much room is left there, and what to do. Without this a
 * full cache showed as 2,000 characters of tar's complaints per file.
 */

const NO_SPACE = /no space left on device|ENOSPC/i;

interface Found {
  /** The folder that filled up, as well as it can be told. */
  where: string;
  /** What was being done (the failing host command, or Node's syscall). */
  doing: string;
}

function find(error: unknown, depth = 0): Found | undefined {
  if (!(error instanceof Error) || depth > 10) return undefined;
  const errno = error as NodeJS.ErrnoException;
  if (errno.code === 'ENOSPC') return { where: errno.path ? dirname(errno.path) : cacheDir(), doing: errno.syscall ?? 'writing' };
  if (error instanceof HostCommandError && NO_SPACE.test(error.stderr)) {
    const into = error.args.indexOf('-C');
    return { where: into >= 0 ? (error.args[into + 1] ?? cacheDir()) : cacheDir(), doing: error.command };
  }
  return find(error.cause, depth + 1) ?? (NO_SPACE.test(error.message) ? { where: cacheDir(), doing: 'writing' } : undefined);
}

function free(where: string): string {
  for (let dir = where; ; dir = dirname(dir)) {
    try {
      const stats = statfsSync(dir);
      const mib = (blocks: number) => Math.floor((blocks * stats.bsize) / 2 ** 20);
      return `${mib(stats.bavail)} MiB free of ${mib(stats.blocks)} MiB`;
    } catch {
      if (dirname(dir) === dir) return 'free space unknown';
    }
  }
}

/** One line for a full disk, or undefined when `error` is something else. */
export function diskFullMessage(error: unknown): string | undefined {
  const found = find(error);
  if (!found) return undefined;
  const cache = cacheDir();
  if (found.where.startsWith(cache)) {
    return (
      `no space left on device in the cache ${cache} (${process.env.RETROLAB_CACHE ? 'RETROLAB_CACHE' : 'the default'}; ${free(cache)}) ` +
      `while ${found.doing} wrote there: free space or point RETROLAB_CACHE at a larger disk (building the wine-vm disk needs about 1 GB free)`
    );
  }
  return `no space left on device under ${found.where} (${free(found.where)}) while ${found.doing} wrote there: free space there and run it again`;
}
