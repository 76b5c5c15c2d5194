import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { GUEST_FILES, MARKER_FORMAT, autostartReg, renderMarker, retrolabVersion, sha256, type LogonAccount } from './guest-payload.ts';
import { runTool } from './host-tool.ts';
import { checkOutputPath } from './output-guard.ts';
import type { LicensedTarget } from './licensed-config.ts';
import { loadLicensedOs } from './licensed-os.ts';
import { RegFile } from './reg-file.ts';
import { trackPath } from '../util/owner-ledger.ts';

/**
 * Setup media for users who install by hand or whose C: is NTFS: a 1.44 MB
 * floppy image and an ISO with the agent, SETUP.BAT and the .reg files. Run
 * SETUP from the medium's drive once inside the guest; it copies the files to
 * C:\RETROLAB (with the PREPARED.TXT marker) and imports the registry values.
 */

export interface SetupMedia {
  floppy: string;
  iso: string;
  files: string[];
}

const FLOPPY_KB = 1440;

export async function makeSetupMedia(options: {
  target: LicensedTarget;
  agentExe: string;
  outDir: string;
  /** Replace media already in `outDir`. */
  force?: boolean;
  maxConnections?: number;
  logon?: LogonAccount;
  signal?: AbortSignal;
}): Promise<SetupMedia> {
  const call = { signal: options.signal };
  const files = await setupFiles(options);
  const outDir = resolve(options.outDir);
  await mkdir(outDir, { recursive: true });
  const stage = await mkdtemp(join(outDir, '.media-'));
  const untrack = trackPath(stage);
  try {
    const content = join(stage, 'content');
    await mkdir(content);
    for (const [name, data] of files) await writeFile(join(content, name), data);
    const names = [...files.keys()];
    const guard = { protect: [{ path: options.agentExe, role: 'the agent the media carry' }], force: options.force ?? false };
    const floppy = await checkOutputPath(join(outDir, `retrolab-${options.target}-setup.img`), guard);
    const iso = await checkOutputPath(join(outDir, `retrolab-${options.target}-setup.iso`), guard);
    await runTool('mkfs.fat', ['-C', '-n', 'RETROLAB', join(stage, 'floppy.img'), String(FLOPPY_KB)], call);
    await runTool('mcopy', ['-i', join(stage, 'floppy.img'), ...names.map((name) => join(content, name)), '::/'], call);
    await runTool('xorriso', ['-as', 'mkisofs', '-quiet', '-V', 'RETROLAB', '-J', '-o', join(stage, 'setup.iso'), content], call);
    await rename(join(stage, 'floppy.img'), floppy);
    await rename(join(stage, 'setup.iso'), iso);
    return { floppy, iso, files: names };
  } finally {
    await rm(stage, { recursive: true, force: true });
    untrack();
  }
}

/** The files on the media, by 8.3 name, CRLF text where text. */
export async function setupFiles(options: {
  target: LicensedTarget;
  agentExe: string;
  maxConnections?: number;
  logon?: LogonAccount;
}): Promise<Map<string, Buffer>> {
  const { target } = options;
  const agent = await readFile(options.agentExe);
  const files = new Map<string, Buffer>();
  files.set(GUEST_FILES.agent, agent);
  const reg = await autostartReg(target, options.logon ? { logon: options.logon } : {});
  files.set(GUEST_FILES.autostart, Buffer.from(reg.render(), 'latin1'));
  const lines = [
    '@ECHO OFF',
    `REM retrolab setup for ${target}: run it from the drive that holds it (A: or the CD)`,
    'IF NOT EXIST AGENT.EXE GOTO WRONGDIR',
    'IF NOT EXIST C:\\RETROLAB\\NUL MD C:\\RETROLAB',
    'COPY AGENT.EXE C:\\RETROLAB\\AGENT.EXE',
    'COPY AUTOSTRT.REG C:\\RETROLAB\\AUTOSTRT.DON',
    'COPY PREPARED.TXT C:\\RETROLAB\\PREPARED.TXT',
    'REGEDIT /S AUTOSTRT.REG',
  ];
  if (options.maxConnections !== undefined) {
    const withType = async (type: 'sz' | 'dword') =>
      (await autostartReg(target, { maxConnections: options.maxConnections, maxConnectionsType: type })).keys.filter((k) =>
        k.path.endsWith('\\MSTCP'),
      );
    const only = (keys: RegFile['keys']) => {
      const file = new RegFile();
      for (const key of keys) for (const [name, value] of key.values) file.set(key.path, name, value);
      return Buffer.from(file.render(), 'latin1');
    };
    files.set('MAXCONN.REG', only(await withType('sz')));
    if ((await loadLicensedOs(target)).os.maxConnectionsType === 'dword-without-winsock2') {
      // Plain 95 reads MaxConnections as a DWORD, 95 with the Winsock 2 update as a string (notes: "Connection limit").
      files.set('MAXCONND.REG', only(await withType('dword')));
      lines.push(
        'IF EXIST %WINDIR%\\SYSTEM\\WS2_32.DLL REGEDIT /S MAXCONN.REG',
        'IF NOT EXIST %WINDIR%\\SYSTEM\\WS2_32.DLL REGEDIT /S MAXCONND.REG',
      );
    } else {
      lines.push('REGEDIT /S MAXCONN.REG');
    }
  }
  lines.push(
    'ECHO retrolab: done. Restart Windows; the agent then starts by itself on COM1.',
    'GOTO END',
    ':WRONGDIR',
    'ECHO retrolab: change to the drive that holds SETUP.BAT (type A: or the CD letter), then run SETUP',
    ':END',
  );
  files.set('SETUP.BAT', Buffer.from(`${lines.join('\r\n')}\r\n`, 'latin1'));
  files.set(
    GUEST_FILES.marker,
    Buffer.from(
      renderMarker({
        format: MARKER_FORMAT,
        target,
        retrolabVersion: await retrolabVersion(),
        agentSha256: sha256(agent),
        maxConnections: options.maxConnections ?? null,
        preparedFrom: 'setup-media',
        preparedAt: new Date().toISOString(),
      }),
      'latin1',
    ),
  );
  return files;
}
