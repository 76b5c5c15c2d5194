import { join } from 'node:path';
import { PROJECT_ROOT } from '../util/paths.ts';
import type { GuestAppName } from './guest-app-table.ts';

/** Where `npm run build:guest` puts the programs (git-ignored). */
export const GUEST_BUILD_DIR = join(PROJECT_ROOT, 'build', 'guest');

/** The built program, e.g. `guestAppPath('dupclose')` → `<repo>/build/guest/dupclose.exe`. */
export function guestAppPath(name: GuestAppName, buildDir: string = GUEST_BUILD_DIR): string {
  return join(buildDir, `${name}.exe`);
}
