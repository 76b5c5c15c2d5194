import { join } from 'node:path';
import { connectDocker } from '../../docker/docker-client.ts';
import { ConfigError } from '../../errors.ts';
import { buildGuestApps } from '../../guest-apps/build.ts';
import { installImage } from '../../licensed/install-driver.ts';
import { parseDiskSizeMb, parseStageTimeoutMs } from '../../licensed/install-plan.ts';
import { checkLogon } from '../../licensed/guest-payload.ts';
import { imageEnvVariable, parseLicensedTarget, type LicensedTarget } from '../../licensed/licensed-config.ts';
import { loadLicensedOs } from '../../licensed/licensed-os.ts';
import { prepareImage } from '../../licensed/prepare-image.ts';
import { makeSetupMedia } from '../../licensed/setup-media.ts';
import { consoleProgress, type ProgressSink } from '../../report/progress.ts';
import { cacheDir } from '../../util/paths.ts';
import type { CommandIo } from '../command.ts';
import type { ParsedArgs } from '../parsed-args.ts';
import { quoteInput } from '../../util/quote-input.ts';

/** What every `image` subcommand reads the same way (the parser has checked names, choices and required flags). */
interface Common {
  target: LicensedTarget;
  maxConnections?: number;
  logon?: { user: string; password: string };
  onProgress: ProgressSink;
}

/** The options `image prepare` and `image install` hand on alike: where the prepared image goes and the guest settings. */
function preparedImageOptions(common: Common, args: ParsedArgs, io: CommandIo) {
  return {
    out: args.string('out'),
    force: args.flag('force'),
    maxConnections: common.maxConnections,
    logon: common.logon,
    signal: io.signal,
    onProgress: common.onProgress,
  };
}

/** How to point the lab at a prepared image. */
function useItLine(target: LicensedTarget, path: string): string {
  return `use it: export ${imageEnvVariable(target)}=${path}  (or images.${target} in retrolab.config.json)\n`;
}

async function commonOptions(args: ParsedArgs, io: CommandIo): Promise<Common> {
  const target = await parseLicensedTarget(args.string('target'), { signal: io.signal });
  const maxConnections = parseCount(args.string('max-connections'));
  const user = args.string('user');
  const password = args.string('password');
  if ((user === undefined) !== (password === undefined)) {
    throw new ConfigError(
      '--user and --password go together (the Windows NT account that logs on by itself; use --password "" for a blank one)',
    );
  }
  const logon = user !== undefined ? { user, password: password ?? '' } : undefined;
  checkLogon(logon);
  return {
    target,
    maxConnections,
    logon,
    onProgress: consoleProgress({ verbose: args.flag('verbose') }),
  };
}

async function buildAgent(common: Common, io: CommandIo): Promise<string> {
  const [agent] = await buildGuestApps({ only: ['agent'], signal: io.signal, onProgress: common.onProgress });
  if (!agent) throw new ConfigError('the guest build produced no agent');
  return agent.path;
}

/** `retrolab image prepare`: a prepared copy of the user's installed disk. */
export async function imagePrepareCommand(args: ParsedArgs, io: CommandIo): Promise<number> {
  const common = await commonOptions(args, io);
  const prepared = await prepareImage({
    target: common.target,
    image: args.string('image') ?? '',
    agentExe: await buildAgent(common, io),
    ...preparedImageOptions(common, args, io),
  });
  io.stdout.write(`${prepared.path}\n`);
  io.stderr.write(useItLine(common.target, prepared.path));
  return 0;
}

/** `retrolab image install`: Windows from the user's CD onto a new disk, unattended, then prepared. */
export async function imageInstallCommand(args: ParsedArgs, io: CommandIo): Promise<number> {
  const common = await commonOptions(args, io);
  // Checked before the agent build, which takes a while.
  const diskSizeMb = parseDiskSizeMb(args.string('disk-size-mb'), await loadLicensedOs(common.target, { signal: io.signal }));
  const stageTimeoutMs = parseStageTimeoutMs(args.string('timeout-minutes'));
  const agentExe = await buildAgent(common, io);
  await using docker = await connectDocker({ signal: io.signal });
  const result = await installImage({
    docker,
    target: common.target,
    iso: args.string('iso') ?? '',
    answers: { productKey: args.string('product-key') ?? '' },
    agentExe,
    diskSizeMb,
    stageTimeoutMs,
    bootFloppy: args.string('boot-floppy'),
    ...preparedImageOptions(common, args, io),
  });
  io.stdout.write(`${result.prepared.path}\n`);
  io.stderr.write(
    `installed disk (unprepared, for \`image prepare\` with other options): ${result.installedDisk}\n` +
      useItLine(common.target, result.prepared.path),
  );
  return 0;
}

/** `retrolab image setup-media`: a floppy and an ISO for a guest set up by hand. */
export async function imageSetupMediaCommand(args: ParsedArgs, io: CommandIo): Promise<number> {
  const common = await commonOptions(args, io);
  const media = await makeSetupMedia({
    target: common.target,
    agentExe: await buildAgent(common, io),
    outDir: args.string('out') ?? join(cacheDir(), 'setup-media'),
    // The cache's own folder is ours to refresh; the user's folder needs --force.
    force: !args.has('out') || args.flag('force'),
    maxConnections: common.maxConnections,
    logon: common.logon,
    signal: io.signal,
  });
  io.stdout.write(`${media.floppy}\n${media.iso}\n`);
  io.stderr.write(`files: ${media.files.join(', ')}; in the guest, change to the medium's drive and run SETUP\n`);
  return 0;
}

function parseCount(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new ConfigError(`--max-connections: ${quoteInput(value)} is not a whole number`);
  return Number(value);
}
