import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, join, posix, relative } from 'node:path';
import type { Duplex } from 'node:stream';
import createDebug from 'debug';
import type { SFTPWrapper, TransferOptions } from 'ssh2';
import { RetrolabError } from '../errors.ts';
import { trackProgress } from '../report/progress-tracker.ts';
import { silentProgress, type ProgressSink } from '../report/progress.ts';
import { processAlive } from '../util/owner-ledger.ts';
import type { HostDir, HostFileOptions, HostFiles } from './host-files.ts';
import type { SshSession } from './ssh-session.ts';

const debug = createDebug('retrolab:host-files');

/** A file operation on an SSH host failed; names the host, what was done, and the host's own words. */
export class HostFilesError extends RetrolabError {
  constructor(
    readonly host: string,
    readonly operation: string,
    detail: string,
    fix: string,
    cause?: unknown,
  ) {
    super(`${host}: ${operation} failed: ${detail}\n  fix: ${fix}`, { cause, context: { host, operation } });
  }
}

/** A copy that arrived with other bytes than were sent. */
export class ChecksumMismatchError extends HostFilesError {
  constructor(host: string, readonly localPath: string, readonly expected: string, readonly actual: string) {
    super(
      host,
      `copying ${localPath}`,
      `the host computed sha256 ${actual.slice(0, 16)}… for the copy, this machine ${expected.slice(0, 16)}… for the original (the partial copy was removed)`,
      'run again; if it repeats, check the host’s disk (df, dmesg) and that nothing else writes to its cache folder',
    );
  }
}

/** sh -c quoting: the whole value in single quotes. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** ssh2's SFTP status code for a missing file. */
const NO_SUCH_FILE = 2;
/** Parallel SFTP requests of one upload: measured ~4× faster than ssh2's default of 64×32 KiB over a veth pair. */
const TRANSFER: TransferOptions = { concurrency: 64, chunkSize: 256 * 1024 };

/**
 * ~/.cache/retrolab of the SSH user; for root, /var/cache/retrolab. Inputs
 * are bind-mounted at their host path (a qcow2 overlay names its backing file
 * by absolute path), and in a runner image /root is root's alone (0700), so
 * the containers' unprivileged user could not reach a disk below it.
 */
export function defaultCacheDir(home: string, root: boolean): string {
  return root ? '/var/cache/retrolab' : posix.join(home, '.cache', 'retrolab');
}

/**
 * Run folders on a host are named for their owner (`qemu-<this machine>-<pid>-XXXXXX`),
 * so the next run from this machine removes those of a process that died
 * (SIGKILL, a power cut) instead of leaving them on the host for good. The
 * machine's name is cut short: a socket path on the host must fit in 108 bytes.
 */
const OWNER = `${hostname().replace(/[^A-Za-z0-9.]/g, '_').slice(0, 24)}-${process.pid}`;
const OWNED_RUN_DIR = /^(?:qemu|wine)-(.+)-(\d+)-[A-Za-z0-9]{6}$/;

/** The run folders (names in CACHE/runs) whose owner was a process of this machine that is gone. */
export function deadOwnersRunDirs(names: readonly string[], alive: (pid: number) => boolean = processAlive): string[] {
  const here = OWNER.slice(0, OWNER.lastIndexOf('-'));
  return names.filter((name) => {
    const match = OWNED_RUN_DIR.exec(name);
    return match !== null && match[1] === here && !alive(Number(match[2]));
  });
}

const localHashes = new Map<string, Promise<string>>();

/** sha256 of a local file, computed once per path, size and mtime in this process. */
export function localSha256(path: string): Promise<string> {
  return stat(path).then((info) => {
    const key = `${path}:${info.size}:${info.mtimeMs}`;
    let hash = localHashes.get(key);
    if (!hash) {
      hash = new Promise<string>((resolve, reject) => {
        const digest = createHash('sha256');
        createReadStream(path)
          .on('data', (chunk) => digest.update(chunk))
          .on('error', reject)
          .on('end', () => resolve(digest.digest('hex')));
      });
      localHashes.set(key, hash);
      hash.catch(() => localHashes.delete(key));
    }
    return hash;
  });
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

/**
 * The files of an SSH host that does not see this machine's paths: folders
 * and small files through SFTP and shell commands on the one SSH connection,
 * sockets through its stream-local forwarding, and inputs copied into
 * `cacheDir` on the host under their content hash (`files/<sha256>/<name>`,
 * `dirs/<sha256>/`). A copy is written under a temporary name, checked with
 * sha256sum on the host, and only then renamed into place, so a cut copy
 * is never taken for a whole one; the next run finds and reuses it.
 */
export class SftpHostFiles implements HostFiles {
  readonly kind = 'copied' as const;
  readonly hostName: string;
  readonly cacheDir: string;
  readonly #session: SshSession;
  readonly #root: boolean;
  readonly #provided = new Map<string, Promise<string>>();

  private constructor(session: SshSession, cacheDir: string, root: boolean) {
    this.#session = session;
    this.hostName = session.address.name;
    this.cacheDir = cacheDir;
    this.#root = root;
  }

  /**
   * Opens SFTP on the session and makes the cache folder: `cacheDir` as
   * configured for the host, or the default (defaultCacheDir).
   */
  static async open(session: SshSession, options: HostFileOptions & { cacheDir?: string } = {}): Promise<SftpHostFiles> {
    await session.sftp();
    const facts = await session.exec('printf "%s\\n%s\\n" "$(id -u)" "$HOME"', options);
    const [uid, home] = facts.stdout.split('\n');
    if (facts.exitCode !== 0 || uid === undefined || home === undefined || home === '') {
      throw new HostFilesError(
        session.address.name,
        'asking the SSH user’s uid and home',
        `exit ${facts.exitCode}: ${facts.stderr.trim().slice(0, 300)}`,
        'log in as that user by hand and check that a POSIX shell runs commands',
      );
    }
    const configured = options.cacheDir;
    const root = uid.trim() === '0';
    const cacheDir =
      configured === undefined
        ? defaultCacheDir(home, root)
        : configured.startsWith('~/')
          ? posix.join(home, configured.slice(2))
          : configured;
    if (!posix.isAbsolute(cacheDir)) {
      throw new HostFilesError(
        session.address.name,
        'choosing the cache folder',
        `cacheDir ${JSON.stringify(configured)} is not an absolute path (or ~/...)`,
        'set hosts[].cacheDir in retrolab.config.json to an absolute path on that host',
      );
    }
    const files = new SftpHostFiles(session, cacheDir, root);
    const runs = posix.join(cacheDir, 'runs');
    const listing = await files.#sh(`mkdir -p ${shellQuote(runs)} && ls -1 ${shellQuote(runs)}`, 'making the cache folder', options);
    const dead = deadOwnersRunDirs(listing.split('\n').filter((name) => name.length > 0));
    if (dead.length > 0) await files.#sh(`cd ${shellQuote(runs)} && rm -rf ${dead.map(shellQuote).join(' ')}`, 'removing run folders of dead runs', options);
    return files;
  }

  async #sh(command: string, operation: string, options: HostFileOptions = {}): Promise<string> {
    debug('%s: %s', this.hostName, command);
    const result = await this.#session.exec(command, options);
    if (result.exitCode !== 0) {
      throw new HostFilesError(
        this.hostName,
        operation,
        `\`${command}\` exited ${result.exitCode ?? 'without a code'}: ${result.stderr.trim().slice(-500)}`,
        `check that ${this.#session.address.user} may write ${this.cacheDir} on the host and that its disk has room`,
      );
    }
    return result.stdout;
  }

  /** chown to the containers' user as root; otherwise make it theirs to write (the folder is in the SSH user's own cache). */
  #handTo(path: string, owner: string): string {
    return this.#root ? `chown ${shellQuote(owner)} ${shellQuote(path)}` : `chmod a+rwX ${shellQuote(path)}`;
  }

  async #sftp(): Promise<SFTPWrapper> {
    return this.#session.sftp();
  }

  async makeRunDir(prefix: string, owner: string, options: HostFileOptions = {}): Promise<HostDir> {
    const template = posix.join(this.cacheDir, 'runs', `${prefix}${OWNER}-XXXXXX`);
    const path = (await this.#sh(`mktemp -d ${shellQuote(template)}`, 'making a run folder', options)).trim();
    await this.#sh(this.#handTo(path, owner), 'handing the run folder to the containers’ user', options);
    return {
      path,
      [Symbol.asyncDispose]: () => this.remove(path),
    };
  }

  async mkdir(path: string, options: HostFileOptions & { owner?: string } = {}): Promise<void> {
    const hand = options.owner === undefined ? '' : ` && ${this.#handTo(path, options.owner)}`;
    await this.#sh(`mkdir -p ${shellQuote(path)}${hand}`, `making ${path}`, options);
  }

  async readText(path: string): Promise<string | undefined> {
    const sftp = await this.#sftp();
    return new Promise((resolve, reject) => {
      sftp.readFile(path, 'utf8', (error, data) => {
        if (!error) return resolve(typeof data === 'string' ? data : data.toString('utf8'));
        if ((error as Error & { code?: number }).code === NO_SUCH_FILE) return resolve(undefined);
        reject(new HostFilesError(this.hostName, `reading ${path}`, error.message, 'check the host’s cache folder', error));
      });
    });
  }

  async writeText(path: string, text: string): Promise<void> {
    const sftp = await this.#sftp();
    await new Promise<void>((resolve, reject) => {
      sftp.writeFile(path, text, (error) =>
        error ? reject(new HostFilesError(this.hostName, `writing ${path}`, error.message, 'check the host’s disk and cache folder', error)) : resolve(),
      );
    });
  }

  async exists(path: string): Promise<boolean> {
    const sftp = await this.#sftp();
    return new Promise((resolve) => sftp.stat(path, (error) => resolve(!error)));
  }

  async copy(from: string, to: string, options: HostFileOptions & { owner?: string } = {}): Promise<void> {
    const hand = options.owner === undefined ? '' : ` && ${this.#handTo(to, options.owner)}`;
    await this.#sh(`cp ${shellQuote(from)} ${shellQuote(to)}${hand}`, `copying ${from}`, options);
  }

  async move(from: string, to: string, options: HostFileOptions = {}): Promise<void> {
    await this.#sh(`rm -rf ${shellQuote(to)} && mv ${shellQuote(from)} ${shellQuote(to)}`, `moving ${from} to ${to}`, options);
  }

  async remove(path: string, options: HostFileOptions = {}): Promise<void> {
    await this.#sh(`rm -rf ${shellQuote(path)}`, `removing ${path}`, options);
  }

  async fetch(path: string, localPath: string, options: HostFileOptions = {}): Promise<void> {
    const sftp = await this.#sftp();
    await this.#transfer(`fetching ${path}`, options.signal, (done) => sftp.fastGet(path, localPath, TRANSFER, done));
  }

  connect(socketPath: string): Promise<Duplex> {
    return this.#session.openStreamLocal(socketPath);
  }

  provideFile(localPath: string, options: HostFileOptions & { onProgress?: ProgressSink } = {}): Promise<string> {
    let provided = this.#provided.get(localPath);
    if (!provided) {
      provided = this.#provideFile(localPath, options);
      this.#provided.set(localPath, provided);
      provided.catch(() => this.#provided.delete(localPath));
    }
    return provided;
  }

  async #provideFile(localPath: string, options: HostFileOptions & { onProgress?: ProgressSink }): Promise<string> {
    const sha = await localSha256(localPath);
    const dir = posix.join(this.cacheDir, 'files', sha);
    const final = posix.join(dir, basename(localPath));
    if (await this.exists(final)) return final;
    const progress = options.onProgress ?? silentProgress;
    const { size } = await stat(localPath);
    const partial = `${final}.partial-${randomBytes(4).toString('hex')}`;
    const started = Date.now();
    const scope = `copy ${this.hostName}`;
    progress({ kind: 'step', scope, message: `${basename(localPath)} (${Math.round(size / 1e6)} MB) into ${dir}: not there yet` });
    await this.#sh(`mkdir -p ${shellQuote(dir)}`, `making ${dir}`, options);
    try {
      const sftp = await this.#sftp();
      {
        using tracked = trackProgress(progress, { scope, what: `copying ${basename(localPath)}`, done: 0, total: Math.round(size / 1e6), unit: 'MB' });
        await this.#transfer(`copying ${localPath}`, options.signal, (done) =>
          sftp.fastPut(localPath, partial, { ...TRANSFER, mode: 0o644, step: (sent) => tracked.set({ done: Math.round(sent / 1e6) }) }, done),
        );
      }
      const sum = (await this.#sh(`sha256sum ${shellQuote(partial)}`, `checking the copy of ${localPath}`, options)).split(/\s/)[0] ?? '';
      if (sum !== sha) throw new ChecksumMismatchError(this.hostName, localPath, sha, sum);
      await this.#sh(`mv -f ${shellQuote(partial)} ${shellQuote(final)}`, `putting the copy of ${localPath} in place`, options);
    } catch (error) {
      await this.remove(partial).catch(() => undefined);
      throw error;
    }
    progress({ kind: 'done', scope, message: `${basename(localPath)} copied and checked (sha256 ${sha.slice(0, 16)}…)`, durationMs: Date.now() - started });
    return final;
  }

  provideDir(localDir: string, options: HostFileOptions = {}): Promise<string> {
    let provided = this.#provided.get(`${localDir}/`);
    if (!provided) {
      provided = this.#provideDir(localDir, options);
      this.#provided.set(`${localDir}/`, provided);
      provided.catch(() => this.#provided.delete(`${localDir}/`));
    }
    return provided;
  }

  async #provideDir(localDir: string, options: HostFileOptions): Promise<string> {
    const files = await listFiles(localDir);
    const digest = createHash('sha256');
    for (const file of files) digest.update(`${relative(localDir, file)}\0${await localSha256(file)}\0`);
    const sha = digest.digest('hex');
    const final = posix.join(this.cacheDir, 'dirs', sha);
    if (await this.exists(final)) return final;
    const partial = `${final}.partial-${randomBytes(4).toString('hex')}`;
    const folders = [...new Set(files.map((file) => posix.dirname(posix.join(partial, relative(localDir, file)))))];
    await this.#sh(`mkdir -p ${folders.map(shellQuote).join(' ')}`, `making ${partial}`, options);
    try {
      const sftp = await this.#sftp();
      for (const file of files) {
        const mode = (await stat(file)).mode & 0o755;
        await this.#transfer(`copying ${file}`, options.signal, (done) =>
          sftp.fastPut(file, posix.join(partial, relative(localDir, file)), { ...TRANSFER, mode }, done),
        );
      }
      await this.#sh(`chmod -R a+rX ${shellQuote(partial)} && mv -f ${shellQuote(partial)} ${shellQuote(final)}`, `putting ${final} in place`, options);
    } catch (error) {
      await this.remove(partial).catch(() => undefined);
      throw error;
    }
    return final;
  }

  /** One SFTP transfer; aborting ends the SFTP channel (the next call opens another), which fails the transfer. */
  async #transfer(operation: string, signal: AbortSignal | undefined, start: (done: (error?: Error | null) => void) => void): Promise<void> {
    signal?.throwIfAborted();
    const sftp = await this.#sftp();
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => sftp.end();
      signal?.addEventListener('abort', onAbort, { once: true });
      start((error) => {
        signal?.removeEventListener('abort', onAbort);
        if (signal?.aborted) return reject(signal.reason as Error);
        if (error) return reject(new HostFilesError(this.hostName, operation, error.message, 'check the host’s disk and that sshd’s SFTP subsystem is enabled', error));
        resolve();
      });
    });
  }
}
