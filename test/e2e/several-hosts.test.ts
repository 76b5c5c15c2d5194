import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResultEntry, RunResults } from '../../src/model/run-results.ts';
import { PROJECT_ROOT } from '../../src/util/paths.ts';
import { retrolabProcess, type CliResult } from '../support/cli-process.ts';
import { testHost, testHostEnv } from '../support/test-host.ts';

/**
 * The matrix over two real Docker engines: this machine's, and a second
 * dockerd in a network namespace reached over SSH (scripts/test-host.sh:
 * Debian's openssh-server, a throwaway key, a known_hosts with its key).
 * That host does not see this checkout or its cache (they are hidden in its
 * mount namespace), so guests there get their files over SFTP and their
 * sockets through the SSH connection. The runs are the `wine` target with
 * few cycles, plus one wine-vm scenario on the SSH host, to keep `npm test`
 * short.
 */

const LOCAL = 'unix:///var/run/docker.sock';
const SCENARIOS = ['dup-close', 'workaround-late-close', 'leak-control', 'workaround-dummy-socket'];
const MATRIX = ['--target', 'wine', ...SCENARIOS.flatMap((s) => ['--scenario', s]), '--cycles', '3'];

let work: string;
let env: Record<string, string>;
let remoteName: string;

/** A shell command on the SSH host, over OpenSSH with the test host's key and known_hosts. */
/** The SSH host's cache folder: the default for root (sftp-host-files.ts). */
const REMOTE_CACHE = '/var/cache/retrolab';

function onRemote(command: string): Promise<string> {
  const ssh = ['-i', env.RETROLAB_SSH_KEY!, '-o', `UserKnownHostsFile=${env.RETROLAB_KNOWN_HOSTS!}`, '-o', 'BatchMode=yes'];
  return new Promise((resolve, reject) => {
    execFile('ssh', [...ssh, remoteName, `CACHE=${REMOTE_CACHE}; ${command}`], { timeout: 120_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`\`${command}\` on the SSH host failed (needs openssh-client): ${stderr}`));
      else resolve(stdout);
    });
  });
}

/** The run folders in the SSH host's cache. */
async function remoteRunFolders(): Promise<string[]> {
  const listing = await onRemote('ls -1 "$CACHE/runs" 2>/dev/null || true');
  return listing.split('\n').filter((name) => /^(qemu|wine)-/.test(name));
}

/** A run on the SSH host leaves none of its run folders there (folders of someone else's run still going are not this one's). */
async function expectNoRunFoldersLeft(before: readonly string[], output: string): Promise<void> {
  const left = (await remoteRunFolders()).filter((name) => !before.includes(name));
  expect(left, `run folders left on ${remoteName}`).toEqual([]);
  // The run went the copying way: the host does not see this machine's files.
  expect(output).toMatch(new RegExp(`${remoteName.replace(/\./g, '\\.')} does not see this machine's files`));
}

function retrolab(args: string[], resultsRoot: string): Promise<CliResult> {
  return retrolabProcess(args, { env: { ...env, RETROLAB_RESULTS: resultsRoot } });
}

async function latest(resultsRoot: string): Promise<RunResults> {
  return JSON.parse(await readFile(join(resultsRoot, await readlink(join(resultsRoot, 'latest')), 'results.json'), 'utf8')) as RunResults;
}

const verdicts = (entries: readonly ResultEntry[]) =>
  entries.map((entry) => ({ target: entry.target, scenario: entry.scenario, verdict: entry.verdict, observed: entry.observed }));

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'retrolab-hosts-'));
  env = await testHostEnv();
  expect(env.RETROLAB_TESTHOST_URL, JSON.stringify(env)).toMatch(/^ssh:\/\/root@/);
  remoteName = `root@${env.RETROLAB_TESTHOST_ADDRESS}`;
});

afterAll(async () => {
  // The engine killed in the drop test comes back for whoever runs next (its containers died with it).
  await testHost('up').catch(() => undefined);
  await rm(work, { recursive: true, force: true });
});

describe('several Docker hosts', () => {
  let whole: RunResults;

  it('retrolab hosts lists both engines over their connections (the SSH one with its host key checked)', async () => {
    const result = await retrolab(['hosts', '--host', env.RETROLAB_TESTHOST_URL!, '--host', LOCAL, '--json'], work);
    expect(result.code, result.stderr + result.stdout).toBe(0);
    const hosts = JSON.parse(result.stdout) as { name: string; engine?: string; cpus?: number; kvm?: { usable: boolean } }[];
    expect(hosts.map((host) => host.name)).toEqual([remoteName, 'local']);
    for (const host of hosts) {
      expect(host.engine).toMatch(/^Docker \d+/);
      expect(host.cpus).toBeGreaterThan(0);
      expect(typeof host.kvm?.usable).toBe('boolean');
    }
    // A known_hosts without the host's key: refused, the fingerprint shown.
    await writeFile(join(work, 'empty-known-hosts'), '');
    const stranger = await retrolabProcess(['hosts', '--host', env.RETROLAB_TESTHOST_URL!], {
      env: { ...env, RETROLAB_KNOWN_HOSTS: join(work, 'empty-known-hosts') },
    });
    expect(stranger.code).toBe(3);
    expect(stranger.stdout).toMatch(/SHA256:/);
  });

  it('lab over both hosts: the scenarios spread over both, each entry names its host, every verdict as predicted', async () => {
    const root = join(work, 'both');
    const before = await remoteRunFolders();
    const result = await retrolab(['run', ...MATRIX, '--host', env.RETROLAB_TESTHOST_URL!, '--host', LOCAL], root);
    expect(result.code, result.stderr.slice(-4000)).toBe(0);
    whole = await latest(root);
    expect(whole.entries.map((entry) => entry.scenario)).toEqual(SCENARIOS);
    for (const entry of whole.entries) expect(entry.verdict, `${entry.scenario}: ${entry.reason}`).toBe('pass');
    expect(new Set(whole.entries.map((entry) => entry.host))).toEqual(new Set([remoteName, 'local']));
    expect(whole.hosts?.map((host) => host.name)).toEqual([remoteName, 'local']);
    // The progress lines say which host runs what.
    expect(result.stderr).toMatch(new RegExp(`\\[wine [a-z-]+\\] on ${remoteName.replace(/\./g, '\\.')}`));
    expect(result.stderr).toMatch(/\[wine [a-z-]+\] on local/);
    await expectNoRunFoldersLeft(before, result.stderr);
  });

  it('shard 1/2 and 2/2, each a one-host run, merged: the same verdicts as the run over both hosts', async () => {
    expect(whole, 'needs the run over both hosts above').toBeDefined();
    const shards = [join(work, 'shard1'), join(work, 'shard2')];
    for (const [index, root] of shards.entries()) {
      const result = await retrolab(['run', ...MATRIX, '--host', LOCAL, '--shard', `${index + 1}/2`], root);
      expect(result.code, result.stderr.slice(-4000)).toBe(0);
      const part = await latest(root);
      expect(part.entries.length).toBe(SCENARIOS.length / 2);
      expect(part.shard).toMatchObject({ index: index + 1, count: 2 });
    }
    const merged = join(work, 'merged');
    const result = await retrolab(['results', 'merge', ...shards, '--out', merged], work);
    expect(result.code, result.stderr + result.stdout).toBe(0);
    const joined = await latest(merged);
    expect(verdicts(joined.entries)).toEqual(verdicts(whole.entries));
    expect(await readFile(join(merged, 'latest', 'junit.xml'), 'utf8')).toContain('<testsuite');
  });

  it('wine-vm on the SSH host: the disk copied into its cache by checksum, the saved VM state made there, the scenario passes', async () => {
    const root = join(work, 'wine-vm');
    const before = await remoteRunFolders();
    const result = await retrolab(
      ['run', '--target', 'wine-vm', '--scenario', 'dup-close', '--cycles', '3', '--host', env.RETROLAB_TESTHOST_URL!],
      root,
    );
    expect(result.code, result.stderr.slice(-4000)).toBe(0);
    const [entry] = (await latest(root)).entries;
    expect(entry?.verdict, entry?.reason).toBe('pass');
    expect(entry?.host).toBe(remoteName);
    await expectNoRunFoldersLeft(before, result.stderr);
    // The disk is in the host's cache under its sha256, and its bytes have that sum there.
    const sums = (await onRemote('cd "$CACHE/files" && for f in */root.qcow2; do echo "${f%%/*} $(sha256sum < "$f" | cut -c1-64)"; done'))
      .split('\n')
      .filter((line) => line.length > 0);
    expect(sums.length, 'no root.qcow2 in the host cache').toBeGreaterThan(0);
    for (const line of sums) expect(line.split(' ')[0], line).toBe(line.split(' ')[1]);
  });

  it('killing the SSH host’s engine mid-run: its scenario is queued again on the other host and passes there', async () => {
    const root = join(work, 'drop');
    const before = await remoteRunFolders();
    const args = [
      join(PROJECT_ROOT, 'bin/retrolab.js'),
      'run',
      '--target',
      'wine',
      ...SCENARIOS.slice(0, 3).flatMap((s) => ['--scenario', s]),
      '--cycles',
      '20',
      '--host',
      env.RETROLAB_TESTHOST_URL!,
      '--host',
      LOCAL,
    ];
    const child = spawn(process.execPath, args, { cwd: PROJECT_ROOT, env: { ...process.env, ...env, RETROLAB_RESULTS: root } });
    let stderr = '';
    let killed: Promise<string> | undefined;
    const running = new RegExp(`\\[wine [a-z-]+ @${remoteName.replace(/\./g, '\\.')}\\] NETSTAT before`);
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      // A scenario is under way on the SSH host: its engine and containers die now.
      if (!killed && running.test(stderr)) killed = testHost('kill-engine');
    });
    child.stdout.resume();
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(killed, `no scenario started on ${remoteName}:\n${stderr.slice(-3000)}`).toBeDefined();
    await killed;
    expect(code, stderr.slice(-4000)).toBe(0);
    expect(stderr).toMatch(new RegExp(`host lost: ${remoteName.replace(/\./g, '\\.')} stopped answering`));
    expect(stderr).toMatch(/queued again for another host/);
    const results = await latest(root);
    expect(results.entries).toHaveLength(3);
    for (const entry of results.entries) expect(entry.verdict, `${entry.scenario}: ${entry.reason}`).toBe('pass');
    // The target's first scenario runs alone, so the killed one was the only one on the SSH host: it ran again
    // on the other host, and so did everything after it.
    expect(results.entries.map((entry) => entry.host)).toEqual(['local', 'local', 'local']);
    expect(stderr).toMatch(new RegExp(`\\[wine dup-close\\] on ${remoteName.replace(/\./g, '\\.')}`));
    expect(stderr).toMatch(/\[wine dup-close\] on local \(attempt 2\)/);
    // The killed scenario's run folder went with it: sshd outlived the engine, and the folder is removed over it.
    await expectNoRunFoldersLeft(before, stderr);
  });
});
