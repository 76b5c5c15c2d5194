// `npm run setup` step: provides Open Watcom for the guest build without a
// registry (WATCOM, RETROLAB_OPENWATCOM_TARBALL, ../shared/toolchains/, else
// the pinned official release where the network allows; see
// src/guest-apps/open-watcom.ts). Without one the guest programs build with
// mingw-w64, which is not an error; a source the user named that cannot be
// used is. `--no-download` (or RETROLAB_OPENWATCOM_DOWNLOAD=0) skips the network.
import '../src/util/dispose.ts';
import { argv } from 'zx';
import { errorMessage } from '../src/errors.ts';
import { provisionOpenWatcom } from '../src/guest-apps/open-watcom.ts';
import { consoleProgress } from '../src/report/progress.ts';

async function main(): Promise<number> {
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort(new Error('interrupted by SIGINT')));
  const download = argv.download !== false && process.env.RETROLAB_OPENWATCOM_DOWNLOAD !== '0';
  try {
    const outcome = await provisionOpenWatcom({
      signal: controller.signal,
      onProgress: consoleProgress({ verbose: argv.verbose === true }),
      download,
    });
    if (outcome.kind === 'found') {
      const { install } = outcome;
      process.stderr.write(
        `[toolchain] Open Watcom: ${install.root} (from ${install.from}${install.tarball ? `: ${install.tarball}` : ''}); the guest programs build with it\n`,
      );
    } else {
      process.stderr.write(
        `[toolchain] Open Watcom is missing (${outcome.reason}); the guest programs build with mingw-w64\n  to add it: ${outcome.fix}\n`,
      );
    }
    return 0;
  } catch (error) {
    process.stderr.write(`[toolchain] ${errorMessage(error)}\n`);
    return 1;
  }
}

process.exitCode = await main();
