import { join } from 'node:path';
import { PROJECT_ROOT } from '../util/paths.ts';
import type { GuestAppName } from './guest-app-table.ts';
import type { ToolchainKind } from './toolchain.ts';

/** Where `npm run build:guest` puts the programs (git-ignored): one folder per toolchain below it. */
export const GUEST_BUILD_DIR = join(PROJECT_ROOT, 'build', 'guest');

/**
 * The programs of one toolchain, e.g. `build/guest/watcom`. Separate folders
 * let both toolchains' programs exist side by side (switching does not
 * rebuild, and a run with one never picks up the other's files).
 */
export function guestBuildDir(toolchain: ToolchainKind): string {
  return join(GUEST_BUILD_DIR, toolchain);
}

/** The built program, e.g. `guestAppPath('dupclose', guestBuildDir('watcom'))` → `<repo>/build/guest/watcom/dupclose.exe`. */
export function guestAppPath(name: GuestAppName, buildDir: string): string {
  return join(buildDir, `${name}.exe`);
}
