import { describe, expect, it } from 'vitest';
import { chooseHosts, hostFromConfig, hostUrl, parseHostAddress } from '../../src/docker/host-address.ts';
import { ConfigError } from '../../src/errors.ts';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRetrolabConfig } from '../../src/licensed/licensed-config.ts';

describe('host addresses', () => {
  it('reads ssh:// with user, port and a remote engine socket', () => {
    expect(parseHostAddress('ssh://lab@build2:2222/run/docker.sock', '--host')).toEqual({
      kind: 'ssh',
      name: 'lab@build2:2222',
      user: 'lab',
      host: 'build2',
      port: 2222,
      socketPath: '/run/docker.sock',
    });
    const plain = parseHostAddress('ssh://lab@10.0.0.5', '--host');
    expect(plain).toMatchObject({ port: 22, socketPath: '/var/run/docker.sock', name: 'lab@10.0.0.5' });
    expect(hostUrl(plain)).toBe('ssh://lab@10.0.0.5');
    expect(hostUrl(parseHostAddress('ssh://lab@build2:2222/run/docker.sock', 'x'))).toBe('ssh://lab@build2:2222/run/docker.sock');
  });

  it('reads unix:// and names the default socket "local"', () => {
    expect(parseHostAddress('unix:///var/run/docker.sock', '--host')).toEqual({
      kind: 'unix',
      name: 'local',
      socketPath: '/var/run/docker.sock',
    });
    expect(parseHostAddress('unix:///run/other.sock', '--host').name).toBe('unix:/run/other.sock');
  });

  it.each([
    ['ssh://build2', 'names no user'],
    ['ssh://lab:secret@build2', 'carries a password'],
    ['http://build2:2375', 'uses a scheme'],
    ['tcp://lab@build2:2376', 'carries a user'],
    ['tcp://build2:2376/v1.41', 'has a path, query or fragment'],
    ['build2', 'is not a URL'],
    ['unix://relative.sock', 'has no absolute socket path'],
  ])('refuses %s with the flag and the value in the message', (value, why) => {
    expect(() => parseHostAddress(value, '--host')).toThrow(ConfigError);
    expect(() => parseHostAddress(value, '--host')).toThrow(new RegExp(`--host: "${value.replace(/[/.]/g, '\\$&')}" ${why}`));
  });

  it('reads tcp:// as the docker CLI does: port 2376 when TLS is asked for, else 2375', () => {
    expect(parseHostAddress('tcp://10.0.0.5:2376', '--host', {})).toEqual({
      kind: 'tcp',
      name: '10.0.0.5:2376',
      host: '10.0.0.5',
      port: 2376,
    });
    expect(parseHostAddress('tcp://build2', 'DOCKER_HOST', {})).toMatchObject({ port: 2375 });
    expect(parseHostAddress('tcp://build2', 'DOCKER_HOST', { DOCKER_TLS_VERIFY: '1' })).toMatchObject({ port: 2376 });
    expect(hostUrl(parseHostAddress('tcp://[fd00::5]:2376', '--host', {}))).toBe('tcp://[fd00::5]:2376');
    expect(chooseHosts({ flags: [], configRoot: '/p', env: { DOCKER_HOST: 'tcp://ci:2376' } })).toMatchObject([
      { kind: 'tcp', name: 'ci:2376' },
    ]);
    expect(() => chooseHosts({ flags: ['tcp://a:2376', 'tcp://a:2376/'], configRoot: '/p', env: {} })).toThrow(/named twice/);
  });

  it("engineSocket (the reaper's way to a tcp:// engine) only on tcp:// hosts, and absolute", () => {
    expect(hostFromConfig({ url: 'tcp://b:2376', engineSocket: '/run/d.sock' }, 0, '/proj')).toMatchObject({
      kind: 'tcp',
      engineSocket: '/run/d.sock',
    });
    expect(() => hostFromConfig({ url: 'ssh://a@b', engineSocket: '/run/d.sock' }, 2, '/proj')).toThrow(
      /hosts\[2\]\.engineSocket: only a tcp:\/\/ host takes it \(an ssh:\/\/ URL names its socket after the host: ssh:\/\/user@host\/run\/d\.sock\)/,
    );
  });

  it('chooses --host over the config, the config over DOCKER_HOST, DOCKER_HOST over the local socket', () => {
    const config = [{ url: 'ssh://lab@b', slots: 3 }];
    const env = { DOCKER_HOST: 'ssh://ci@c' };
    expect(chooseHosts({ flags: ['ssh://lab@a'], config, configRoot: '/p', env }).map((h) => h.name)).toEqual(['lab@a']);
    expect(chooseHosts({ flags: [], config, configRoot: '/p', env })).toMatchObject([{ name: 'lab@b', slots: 3 }]);
    expect(chooseHosts({ flags: [], configRoot: '/p', env }).map((h) => h.name)).toEqual(['ci@c']);
    expect(chooseHosts({ flags: [], configRoot: '/p', env: {} })).toEqual([
      { kind: 'unix', name: 'local', socketPath: '/var/run/docker.sock' },
    ]);
  });

  it('--jobs sets the slots of every chosen host; the same engine twice is refused', () => {
    expect(chooseHosts({ flags: [], jobs: 2, configRoot: '/p', env: {} })[0]?.slots).toBe(2);
    expect(() => chooseHosts({ flags: ['ssh://a@b', 'ssh://a@b:22'], configRoot: '/p', env: {} })).toThrow(/named twice/);
  });

  it('takes key files of a config entry relative to the config folder', () => {
    const host = hostFromConfig({ url: 'ssh://lab@b', identityFile: 'keys/id', knownHosts: '/etc/kh' }, 0, '/proj');
    expect(host).toMatchObject({ identityFile: '/proj/keys/id', knownHostsFile: '/etc/kh' });
    expect(() => hostFromConfig({ url: 'unix:///s.sock', identityFile: 'k' }, 1, '/proj')).toThrow(/hosts\[1\].*ssh:\/\/ hosts/);
  });

  it('keeps a config entry’s cacheDir as written (a path on that host, ~/ its user’s home there), and refuses it on a unix:// engine', () => {
    // Taken relative to the config folder like the key files, "~/lab" would have become a path of this machine.
    expect(hostFromConfig({ url: 'ssh://lab@b', cacheDir: '~/lab' }, 0, '/proj')).toMatchObject({ cacheDir: '~/lab' });
    expect(() => hostFromConfig({ url: 'unix:///s.sock', cacheDir: '/srv/x' }, 2, '/proj')).toThrow(/hosts\[2\].*cacheDir.*ssh:\/\/ hosts/);
  });

  it('retrolab.config.json hosts are checked up front: every bad field named at once', async () => {
    const root = await mkdtemp(join(tmpdir(), 'retrolab-hosts-config-'));
    try {
      const config = { hosts: [{ url: 'unix:///var/run/docker.sock' }, { url: 'ssh://a@b', slots: 0 }, { url: 'ssh://a@c', slot: 2 }] };
      await writeFile(join(root, 'retrolab.config.json'), JSON.stringify(config));
      const error = await loadRetrolabConfig({ root }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(/retrolab\.config\.json: hosts\.1\.slots: .*>=1/);
      expect((error as Error).message).toMatch(/hosts\.2.*slot/);
      // A URL the schema lets through but retrolab cannot reach is named by its index when the hosts are chosen.
      expect(() => chooseHosts({ flags: [], config: [{ url: 'npipe:////./pipe/docker_engine' }], configRoot: root, env: {} })).toThrow(
        /retrolab\.config\.json hosts\[0\]\.url: "npipe:\/\/\/\/\.\/pipe\/docker_engine" uses a scheme retrolab cannot reach/,
      );
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
