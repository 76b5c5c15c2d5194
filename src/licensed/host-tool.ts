import { probeHostCommand } from '../util/host-command.ts';
import { DiskToolError } from './errors.ts';

/**
 * Runs one host tool (qemu-img, mtools, hivexregedit, mkfs.fat, xorriso) with
 * an argument vector, never a shell line, and returns its stdout. mtools is
 * told not to check geometry: the volumes it edits sit at a partition offset
 * inside a disk image, not on a floppy.
 */
export async function runTool(
  command: string,
  args: string[],
  options: { signal?: AbortSignal; input?: string | Buffer } = {},
): Promise<string> {
  const result = await probeHostCommand(command, args, {
    env: { MTOOLS_SKIP_CHECK: '1', MTOOLS_NO_VFAT: '0', LC_ALL: 'C' },
    input: options.input,
    signal: options.signal,
  });
  if (result.exitCode !== 0) throw new DiskToolError([command, ...args], result.exitCode ?? -1, result.stderr);
  return result.stdout;
}
