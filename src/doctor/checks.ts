import { access, readFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import { probeHostCommand } from '../util/host-command.ts';
import { connectDocker, type DockerClient } from '../docker/docker-client.ts';
import { RUNNER_IMAGES } from '../docker/image-names.ts';
import { errorMessage, PrerequisiteError } from '../errors.ts';
import { listLicensedTargets } from '../config/target-list.ts';
import { locateOpenWatcom, OPEN_WATCOM_FIX } from '../guest-apps/open-watcom.ts';
import { detectToolchain, TOOLCHAIN_ENV } from '../guest-apps/toolchain.ts';
import { licensedReadiness } from '../licensed/readiness.ts';

import { CHECK_STATUSES, type CheckStatus } from './check-status.ts';

export type { CheckStatus };

export interface CheckResult {
  name: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
  /** A missing required check makes `doctor` exit non-zero. */
  required: boolean;
}

export function imageEnvVar(target: string): string {
  return `RETROLAB_IMAGE_${target.toUpperCase()}`;
}

async function which(cmd: string): Promise<string | undefined> {
  const result = await probeHostCommand('sh', ['-c', 'command -v "$1"', 'sh', cmd]);
  return result.exitCode === 0 ? result.stdout.trim() : undefined;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}

async function checkEngine(signal?: AbortSignal): Promise<{ result: CheckResult; docker?: DockerClient }> {
  try {
    const docker = await connectDocker({ signal });
    const info = await docker.info();
    return {
      result: {
        name: 'Docker engine',
        status: 'ok',
        detail: `${info.serverVersion} (API ${info.apiVersion}) at ${info.endpoint}`,
        required: true,
      },
      docker,
    };
  } catch (error) {
    return {
      result: {
        name: 'Docker engine',
        status: 'missing',
        detail: errorMessage(error).split('\n')[0] ?? '',
        fix: 'run `bash scripts/host-setup.sh` as root (starts dockerd), or set DOCKER_HOST',
        required: true,
      },
    };
  }
}

async function checkImage(docker: DockerClient | undefined, ref: string): Promise<CheckResult> {
  const name = `image ${ref}`;
  if (!docker) return { name, status: 'missing', detail: 'no engine to ask', fix: 'start the engine first', required: true };
  if (await docker.imageExists(ref)) {
    const mb = Math.round((await docker.imageSize(ref)) / 1e6);
    return { name, status: 'ok', detail: `${mb} MB`, required: true };
  }
  return { name, status: 'missing', detail: 'not built', fix: 'npm run setup', required: true };
}

async function checkQemu(docker: DockerClient | undefined): Promise<CheckResult> {
  const name = 'QEMU (in qemu-runner)';
  if (!docker || !(await docker.imageExists(RUNNER_IMAGES.qemu))) {
    return { name, status: 'missing', detail: 'the qemu-runner image is not built', fix: 'npm run setup', required: true };
  }
  const run = await docker.run({ image: RUNNER_IMAGES.qemu, cmd: ['/usr/libexec/qemu-system-i386', '--version'] });
  const version = /version (\S+)/.exec(run.stdout)?.[1];
  return version
    ? { name, status: 'ok', detail: `qemu-system-i386 ${version}`, required: true }
    : {
        name,
        status: 'missing',
        detail: `qemu-system-i386 --version said: ${run.stdout || run.stderr}`,
        fix: 'npm run setup',
        required: true,
      };
}

/**
 * /dev/kvm may exist and still be unable to run an unmodified guest: these
 * hosts expose a paravirtual KVM (kvm_pvm) without vmx/svm. Report what the
 * host really has; the VM layer proves KVM with a test boot before using it.
 */
async function checkKvm(): Promise<CheckResult> {
  const name = 'KVM';
  if (!(await exists('/dev/kvm'))) {
    return { name, status: 'warning', detail: 'no /dev/kvm: guests run under TCG (the default for Win9x anyway)', required: false };
  }
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  const hasVirtExtensions = /^flags\s*:.*\b(vmx|svm)\b/m.test(cpuinfo);
  const paravirtual = await exists('/sys/module/kvm_pvm');
  if (paravirtual || !hasVirtExtensions) {
    return {
      name,
      status: 'warning',
      detail: `/dev/kvm is ${paravirtual ? 'paravirtual (kvm_pvm)' : 'present but the CPU shows no vmx/svm'}: it cannot run unmodified guests; TCG is used`,
      required: false,
    };
  }
  return {
    name,
    status: 'ok',
    detail: '/dev/kvm with hardware virtualisation (used only where a target allows it, after a test boot)',
    required: false,
  };
}

/** Open Watcom is optional (mingw-w64 builds the same programs), but when it is missing doctor says so and how to add it. */
async function checkOpenWatcom(signal?: AbortSignal): Promise<CheckResult> {
  const name = 'Open Watcom';
  try {
    const install = await locateOpenWatcom({ signal });
    if (!install)
      return {
        name,
        status: 'warning',
        detail: 'missing: the guest programs build with mingw-w64 instead',
        fix: OPEN_WATCOM_FIX,
        required: false,
      };
    const origin = install.tarball ? `${install.from}: ${install.tarball}, sha256 ${install.sha256?.slice(0, 12)}…` : 'WATCOM';
    return { name, status: 'ok', detail: `${install.root} (from ${origin})`, required: false };
  } catch (error) {
    // The user named an Open Watcom that cannot be used: builds fail until that is fixed.
    const fix = error instanceof PrerequisiteError ? error.fix : OPEN_WATCOM_FIX;
    return { name, status: 'missing', detail: (errorMessage(error).split('\n')[0] ?? '').trim(), fix, required: true };
  }
}

/** The compiler the next build will use (RETROLAB_TOOLCHAIN, else Open Watcom when found, else mingw-w64). */
async function checkToolchain(signal?: AbortSignal): Promise<CheckResult> {
  const name = 'guest toolchain';
  try {
    const toolchain = await detectToolchain({ signal });
    const how = process.env[TOOLCHAIN_ENV]
      ? `${TOOLCHAIN_ENV}=${process.env[TOOLCHAIN_ENV]}`
      : toolchain.kind === 'watcom'
        ? 'the default when Open Watcom is found'
        : 'no Open Watcom found';
    return { name, status: 'ok', detail: `${toolchain.kind} (${how}): ${toolchain.identity}`, required: true };
  } catch (error) {
    const fix = error instanceof PrerequisiteError ? error.fix : 'npm run setup';
    return { name, status: 'missing', detail: (errorMessage(error).split('\n')[0] ?? '').trim(), fix, required: true };
  }
}

async function checkTool(cmd: string, pkg: string, why: string): Promise<CheckResult> {
  const path = await which(cmd);
  return path
    ? { name: cmd, status: 'ok', detail: `${path} (${why})`, required: true }
    : {
        name: cmd,
        status: 'missing',
        detail: `not found (${why})`,
        fix: `apt-get install ${pkg} (or npm run setup as root)`,
        required: true,
      };
}

async function checkLicensed(target: string): Promise<CheckResult> {
  const name = `target ${target}`;
  const readiness = await licensedReadiness(target).catch((error: unknown) => ({
    state: 'not prepared' as const,
    reason: errorMessage(error),
    fix: 'fix retrolab.config.json',
    image: '',
    from: '',
  }));
  if (readiness.state === 'ready') {
    const limit = readiness.marker.maxConnections === null ? '' : `, MaxConnections ${readiness.marker.maxConnections}`;
    return { name, status: 'ok', detail: `${readiness.image} (from ${readiness.from}${limit})`, required: false };
  }
  // The status column already says "not configured" / "not prepared"; the detail says why, once.
  return { name, status: readiness.state, detail: withoutPrefix(readiness.reason, readiness.state), fix: readiness.fix, required: false };
}

function withoutPrefix(text: string, prefix: string): string {
  let rest = text.trim();
  while (rest.toLowerCase().startsWith(prefix)) rest = rest.slice(prefix.length).replace(/^[\s:;,-]+/, '');
  return rest || text;
}

export async function runChecks(options: { signal?: AbortSignal } = {}): Promise<CheckResult[]> {
  const { result: engine, docker } = await checkEngine(options.signal);
  try {
    return [
      engine,
      await checkImage(docker, RUNNER_IMAGES.qemu),
      await checkImage(docker, RUNNER_IMAGES.wine),
      await checkQemu(docker),
      await checkKvm(),
      await checkOpenWatcom(options.signal),
      await checkToolchain(options.signal),
      // Not required on its own: 'guest toolchain' fails when neither compiler is there.
      {
        ...(await checkTool(
          'i686-w64-mingw32-gcc',
          'gcc-mingw-w64-i686',
          'builds the guest programs with --toolchain mingw, or when Open Watcom is missing',
        )),
        required: false,
      },
      await checkTool('mcopy', 'mtools', 'prepares FAT images of licensed targets'),
      await checkTool('mkfs.fat', 'dosfstools', 'makes setup floppies'),
      await checkTool('debootstrap', 'debootstrap', 'base images without a registry'),
      await checkTool('mkfs.ext4', 'e2fsprogs', 'builds the wine-vm root disk'),
      await checkTool('xorriso', 'xorriso', 'makes setup ISOs'),
      // One row per licensed target of vms/ (their specs say "licensed": true).
      ...(await Promise.all((await listLicensedTargets({ signal: options.signal })).map(checkLicensed))),
    ];
  } finally {
    await docker?.[Symbol.asyncDispose]();
  }
}

export function renderChecks(results: CheckResult[]): string {
  const rows = results.map(
    (r) => [r.name, r.status, r.required ? 'required' : 'optional', r.fix ? `${r.detail}\n  fix: ${r.fix}` : r.detail] as const,
  );
  const w0 = Math.max(5, ...rows.map((r) => r[0].length));
  const w1 = Math.max(6, ...rows.map((r) => r[1].length));
  const w2 = 'required'.length;
  const lines = [
    `${'check'.padEnd(w0)}  ${'status'.padEnd(w1)}  ${'need'.padEnd(w2)}  detail`,
    `${'-'.repeat(w0)}  ${'-'.repeat(w1)}  ${'-'.repeat(w2)}  ${'-'.repeat(40)}`,
  ];
  for (const [name, status, need, detail] of rows) {
    const [first, ...more] = detail.split('\n');
    lines.push(`${name.padEnd(w0)}  ${status.padEnd(w1)}  ${need.padEnd(w2)}  ${first}`);
    for (const line of more) lines.push(`${''.padEnd(w0)}  ${''.padEnd(w1)}  ${''.padEnd(w2)}  ${line}`);
  }
  return `${lines.join('\n')}\n`;
}

/** One line under the table: the count per status, then whether the lab can run. */
export function summarizeChecks(results: readonly CheckResult[]): string {
  const counts = CHECK_STATUSES.map(({ status }) => [status, results.filter((r) => r.status === status).length] as const).filter(
    ([, n]) => n > 0,
  );
  const blocking = results.filter((r) => r.required && r.status !== 'ok');
  const tally = counts.map(([status, n]) => `${n} ${status}`).join(', ');
  return blocking.length === 0
    ? `doctor: ${tally}; every required check is ok`
    : `doctor: ${tally}; ${blocking.length} required check(s) not ok: ${blocking.map((r) => r.name).join(', ')}`;
}
