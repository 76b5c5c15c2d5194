import { createHash, createHmac } from 'node:crypto';
import { RetrolabError } from '../errors.ts';

/**
 * OpenSSH's known_hosts, read-only: plain and hashed (`|1|salt|hmac`) host
 * patterns, `[host]:port` for ports other than 22, `*`/`?` wildcards,
 * `!negation`, and the `@revoked` marker. `@cert-authority` lines are not
 * used (retrolab checks plain host keys only).
 */
export interface KnownHostEntry {
  line: number;
  marker: 'revoked' | 'cert-authority' | undefined;
  patterns: string;
  keyType: string;
  key: Buffer;
}

export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0] === '@revoked' || fields[0] === '@cert-authority') {
      marker = fields[0] === '@revoked' ? 'revoked' : 'cert-authority';
      fields.shift();
    }
    const [patterns, keyType, keyText] = fields;
    if (patterns === undefined || keyType === undefined || keyText === undefined) return;
    const key = Buffer.from(keyText, 'base64');
    if (key.length === 0) return;
    entries.push({ line: index + 1, marker, patterns, keyType, key });
  });
  return entries;
}

/** The name OpenSSH looks a host up by: `host`, or `[host]:port` when the port is not 22. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function wildcardMatch(pattern: string, name: string): boolean {
  const regex = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return regex.test(name);
}

function hashedMatch(pattern: string, name: string): boolean {
  const [, magic, salt, hash] = pattern.split('|');
  if (magic !== '1' || salt === undefined || hash === undefined) return false;
  return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
}

/** Whether an entry's host field names this host (a matching negation excludes it). */
export function entryMatches(patterns: string, name: string): boolean {
  if (patterns.startsWith('|')) return hashedMatch(patterns, name);
  let matched = false;
  for (const pattern of patterns.split(',')) {
    if (pattern.startsWith('!')) {
      if (wildcardMatch(pattern.slice(1), name)) return false;
    } else if (wildcardMatch(pattern, name)) {
      matched = true;
    }
  }
  return matched;
}

/** `SHA256:…` as `ssh-keygen -lf` and OpenSSH's prompts print it. */
export function sha256Fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** The key type written inside an SSH public key blob (its first string). */
export function keyTypeOf(key: Buffer): string {
  if (key.length < 4) return 'unknown';
  const length = key.readUInt32BE(0);
  return key.subarray(4, 4 + length).toString('latin1');
}

/** The host key a server presented is not one known_hosts lists for it. */
export class HostKeyError extends RetrolabError {
  constructor(
    readonly kind: 'unknown' | 'changed' | 'revoked',
    readonly host: string,
    readonly fingerprint: string,
    readonly knownHostsFile: string,
    detail: string,
    fix: string,
  ) {
    super(`${host}: ${detail}\n  the server's ${fingerprint}\n  fix: ${fix}`, { context: { host, fingerprint, knownHostsFile, kind } });
  }
}

export type HostKeyVerdict = { ok: true } | { ok: false; error: HostKeyError };

/**
 * Checks a presented host key against known_hosts the way OpenSSH with
 * StrictHostKeyChecking=yes does: accepted only when an entry for this host
 * holds exactly this key; an entry for this host with another key of the same
 * type means the key changed; no entry means unknown. Nothing is ever added.
 */
export function checkHostKey(
  entries: readonly KnownHostEntry[],
  input: { host: string; port: number; key: Buffer; knownHostsFile: string },
): HostKeyVerdict {
  const name = knownHostsName(input.host, input.port);
  const fingerprint = sha256Fingerprint(input.key);
  const presentedType = keyTypeOf(input.key);
  const forHost = entries.filter((entry) => entry.marker !== 'cert-authority' && entryMatches(entry.patterns, name));
  const keyscan = `ssh-keyscan ${input.port === 22 ? '' : `-p ${input.port} `}${input.host}`;
  if (forHost.some((entry) => entry.marker === 'revoked' && entry.key.equals(input.key))) {
    return {
      ok: false,
      error: new HostKeyError('revoked', name, fingerprint, input.knownHostsFile, `the host key is marked @revoked in ${input.knownHostsFile}`, 'find out why the key was revoked before using this host'),
    };
  }
  if (forHost.some((entry) => entry.marker === undefined && entry.key.equals(input.key))) return { ok: true };
  const sameType = forHost.filter((entry) => entry.marker === undefined && entry.keyType === presentedType);
  if (sameType.length > 0) {
    const lines = sameType.map((entry) => `line ${entry.line} (${sha256Fingerprint(entry.key)})`).join(', ');
    return {
      ok: false,
      error: new HostKeyError(
        'changed',
        name,
        fingerprint,
        input.knownHostsFile,
        `the ${presentedType} host key CHANGED: ${input.knownHostsFile} has ${lines} for it. Someone may be intercepting the connection, or the host was reinstalled`,
        `check the new fingerprint with the host's owner; if it is right, remove the old entry (ssh-keygen -R '${name}' -f ${input.knownHostsFile}) and add the new one (${keyscan} >> ${input.knownHostsFile})`,
      ),
    };
  }
  return {
    ok: false,
    error: new HostKeyError(
      'unknown',
      name,
      fingerprint,
      input.knownHostsFile,
      `the host key (${presentedType}) is not in ${input.knownHostsFile}; retrolab never accepts an unknown host key`,
      `compare the fingerprint with the one the host prints (ssh-keygen -lf /etc/ssh/ssh_host_${presentedType.replace(/^ssh-|-.*$/g, '')}_key.pub on it), then add it: ${keyscan} >> ${input.knownHostsFile} (or connect once with ssh and answer yes)`,
    ),
  };
}

/** The server host key algorithms to offer, so a server with several keys presents one known_hosts has. */
export function hostKeyAlgorithmsFor(entries: readonly KnownHostEntry[], host: string, port: number): string[] {
  const name = knownHostsName(host, port);
  const types = new Set(entries.filter((entry) => entry.marker === undefined && entryMatches(entry.patterns, name)).map((entry) => entry.keyType));
  const algorithms: string[] = [];
  for (const type of types) {
    if (type === 'ssh-rsa') algorithms.push('rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa');
    else algorithms.push(type);
  }
  return algorithms;
}
