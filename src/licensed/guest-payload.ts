import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../errors.ts';
import { PROJECT_ROOT } from '../util/paths.ts';
import type { LicensedTarget } from './licensed-config.ts';
import { loadLicensedOs, targetsOfFamily, type LicensedOs } from './licensed-os.ts';
import { RegFile } from './reg-file.ts';

/**
 * What goes into a licensed guest so the agent starts by itself on COM1:
 * C:\RETROLAB\AGENT.EXE, AUTOSTRT.REG (from vms/<target>/autostart.reg, plus
 * MSTCP MaxConnections when asked) and PREPARED.TXT, the marker that says the
 * image is prepared, by which version and with which connection limit.
 */

export const GUEST_DIR = 'RETROLAB';
export const GUEST_FILES = {
  agent: 'AGENT.EXE',
  autostart: 'AUTOSTRT.REG',
  marker: 'PREPARED.TXT',
} as const;
export const AGENT_COMMAND = 'C:\\RETROLAB\\AGENT.EXE';
export const MARKER_FORMAT = 1;

const MSTCP_KEY = 'HKEY_LOCAL_MACHINE\\System\\CurrentControlSet\\Services\\VxD\\MSTCP';

export interface LogonAccount {
  user: string;
  password: string;
}

export interface PayloadOptions {
  /** MSTCP MaxConnections (Win9x); omitted, the stack keeps its default (100). */
  maxConnections?: number;
  /**
   * How the value is typed: a string on 98 and on 95 with the Winsock 2
   * update, a DWORD on plain 95 (shared/notes/legacy-windows.md, "Connection limit").
   */
  maxConnectionsType?: 'sz' | 'dword';
  /** NT 4's automatic logon; default Administrator with a blank password (what the unattended install sets up). */
  logon?: LogonAccount;
}

export const MAX_CONNECTIONS_RANGE = { min: 8, max: 10_000 } as const;

/**
 * What `image prepare` and `image install` check of the guest settings before
 * any work: MaxConnections where MSTCP has it, a logon account only on NT.
 */
export async function checkGuestSettings(
  licensed: Pick<LicensedOs, 'target' | 'os' | 'family'>,
  settings: { maxConnections?: number; logon?: LogonAccount },
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  checkMaxConnections(licensed, settings.maxConnections);
  if (settings.logon && !licensed.family.automaticLogon) {
    throw new ConfigError(
      `--user/--password: the automatic logon is a Windows NT setting, not ${licensed.os.title}'s; drop --user/--password, or use a Windows NT target (${(await targetsOfFamily('nt', options)).join(', ')})`,
    );
  }
}

export function checkMaxConnections(licensed: Pick<LicensedOs, 'target' | 'os' | 'family'>, value: number | undefined): void {
  if (value === undefined) return;
  if (!licensed.family.mstcpMaxConnections) {
    throw new ConfigError(
      `--max-connections: MSTCP MaxConnections exists only on Windows 95/98/ME; ${licensed.os.title} has no such limit (drop the flag for ${licensed.target})`,
    );
  }
  if (!Number.isInteger(value) || value < MAX_CONNECTIONS_RANGE.min || value > MAX_CONNECTIONS_RANGE.max) {
    throw new ConfigError(
      `--max-connections: ${value} must be a whole number from ${MAX_CONNECTIONS_RANGE.min} to ${MAX_CONNECTIONS_RANGE.max} (Windows' default is 100)`,
    );
  }
}

/**
 * The NT 4 logon goes into a REGEDIT4 file and the SOFTWARE hive as text: a
 * CR or LF would end the value early and start a line of the user's choosing
 * (another key, another value); NUL ends the string in the guest.
 */
export function checkLogon(logon: LogonAccount | undefined): void {
  if (!logon) return;
  for (const [flag, value] of [
    ['--user', logon.user],
    ['--password', logon.password],
  ] as const) {
    const bad = /[\r\n\0]/.exec(value);
    if (bad) {
      const name = bad[0] === '\r' ? 'a carriage return (CR)' : bad[0] === '\n' ? 'a line feed (LF)' : 'a NUL character';
      throw new ConfigError(`${flag}: holds ${name} at position ${bad.index + 1}; a logon name or password is one line of text`);
    }
  }
  if (logon.user.trim() === '') throw new ConfigError('--user: empty; give the NT 4 account that logs on by itself (e.g. Administrator)');
}

export async function readAutostartTemplate(target: LicensedTarget, options: { root?: string } = {}): Promise<RegFile> {
  const file = join(options.root ?? PROJECT_ROOT, 'vms', target, 'autostart.reg');
  return RegFile.parse(await readFile(file, 'latin1'), `vms/${target}/autostart.reg`);
}

/**
 * The registry changes for a target: its template, the logon account (NT's
 * automatic logon) and the connection limit (9x), as its OS profile says.
 */
export async function autostartReg(target: LicensedTarget, options: PayloadOptions = {}): Promise<RegFile> {
  const licensed = await loadLicensedOs(target);
  checkMaxConnections(licensed, options.maxConnections);
  checkLogon(options.logon);
  const reg = await readAutostartTemplate(target);
  if (licensed.family.automaticLogon && options.logon) {
    const winlogon = 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon';
    reg.set(winlogon, 'DefaultUserName', { type: 'sz', data: options.logon.user });
    reg.set(winlogon, 'DefaultPassword', { type: 'sz', data: options.logon.password });
  }
  if (options.maxConnections !== undefined) {
    const type = options.maxConnectionsType ?? (licensed.os.maxConnectionsType === 'dword-without-winsock2' ? 'dword' : 'sz');
    reg.set(
      MSTCP_KEY,
      'MaxConnections',
      type === 'sz' ? { type: 'sz', data: String(options.maxConnections) } : { type: 'dword', data: options.maxConnections },
    );
  }
  return reg;
}

export interface PreparedMarker {
  format: number;
  target: LicensedTarget;
  retrolabVersion: string;
  agentSha256: string;
  maxConnections: number | null;
  preparedFrom: string;
  preparedAt: string;
}

export function renderMarker(marker: PreparedMarker): string {
  const lines = [
    'RETROLAB PREPARED IMAGE',
    `format=${marker.format}`,
    `target=${marker.target}`,
    `retrolab=${marker.retrolabVersion}`,
    `agent-sha256=${marker.agentSha256}`,
    `max-connections=${marker.maxConnections ?? 'default'}`,
    `prepared-from=${marker.preparedFrom}`,
    `prepared-at=${marker.preparedAt}`,
  ];
  return `${lines.join('\r\n')}\r\n`;
}

export function parseMarker(text: string): PreparedMarker | undefined {
  const lines = text.split(/\r?\n/);
  if (lines[0] !== 'RETROLAB PREPARED IMAGE') return undefined;
  const fields = new Map(
    lines.slice(1).flatMap((line) => {
      const at = line.indexOf('=');
      return at > 0 ? [[line.slice(0, at), line.slice(at + 1)] as const] : [];
    }),
  );
  const max = fields.get('max-connections');
  return {
    format: Number(fields.get('format') ?? 0),
    target: fields.get('target') ?? '',
    retrolabVersion: fields.get('retrolab') ?? '',
    agentSha256: fields.get('agent-sha256') ?? '',
    maxConnections: max === undefined || max === 'default' ? null : Number(max),
    preparedFrom: fields.get('prepared-from') ?? '',
    preparedAt: fields.get('prepared-at') ?? '',
  };
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function retrolabVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version?: string };
  return pkg.version ?? '0.0.0';
}
