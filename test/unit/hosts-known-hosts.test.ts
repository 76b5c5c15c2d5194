import { createHash, createHmac, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  checkHostKey,
  entryMatches,
  hostKeyAlgorithmsFor,
  keyTypeOf,
  parseKnownHosts,
  sha256Fingerprint,
} from '../../src/docker/known-hosts.ts';

/** An ssh-ed25519 public key blob: string "ssh-ed25519", string key(32). */
function ed25519Blob(): Buffer {
  const { publicKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const part = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  return Buffer.concat([part(Buffer.from('ssh-ed25519')), part(raw)]);
}

const line = (host: string, key: Buffer) => `${host} ssh-ed25519 ${key.toString('base64')}`;
const input = (key: Buffer, host = 'build2', port = 22) => ({ host, port, key, knownHostsFile: '/home/u/.ssh/known_hosts' });

describe('known_hosts', () => {
  const key = ed25519Blob();
  const other = ed25519Blob();

  it('prints the fingerprint as ssh-keygen does (SHA256, base64 without padding)', () => {
    expect(sha256Fingerprint(key)).toBe(`SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`);
    expect(sha256Fingerprint(key)).not.toMatch(/=$/);
    expect(keyTypeOf(key)).toBe('ssh-ed25519');
  });

  it('accepts the listed key, by plain name, by [host]:port, by pattern and hashed', () => {
    expect(checkHostKey(parseKnownHosts(line('build1,build2', key)), input(key))).toEqual({ ok: true });
    expect(checkHostKey(parseKnownHosts(line('[build2]:2222', key)), input(key, 'build2', 2222))).toEqual({ ok: true });
    expect(checkHostKey(parseKnownHosts(line('build?', key)), input(key))).toEqual({ ok: true });
    const salt = Buffer.from('0123456789abcdef0123');
    const hashed = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update('build2').digest('base64')}`;
    expect(checkHostKey(parseKnownHosts(line(hashed, key)), input(key))).toEqual({ ok: true });
    expect(entryMatches(hashed, 'build3')).toBe(false);
  });

  it('an unknown host is refused with the fingerprint and the fix', () => {
    const verdict = checkHostKey(parseKnownHosts(`# nothing for build2\n${line('build9', other)}\n`), input(key));
    expect(verdict.ok).toBe(false);
    if (verdict.ok) return;
    expect(verdict.error.kind).toBe('unknown');
    expect(verdict.error.message).toContain(sha256Fingerprint(key));
    expect(verdict.error.message).toContain('ssh-keyscan build2 >> /home/u/.ssh/known_hosts');
  });

  it('a host listed on another port is unknown on this one (the old code matched the bare name)', () => {
    const verdict = checkHostKey(parseKnownHosts(line('build2', key)), input(key, 'build2', 2222));
    expect(verdict.ok).toBe(false);
  });

  it('a changed key is refused and names the line that holds the old one', () => {
    const verdict = checkHostKey(parseKnownHosts(`\n${line('build2', other)}\n`), input(key));
    expect(verdict.ok).toBe(false);
    if (verdict.ok) return;
    expect(verdict.error.kind).toBe('changed');
    expect(verdict.error.message).toContain('CHANGED');
    expect(verdict.error.message).toContain(`line 2 (${sha256Fingerprint(other)})`);
    expect(verdict.error.message).toContain(sha256Fingerprint(key));
  });

  it('a negated pattern excludes the host, and @revoked wins over a listing', () => {
    expect(checkHostKey(parseKnownHosts(line('build*,!build2', key)), input(key)).ok).toBe(false);
    const revoked = checkHostKey(parseKnownHosts(`${line('build2', key)}\n@revoked ${line('*', key)}`), input(key));
    expect(revoked.ok).toBe(false);
    if (!revoked.ok) expect(revoked.error.kind).toBe('revoked');
  });

  it('offers the host key algorithms known for the host', () => {
    const entries = parseKnownHosts(`${line('build2', key)}\nbuild2 ssh-rsa AAAAB3NzaC1yc2E=`);
    expect(hostKeyAlgorithmsFor(entries, 'build2', 22)).toEqual(['ssh-ed25519', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
    expect(hostKeyAlgorithmsFor(entries, 'other', 22)).toEqual([]);
  });
});
