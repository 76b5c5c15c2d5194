// `npm run build:guest [-- --force] [-- --toolchain watcom|mingw] [-- NAME...]`: builds the guest programs into build/guest/<toolchain> and audits them.
import '../src/util/dispose.ts';
import { argv } from 'zx';
import { errorMessage } from '../src/errors.ts';
import { buildGuestApps } from '../src/guest-apps/build.ts';
import { GUEST_APP_NAMES, isGuestAppName, type GuestAppName } from '../src/guest-apps/guest-app-table.ts';
import { parseToolchainChoice } from '../src/guest-apps/toolchain.ts';
import { consoleProgress } from '../src/report/progress.ts';

async function main(): Promise<number> {
  const names = argv._.map(String);
  const unknown = names.filter((n) => !isGuestAppName(n));
  if (unknown.length > 0) {
    process.stderr.write(`unknown guest program(s): ${unknown.join(', ')}; known: ${GUEST_APP_NAMES.join(', ')}\n`);
    return 2;
  }
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  try {
    const toolchain = argv.toolchain === undefined ? undefined : parseToolchainChoice(String(argv.toolchain), '--toolchain');
    const results = await buildGuestApps({
      toolchain,
      signal: controller.signal,
      onProgress: consoleProgress({ verbose: argv.verbose === true }),
      force: argv.force === true,
      ...(names.length > 0 ? { only: names as GuestAppName[] } : {}),
    });
    for (const r of results) process.stdout.write(`${r.path}\t${r.sha256}\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`${errorMessage(error)}\n`);
    return 1;
  }
}

process.exitCode = await main();
