import { parseArgs } from 'node:util';
import { connectDocker } from '../../docker/docker-client.ts';
import { ConfigError } from '../../errors.ts';
import { buildGuestApps } from '../../guest-apps/build.ts';
import { installImage } from '../../licensed/install-driver.ts';
import { parseDiskSizeMb, parseStageTimeoutMs } from '../../licensed/install-plan.ts';
import { checkLogon } from '../../licensed/guest-payload.ts';
import { imageEnvVariable, parseLicensedTarget } from '../../licensed/licensed-config.ts';
import { loadLicensedOs } from '../../licensed/licensed-os.ts';
import { prepareImage } from '../../licensed/prepare-image.ts';
import { makeSetupMedia } from '../../licensed/setup-media.ts';
import { consoleProgress } from '../../report/progress.ts';
import { cacheDir } from '../../util/paths.ts';
import { join } from 'node:path';
import type { CommandIo } from '../command.ts';
import { quoteInput } from '../../util/quote-input.ts';

const USAGE = `usage:
  retrolab image prepare --target T --image PATH [--out PATH|DIR] [--force] [--max-connections N] [--user NAME --password PW]
      writes a prepared copy (qcow2) of your installed disk; the original and its backing files are only read;
      an existing --out is replaced only with --force (a folder gets <target>-prepared.qcow2)
  retrolab image setup-media --target T [--out DIR] [--force] [--max-connections N] [--user NAME --password PW]
      writes a floppy image and an ISO with the agent, SETUP.BAT and the .reg files
  retrolab image install --target T --iso PATH --product-key KEY [--boot-floppy PATH] [--out PATH] [--force]
                         [--disk-size-mb N] [--timeout-minutes N] [--max-connections N] [--user NAME --password PW]
      installs Windows unattended from your CD onto a new disk under QEMU (answer file on a floppy; 95/98/ME may need
      your boot floppy, NT 4 needs a DOS boot floppy: it runs winnt /b from C:\\I386), then prepares it;
      --timeout-minutes bounds each setup stage (default 60)
  T is a licensed target: a folder of vms/ whose spec.json says "licensed": true (retrolab doctor lists them)`;

/** Flags only `install` takes. */
const INSTALL_ONLY = ['iso', 'product-key', 'boot-floppy', 'disk-size-mb', 'timeout-minutes'] as const;

const OPTIONS = {
  target: { type: 'string' },
  image: { type: 'string' },
  iso: { type: 'string' },
  'product-key': { type: 'string' },
  'boot-floppy': { type: 'string' },
  'disk-size-mb': { type: 'string' },
  'timeout-minutes': { type: 'string' },
  out: { type: 'string' },
  'max-connections': { type: 'string' },
  user: { type: 'string' },
  password: { type: 'string' },
  force: { type: 'boolean' },
  verbose: { type: 'boolean' },
} as const;

export async function imageCommand(args: string[], io: CommandIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'prepare' && sub !== 'setup-media' && sub !== 'install') throw new ConfigError(`Unknown image subcommand ${quoteInput(sub ?? '')}\n${USAGE}`);
  let values;
  try {
    ({ values } = parseArgs({ args: rest, options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new ConfigError(`${(error as Error).message}\n${USAGE}`);
  }
  const target = await parseLicensedTarget(values.target, { signal: io.signal });
  const licensed = await loadLicensedOs(target, { signal: io.signal });
  const misplaced = sub === 'install' ? [] : INSTALL_ONLY.filter((flag) => values[flag] !== undefined);
  if (misplaced.length > 0) throw new ConfigError(`${misplaced.map((flag) => `--${flag}`).join(', ')}: only for \`image install\`\n${USAGE}`);
  const maxConnections = parseCount(values['max-connections']);
  if ((values.user === undefined) !== (values.password === undefined)) {
    throw new ConfigError('--user and --password go together (the Windows NT account that logs on by itself; use --password "" for a blank one)');
  }
  const logon = values.user !== undefined ? { user: values.user, password: values.password ?? '' } : undefined;
  checkLogon(logon);
  // Checked before the agent build, and again where used.
  if (sub === 'install') requiredInstallFlags(values, target);
  const diskSizeMb = parseDiskSizeMb(values['disk-size-mb'], licensed);
  const stageTimeoutMs = parseStageTimeoutMs(values['timeout-minutes']);
  const onProgress = consoleProgress({ verbose: values.verbose ?? false });
  const [agent] = await buildGuestApps({ only: ['agent'], signal: io.signal, onProgress });
  if (!agent) throw new ConfigError('the guest build produced no agent');
  switch (sub) {
    case 'prepare': {
      if (values.image === undefined) throw new ConfigError(`--image: required (your installed ${target} disk image)\n${USAGE}`);
      const prepared = await prepareImage({
        target,
        image: values.image,
        agentExe: agent.path,
        ...(values.out !== undefined ? { out: values.out } : {}),
        force: values.force ?? false,
        ...(maxConnections !== undefined ? { maxConnections } : {}),
        ...(logon ? { logon } : {}),
        signal: io.signal,
        onProgress,
      });
      io.stdout.write(`${prepared.path}\n`);
      io.stderr.write(`use it: export ${imageEnvVariable(target)}=${prepared.path}  (or images.${target} in retrolab.config.json)\n`);
      return 0;
    }
    case 'install': {
      const { iso, productKey } = requiredInstallFlags(values, target);
      await using docker = await connectDocker({ signal: io.signal });
      const result = await installImage({
        docker,
        target,
        iso,
        answers: { productKey },
        agentExe: agent.path,
        diskSizeMb,
        stageTimeoutMs,
        ...(values['boot-floppy'] !== undefined ? { bootFloppy: values['boot-floppy'] } : {}),
        ...(values.out !== undefined ? { out: values.out } : {}),
        force: values.force ?? false,
        ...(maxConnections !== undefined ? { maxConnections } : {}),
        ...(logon ? { logon } : {}),
        signal: io.signal,
        onProgress,
      });
      io.stdout.write(`${result.prepared.path}\n`);
      io.stderr.write(
        `installed disk (unprepared, for \`image prepare\` with other options): ${result.installedDisk}\n` +
          `use it: export ${imageEnvVariable(target)}=${result.prepared.path}  (or images.${target} in retrolab.config.json)\n`,
      );
      return 0;
    }
    case 'setup-media': {
      const media = await makeSetupMedia({
        target,
        agentExe: agent.path,
        outDir: values.out ?? join(cacheDir(), 'setup-media'),
        // The cache's own folder is ours to refresh; the user's folder needs --force.
        force: values.out === undefined || (values.force ?? false),
        ...(maxConnections !== undefined ? { maxConnections } : {}),
        ...(logon ? { logon } : {}),
        signal: io.signal,
      });
      io.stdout.write(`${media.floppy}\n${media.iso}\n`);
      io.stderr.write(`files: ${media.files.join(', ')}; in the guest, change to the medium's drive and run SETUP\n`);
      return 0;
    }
  }
}

function requiredInstallFlags(values: { iso?: string; 'product-key'?: string }, target: string): { iso: string; productKey: string } {
  if (values.iso === undefined) throw new ConfigError(`--iso: required (your ${target} install CD image)\n${USAGE}`);
  if (values['product-key'] === undefined) throw new ConfigError(`--product-key: required (the key of your ${target} licence)\n${USAGE}`);
  return { iso: values.iso, productKey: values['product-key'] };
}

function parseCount(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new ConfigError(`--max-connections: ${quoteInput(value)} is not a whole number`);
  return Number(value);
}
