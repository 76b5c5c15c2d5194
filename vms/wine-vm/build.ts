// Builds (or finds in the cache) the wine-vm guest: `npx tsx vms/wine-vm/build.ts [--agent PATH]`.
// Prints the guest's files as JSON on stdout; progress goes to stderr.
import '../../src/util/dispose.ts';
import { parseArgs } from 'node:util';
import { ensureWineVmGuest, wineVmGuestSizes } from '../../src/images/wine-vm-disk.ts';
import { consoleProgress } from '../../src/report/progress.ts';

const { values } = parseArgs({ options: { agent: { type: 'string' }, verbose: { type: 'boolean', default: false } } });
const guest = await ensureWineVmGuest({
  ...(values.agent === undefined ? {} : { agentExe: values.agent }),
  onProgress: consoleProgress({ verbose: values.verbose }),
  signal: AbortSignal.timeout(30 * 60_000),
});
process.stdout.write(`${JSON.stringify({ ...guest, sizes: await wineVmGuestSizes(guest) }, null, 2)}\n`);
