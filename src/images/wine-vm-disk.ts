import { createHash, randomBytes } from 'node:crypto';
import { access, chown, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join, posix, resolve } from 'node:path';
import { connectDocker, type DockerClient } from '../docker/docker-client.ts';
import { LABEL } from '../docker/labels.ts';
import { PrerequisiteError, RetrolabError, errorMessage } from '../errors.ts';
import { buildGuestApps } from '../guest-apps/build.ts';
import { silentProgress, type ProgressSink } from '../report/progress.ts';
import { trackProgress, type TrackedProgress } from '../report/progress-tracker.ts';
import { HostCommandError, runHostCommand, type HostCommandOptions, type HostCommandResult } from '../util/host-command.ts';
import { PROJECT_ROOT, cacheDir as projectCacheDir } from '../util/paths.ts';
import { ensureBaseImage } from './base-image.ts';
import { hashDirectory, hashInputs } from './input-hash.ts';
import { QEMU_BINARY, QEMU_OVERHEAD_MB, kernelBootArguments } from '../qemu/command-line.ts';
import { RUN_DIR_IN_CONTAINER, containerUser, prepareWritableDirectory } from '../qemu/run-directory.ts';
import { RUNNER_IMAGES } from '../docker/image-names.ts';
import { trackPath } from '../util/owner-ledger.ts';

const contextDir = join(PROJECT_ROOT, 'docker/wine-vm-root');
const scope = 'wine-vm';

/**
 * How the host turns the exported root into a disk. Part of the cache key, so
 * a change here rebuilds the disk. No journal: every run writes to a
 * throwaway overlay, so crash safety buys nothing and the journal costs space
 * and writes.
 */
const DISK_RECIPE = {
  filesystem: 'ext4',
  mkfsOptions: ['-q', '-F', '-L', 'retrolab-root', '-m', '0', '-O', '^has_journal', '-b', '4096'],
  // wineboot fills system32 with ~190 MB of copies before they are hardlinked.
  freeMiB: 512,
  alignMiB: 64,
  format: 'qcow2',
  provision: { cpu: 'pentium3', memoryMb: 512, append: 'console=ttyS1 panic=-1 no_timer_check retrolab.provision' },
} as const;

/** The provisioning boot runs wineboot under TCG: a minute or two, more on a loaded host. */
const PROVISION_TIMEOUT_MS = 15 * 60_000;

/**
 * Kernel command line the guest expects. The kernel's console goes to ttyS1
 * (give QEMU a second serial port, e.g. a log file) because the agent owns
 * ttyS0. The initramfs finds the root disk itself (/dev/vda, then /dev/sda),
 * so the disk bus is the spec's choice; `root=/dev/X` overrides the search.
 *
 * `no_timer_check`: at boot the kernel checks that the IO-APIC timer ticks
 * within a busy-wait calibrated a moment before; under TCG on a loaded host
 * the vCPU is descheduled long enough for the check to fail, and the boot
 * panicked with "IO-APIC + timer doesn't work!" (seen on a cold boot while
 * other engineers' QEMU guests and Wine scenarios used both cores). QEMU's
 * emulated PIT and IO-APIC are known good, so the check only costs boots.
 */
export const WINE_VM_KERNEL_APPEND = 'console=ttyS1 panic=-1 no_timer_check';

export interface WineVmGuest {
  /** Debian's 686 kernel. */
  kernel: string;
  /** busybox initramfs: disk and NIC drivers, mounts the root, starts /sbin/retrolab-init. */
  initrd: string;
  /** Golden root disk (qcow2, ext4 inside). Open it read-only; runs write to overlays. */
  disk: string;
  /** Cache key: hash of every build input. */
  hash: string;
  kernelAppend: string;
  /** Where the agent sits inside the guest (the init runs it under Wine on boot). */
  agentPathInGuest: string;
}

export interface EnsureWineVmGuestOptions {
  signal?: AbortSignal;
  onProgress?: ProgressSink;
  /** The Win32 program the guest runs on COM1; by default the agent buildGuestApps builds (or reuses) with the chosen toolchain. */
  agentExe?: string;
  /** Default `wine-vm` in the project's cache folder (`.cache`, or RETROLAB_CACHE). */
  cacheDir?: string;
  /** Reuse a client; otherwise one is connected for this call. */
  docker?: DockerClient;
}

interface Manifest {
  hash: string;
  rootImage: string;
  kernelVersion: string;
  agentSha256: string;
  diskVirtualMiB: number;
  files: { kernel: string; initrd: string; disk: string };
  builtAt: string;
  buildMs: number;
}

const AGENT_IN_GUEST = '/opt/retrolab/agent.exe';

async function defaultAgentExe(signal: AbortSignal | undefined): Promise<string> {
  const [agent] = await buildGuestApps({ only: ['agent'], signal });
  if (!agent) throw new Error('buildGuestApps returned no agent');
  return agent.path;
}
const ROOT_IMAGE_REPO = 'retrolab/wine-vm-root';

/**
 * Returns the wine-vm guest's kernel, initramfs and golden disk, building
 * them first when no cached build matches the inputs (the build context in
 * docker/wine-vm-root, the base and Wine runner images, the agent's bytes and
 * the disk recipe). With unchanged inputs it only hashes and returns.
 */
export async function ensureWineVmGuest(options: EnsureWineVmGuestOptions = {}): Promise<WineVmGuest> {
  const { signal } = options;
  const sink = options.onProgress ?? silentProgress;
  const agentExe = resolve(options.agentExe ?? (await defaultAgentExe(signal)));
  const cacheDir = resolve(options.cacheDir ?? join(projectCacheDir(), 'wine-vm'));

  const agent = await readFile(agentExe).catch((error: unknown) => {
    throw new PrerequisiteError(`The wine-vm guest needs the agent at ${agentExe}, which cannot be read`, 'run `npm run build:guest`', {
      cause: error,
      context: { agentExe },
    });
  });

  // The base image is tagged with the hash of its own inputs, so its ref
  // stands for its contents in this build's hash.
  const docker = options.docker ?? (await connectDocker({ signal }));
  const baseImage = await ensureBaseImage(docker, 'i386', { signal, onProgress: sink });

  const rootHash = hashInputs({ context: await hashDirectory(contextDir), baseImage });
  const agentSha256 = sha256(agent);
  const hash = hashInputs({ rootHash, agentSha256, recipe: DISK_RECIPE });
  const dir = join(cacheDir, hash);

  const cached = await readManifest(dir);
  if (cached) {
    sink({ kind: 'step', scope, message: `guest ${hash} is cached in ${dir}` });
    return guestFrom(dir, cached);
  }

  const started = Date.now();
  sink({ kind: 'step', scope, message: `building guest ${hash} (cold build: several minutes)` });
  using progressed = trackProgress(sink, { scope, what: 'building the guest disk' });
  progressed.set({ detail: 'the root filesystem image' });
  const rootImage = `${ROOT_IMAGE_REPO}:${rootHash}`;
  if (!(await docker.imageExists(rootImage, { signal }))) {
    await docker.buildImage({
      contextDir,
      tags: [rootImage],
      buildArgs: { BASE_IMAGE: baseImage },
      labels: { [LABEL.inputHash]: rootHash },
      onProgress: sink,
      signal,
    });
  }

  await mkdir(cacheDir, { recursive: true });
  const work = join(cacheDir, `${hash}.partial-${process.pid}-${randomBytes(3).toString('hex')}`);
  const untrack = trackPath(work);
  try {
    const manifest = await buildDisk({ docker, rootImage, work, agent, agentSha256, hash, signal, sink, progressed });
    manifest.buildMs = Date.now() - started;
    await writeFile(join(work, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    await publish(work, dir);
    sink({ kind: 'done', scope, message: `guest ${hash} built in ${dir}`, durationMs: Date.now() - started });
    return guestFrom(dir, (await readManifest(dir)) ?? manifest);
  } finally {
    await rm(work, { recursive: true, force: true });
    untrack();
  }
}

async function buildDisk(args: {
  docker: DockerClient;
  rootImage: string;
  work: string;
  agent: Buffer;
  agentSha256: string;
  hash: string;
  signal: AbortSignal | undefined;
  sink: ProgressSink;
  progressed: TrackedProgress;
}): Promise<Manifest> {
  const { docker, rootImage, work, signal, sink, progressed } = args;
  const rootfs = join(work, 'rootfs');
  await mkdir(rootfs, { recursive: true });
  const call = { signal };

  sink({ kind: 'step', scope, message: `exporting ${rootImage}` });
  progressed.set({ detail: `exporting ${rootImage}` });
  const tar = await docker.exportImageFilesystem(rootImage, { signal });
  await run('tar', ['-x', '--numeric-owner', '-p', '-C', rootfs], 'tar -x (the exported root filesystem)', { ...call, input: tar });

  const boot = join(rootfs, 'boot/retrolab');
  const kernel = join(work, 'vmlinuz');
  const initrd = join(work, 'initrd.img');
  await rename(join(boot, 'vmlinuz'), kernel);
  await rename(join(boot, 'initrd.img'), initrd);
  const kernelVersion = (await readFile(join(boot, 'kernel-version'), 'utf8')).trim();
  await rm(boot, { recursive: true });
  await writeFile(join(rootfs, AGENT_IN_GUEST.slice(1)), args.agent, { mode: 0o755 });

  const usedMiB = Number((await run('du', ['-s', '-x', '--block-size=1M', rootfs], 'du', call)).stdout.split('\t')[0]);
  const diskMiB = Math.ceil((usedMiB * 1.1 + DISK_RECIPE.freeMiB) / DISK_RECIPE.alignMiB) * DISK_RECIPE.alignMiB;
  const raw = join(work, 'root.ext4');
  sink({ kind: 'step', scope, message: `writing ${usedMiB} MiB into a ${diskMiB} MiB ext4 disk` });
  progressed.set({ detail: `mkfs.ext4: ${usedMiB} MiB into ${diskMiB} MiB` });
  await run('mkfs.ext4', [...DISK_RECIPE.mkfsOptions, '-d', rootfs, raw, `${diskMiB}M`], 'mkfs.ext4 -d', call);
  await rm(rootfs, { recursive: true });
  await provision({ docker, kernel, initrd, raw, work, signal, sink, progressed });
  progressed.set({ detail: 'qemu-img convert to qcow2' });

  const disk = join(work, 'root.qcow2');
  await run('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, disk], 'qemu-img convert', call);
  await rm(raw);

  return {
    hash: args.hash,
    rootImage,
    kernelVersion,
    agentSha256: args.agentSha256,
    diskVirtualMiB: diskMiB,
    files: { kernel: 'vmlinuz', initrd: 'initrd.img', disk: 'root.qcow2' },
    builtAt: new Date().toISOString(),
    buildMs: 0,
  };
}

/**
 * Boots the new disk once with `retrolab.provision`: the guest makes its Wine
 * prefix natively (guest-provision.sh) and powers off. QEMU runs in the
 * qemu-runner container like every other boot (no root QEMU on the host; the
 * reaper and the sweep know the container), with the work folder mounted.
 */
async function provision(args: {
  docker: DockerClient;
  kernel: string;
  initrd: string;
  raw: string;
  work: string;
  signal: AbortSignal | undefined;
  sink: ProgressSink;
  progressed: TrackedProgress;
}): Promise<void> {
  const { provision: vm } = DISK_RECIPE;
  const log = join(args.work, 'provision.log');
  const started = Date.now();
  args.sink({ kind: 'step', scope, message: 'booting the disk once under TCG (qemu-runner container) to make the Wine prefix' });
  const signal = AbortSignal.any([AbortSignal.timeout(PROVISION_TIMEOUT_MS), ...(args.signal ? [args.signal] : [])]);
  await prepareWritableDirectory(args.work);
  await writeFile(log, '');
  const user = containerUser();
  if ((process.getuid?.() ?? 0) === 0) {
    const [uid, gid] = user.split(':').map(Number) as [number, number];
    for (const file of [args.raw, log]) await chown(file, uid, gid);
  }
  const inContainer = (path: string) => posix.join(RUN_DIR_IN_CONTAINER, basename(path));
  const qemuArgs = kernelBootArguments({
    cpu: vm.cpu,
    memoryMb: vm.memoryMb,
    kernel: inContainer(args.kernel),
    initrd: inContainer(args.initrd),
    append: vm.append,
    rawDisk: inContainer(args.raw),
    consoleLog: inContainer(log),
  });
  let result;
  // The guest's console log is the only sign of life of a boot that takes minutes: its latest line is shown.
  args.progressed.set({ detail: 'provisioning boot' });
  const showConsole = setInterval(() => {
    void lastLogLine(log).then((line) => args.progressed.set({ detail: `provisioning boot: ${line ?? '(no console output yet)'}` }));
  }, 2_000);
  try {
    result = await args.docker.run(
      {
        image: RUNNER_IMAGES.qemu,
        entrypoint: [QEMU_BINARY],
        cmd: qemuArgs,
        binds: [{ hostPath: args.work, containerPath: RUN_DIR_IN_CONTAINER }],
        user,
        network: 'none',
        hardening: 'strict',
        init: true,
        memoryMb: vm.memoryMb + QEMU_OVERHEAD_MB,
        cpus: 1.25,
      },
      { signal },
    );
  } catch (error) {
    clearInterval(showConsole);
    throw new RetrolabError(`the wine-vm provisioning boot failed: ${errorMessage(error)}\n${await logTail(log)}`, {
      cause: error,
      context: { log },
    });
  }
  clearInterval(showConsole);
  if (result.exitCode !== 0) {
    throw new RetrolabError(
      `the wine-vm provisioning boot's QEMU exited with status ${result.exitCode}: ${result.stderr.trim().slice(-500)}\n${await logTail(log)}`,
      {
        context: { log },
      },
    );
  }
  const text = await readFile(log, 'utf8');
  if (!text.includes('provision: prefix ready')) {
    throw new RetrolabError(`The wine-vm provisioning boot did not make the Wine prefix; its console log ends:\n${await logTail(log)}`, {
      context: { log },
    });
  }
  args.sink({ kind: 'done', scope, message: 'Wine prefix made in the guest', durationMs: Date.now() - started });
}

async function lastLogLine(log: string): Promise<string | undefined> {
  const text = await readFile(log, 'utf8').catch(() => '');
  return text
    .split('\n')
    .map((line) => line.replace(/\p{Cc}/gu, '').trim())
    .filter(Boolean)
    .at(-1)
    ?.slice(0, 200);
}

async function logTail(log: string): Promise<string> {
  const text = await readFile(log, 'utf8').catch(() => '(no console log)');
  return text
    .split('\n')
    .slice(-25)
    .map((line) => `  | ${line}`)
    .join('\n');
}

/** Moves a finished build into place; a concurrent build of the same hash may have won the race. */
async function publish(work: string, dir: string): Promise<void> {
  try {
    await rename(work, dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if ((code === 'EEXIST' || code === 'ENOTEMPTY') && (await readManifest(dir))) return;
    throw error;
  }
}

async function run(command: string, args: readonly string[], what: string, options: HostCommandOptions): Promise<HostCommandResult> {
  try {
    return await runHostCommand(command, args, options);
  } catch (error) {
    if (error instanceof HostCommandError && error.missing) {
      throw new PrerequisiteError(`Building the wine-vm disk needs ${command} on this host`, 'run `bash scripts/host-setup.sh` as root', {
        cause: error,
      });
    }
    throw new RetrolabError(`Building the wine-vm disk failed at ${what}: ${errorMessage(error)}`, {
      cause: error,
      context: { step: what },
    });
  }
}

async function readManifest(dir: string): Promise<Manifest | undefined> {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  } catch {
    return undefined;
  }
  for (const file of Object.values(manifest.files)) {
    try {
      await access(join(dir, file));
    } catch {
      return undefined;
    }
  }
  return manifest;
}

function guestFrom(dir: string, manifest: Manifest): WineVmGuest {
  return {
    kernel: join(dir, manifest.files.kernel),
    initrd: join(dir, manifest.files.initrd),
    disk: join(dir, manifest.files.disk),
    hash: manifest.hash,
    kernelAppend: WINE_VM_KERNEL_APPEND,
    agentPathInGuest: AGENT_IN_GUEST,
  };
}

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Sizes of a built guest's files in bytes (the disk: allocated bytes of the qcow2). */
export async function wineVmGuestSizes(guest: WineVmGuest): Promise<{ kernel: number; initrd: number; disk: number }> {
  const [kernel, initrd, disk] = await Promise.all([stat(guest.kernel), stat(guest.initrd), stat(guest.disk)]);
  return { kernel: kernel.size, initrd: initrd.size, disk: disk.size };
}
