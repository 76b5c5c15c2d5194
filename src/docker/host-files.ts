import type { Duplex } from 'node:stream';
import type { ProgressSink } from '../report/progress.ts';

/** A folder on the host, removed (with what is in it) on dispose. */
export interface HostDir extends AsyncDisposable {
  /** Its path as the host's engine sees it (for bind mounts). */
  readonly path: string;
}

export interface HostFileOptions {
  signal?: AbortSignal;
}

/**
 * The files a guest sees, on the machine of one Docker engine: where run
 * folders are made, where read-only inputs (the wine-vm disk, a licensed
 * image, the guest programs) are found, and how QEMU's and the agent's unix
 * sockets there are reached. Every path here is a path on that machine.
 *
 * Two kinds: `shared` (the engine sees this machine's paths: the same machine,
 * a network namespace, a shared mount), where every call is the local file
 * system and a local file is its own host path; and `copied` (an SSH host
 * that does not), where files go over SFTP into a cache folder on the host,
 * commands run over SSH, and sockets are reached through the SSH connection.
 */
export interface HostFiles {
  readonly kind: 'shared' | 'copied';
  /** The host's name, for messages. */
  readonly hostName: string;
  /** retrolab's cache folder on the host: saved VM states, run folders, copied inputs. */
  readonly cacheDir: string;
  /**
   * A fresh folder under `cacheDir/runs` that `owner` (the containers'
   * uid:gid) may write; disposing it removes it. Ctrl-C disposes it like any
   * other resource of the run.
   */
  makeRunDir(prefix: string, owner: string, options?: HostFileOptions): Promise<HostDir>;
  /** mkdir -p; with `owner`, handed to the containers' user. */
  mkdir(path: string, options?: HostFileOptions & { owner?: string }): Promise<void>;
  /** A small file's text, or undefined when it does not exist. */
  readText(path: string, options?: HostFileOptions): Promise<string | undefined>;
  writeText(path: string, text: string, options?: HostFileOptions): Promise<void>;
  exists(path: string, options?: HostFileOptions): Promise<boolean>;
  /** Copies a file on the host; with `owner`, the copy is handed to the containers' user. */
  copy(from: string, to: string, options?: HostFileOptions & { owner?: string }): Promise<void>;
  /** Moves a file or folder on the host, replacing `to` (across file systems too). */
  move(from: string, to: string, options?: HostFileOptions): Promise<void>;
  /** rm -rf. */
  remove(path: string, options?: HostFileOptions): Promise<void>;
  /** Copies a file of the host (an artifact: a screendump, a console log) to this machine. */
  fetch(path: string, localPath: string, options?: HostFileOptions): Promise<void>;
  /** Connects to a unix socket on the host; rejects while nothing listens there. */
  connect(socketPath: string, options?: HostFileOptions): Promise<Duplex>;
  /**
   * A local file (large: a guest disk, a licensed image) as the host sees
   * it: the file itself when shared; otherwise a copy in the host's cache,
   * keyed and verified by its sha256, made once and reused. The local file is
   * only read.
   */
  provideFile(localPath: string, options?: HostFileOptions & { onProgress?: ProgressSink }): Promise<string>;
  /** A local folder of small files (guest programs, a target's scripts) as the host sees it, the same way. */
  provideDir(localDir: string, options?: HostFileOptions): Promise<string>;
}
