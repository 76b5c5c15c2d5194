import type { ContainerCreateOptions } from 'dockerode';
import { availableParallelism } from 'node:os';
import { ConfigError } from '../errors.ts';

export interface BindMount {
  hostPath: string;
  containerPath: string;
  readOnly?: boolean;
  /** Fail when hostPath does not exist on the engine's machine, instead of letting the engine make an empty folder there. */
  mustExist?: boolean;
}

/**
 * What to run. `hardening` defaults to `strict`, the profile measured to work
 * for QEMU on these hosts: no capabilities, no new privileges, read-only root,
 * a pids limit, a non-root user and no network. `standard` keeps all of that
 * but a writable root (Wine writes its prefix).
 */
export interface ContainerSpec {
  image: string;
  cmd: string[];
  entrypoint?: string[];
  env?: Record<string, string>;
  binds?: BindMount[];
  tmpfs?: Record<string, string>;
  user?: string;
  workdir?: string;
  hardening?: 'strict' | 'standard';
  network?: 'none' | 'bridge';
  init?: boolean;
  devices?: string[];
  memoryMb?: number;
  /** CPUs the container may use (fractions allowed); default: half the host's, at least one. */
  cpus?: number;
  pidsLimit?: number;
  stdin?: Buffer;
  name?: string;
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export const NOBODY = '65534:65534';

export function defaultCpus(): number {
  return Math.max(1, Math.floor(availableParallelism() / 2));
}

export function toCreateOptions(spec: ContainerSpec, labels: Record<string, string>): ContainerCreateOptions {
  for (const bind of spec.binds ?? []) {
    if (!bind.hostPath.startsWith('/')) {
      throw new ConfigError(`Bind mount host path must be absolute: ${bind.hostPath}`, { context: { bind } });
    }
  }
  const hardening = spec.hardening ?? 'strict';
  return {
    Image: spec.image,
    Cmd: spec.cmd,
    ...(spec.entrypoint ? { Entrypoint: spec.entrypoint } : {}),
    Env: Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v}`),
    Labels: labels,
    User: spec.user ?? NOBODY,
    ...(spec.workdir ? { WorkingDir: spec.workdir } : {}),
    ...(spec.name ? { name: spec.name } : {}),
    OpenStdin: spec.stdin !== undefined,
    StdinOnce: spec.stdin !== undefined,
    AttachStdin: spec.stdin !== undefined,
    AttachStdout: true,
    AttachStderr: true,
    HostConfig: {
      Binds: (spec.binds ?? []).filter((b) => !b.mustExist).map((b) => `${b.hostPath}:${b.containerPath}:${b.readOnly ? 'ro' : 'rw'}`),
      Mounts: (spec.binds ?? [])
        .filter((b) => b.mustExist)
        .map((b) => ({ Type: 'bind' as const, Source: b.hostPath, Target: b.containerPath, ReadOnly: b.readOnly ?? false })),
      Tmpfs: spec.tmpfs ?? (hardening === 'strict' ? { '/tmp': 'rw,nosuid,nodev,size=64m' } : {}),
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      ReadonlyRootfs: hardening === 'strict',
      PidsLimit: spec.pidsLimit ?? 256,
      Memory: (spec.memoryMb ?? 1024) * 1024 * 1024,
      // A runaway guest (Win9x never idles a CPU) must not starve the host and the other slots.
      NanoCpus: Math.round((spec.cpus ?? defaultCpus()) * 1e9),
      NetworkMode: spec.network ?? 'none',
      Init: spec.init ?? false,
      Devices: (spec.devices ?? []).map((d) => ({ PathOnHost: d, PathInContainer: d, CgroupPermissions: 'rwm' })),
    },
  };
}
