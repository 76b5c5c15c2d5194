import { RUNNER_IMAGES } from '../../docker/image-names.ts';
import { chooseHosts, hostUrl, type HostAddress } from '../../docker/host-address.ts';
import { connectHost } from '../../docker/docker-host.ts';
import { LABEL, PRODUCT } from '../../docker/labels.ts';
import { errorMessage } from '../../errors.ts';
import { configLocation, loadRetrolabConfig } from '../../licensed/licensed-config.ts';
import { kvmOnEngine } from '../../qemu/accel.ts';
import type { CommandIo } from '../command.ts';
import { EXIT } from '../exit-codes.ts';
import { formatRows } from '../help.ts';
import type { ParsedArgs } from '../parsed-args.ts';
import { UsageError } from '../usage-error.ts';
import { usageLines } from '../help.ts';
import { quoteInput } from '../../util/quote-input.ts';

/** What `retrolab hosts` reports of one host. */
export interface HostReport {
  name: string;
  url: string;
  slots: number;
  /** Set when the host could not be reached (the rest is then absent). */
  error?: string;
  engine?: string;
  cpus?: number;
  memoryMb?: number;
  kvm?: { usable: boolean; reason: string };
  /** retrolab's images on that engine (repo:tag). */
  images?: string[];
  /** Slots not taken by running retrolab containers (of any run). */
  freeSlots?: number;
}

async function reportHost(address: HostAddress, signal: AbortSignal): Promise<HostReport> {
  const base = { name: address.name, url: hostUrl(address), slots: address.slots ?? 1 };
  try {
    await using docker = await connectHost(address, { signal });
    const info = await docker.info({ signal });
    const capacity = await docker.capacity({ signal });
    const images = (await docker.imageTags({ signal })).filter((tag) => tag.startsWith('retrolab/')).sort();
    const running = (await docker.listContainers({ [LABEL.product]: PRODUCT })).filter((c) => c.state === 'running').length;
    // The probe boots a tiny guest in the qemu-runner image: without that image there is nothing to boot it with yet.
    const kvm = images.includes(RUNNER_IMAGES.qemu)
      ? await kvmOnEngine(docker, { signal }).then((choice) => ({ usable: choice.accel === 'kvm', reason: choice.reason }))
      : { usable: false, reason: `not probed: ${RUNNER_IMAGES.qemu} is not on this host yet (a run copies it there)` };
    return {
      ...base,
      engine: `Docker ${info.serverVersion} (API ${info.apiVersion}, ${info.os}/${info.arch})`,
      cpus: capacity.cpus,
      memoryMb: Math.round(capacity.memoryBytes / 2 ** 20),
      kvm,
      images,
      freeSlots: Math.max(0, base.slots - running),
    };
  } catch (error) {
    signal.throwIfAborted();
    return { ...base, error: errorMessage(error) };
  }
}

/** `retrolab hosts`: every host a run with the same --host/--jobs/config would use, and what it has. */
export async function hostsCommand(args: ParsedArgs, io: CommandIo): Promise<number> {
  const jobsText = args.string('jobs');
  const jobs = jobsText === undefined ? undefined : Number(jobsText);
  if (jobs !== undefined && (!Number.isInteger(jobs) || jobs < 1 || jobs > 64))
    throw new UsageError(`--jobs: ${quoteInput(jobsText ?? '')} is not a whole number from 1 to 64`, {
      name: args.command.name,
      usage: usageLines(args.command),
    });
  const config = await loadRetrolabConfig({ signal: io.signal });
  const addresses = chooseHosts({
    flags: args.strings('host'),
    jobs,
    config: config.hosts,
    configRoot: configLocation().root,
    env: process.env,
  });
  const reports: HostReport[] = [];
  for (const address of addresses) reports.push(await reportHost(address, io.signal));
  if (args.flag('json')) {
    io.stdout.write(`${JSON.stringify(reports, null, 2)}\n`);
  } else {
    for (const report of reports) {
      io.stdout.write(`${report.name}  ${report.url}\n`);
      const rows: [string, string][] = report.error
        ? [['unreachable', report.error]]
        : [
            ['engine', report.engine ?? '-'],
            ['cpus', String(report.cpus)],
            ['memory', `${report.memoryMb} MiB`],
            ['kvm', `${report.kvm?.usable ? 'usable' : 'not usable'}: ${report.kvm?.reason ?? '-'}`],
            ['images', report.images && report.images.length > 0 ? report.images.join(', ') : 'none (a run copies or builds them)'],
            ['slots', `${report.freeSlots} free of ${report.slots}`],
          ];
      io.stdout.write(`${formatRows(rows).join('\n')}\n\n`);
    }
  }
  return reports.some((report) => report.error !== undefined) ? EXIT.infrastructure : EXIT.ok;
}
