import { describe, expect, it } from 'vitest';
import { answerFiles } from '../../src/licensed/answer-files.ts';
import { getIniValue } from '../../src/licensed/ini-text.ts';
import { loadLicensedOs } from '../../src/licensed/licensed-os.ts';

const install = async (target: string) => (await loadLicensedOs(target)).install;

/** Every `[section]` of an INI text, in order, with its keys in order. */
function sections(text: string): [string, string[]][] {
  const out: [string, string[]][] = [];
  for (const line of text.split('\r\n')) {
    const header = /^\[(.+)\]$/.exec(line);
    if (header) out.push([header[1]!, []]);
    else if (line.includes('=') && out.length > 0) out.at(-1)![1].push(line.slice(0, line.indexOf('=')));
  }
  return out;
}

describe('answer files carry the documented keys', () => {
  it('msbatch.inf for 98: [Setup] Express/EBD/ShowEula/ProductKey, [NameAndOrg] Display, [Network], [MSTCP] DHCP, [Install] AddReg for the agent', async () => {
    const text = answerFiles(await install('win98'), { productKey: 'AAAAA-BBBBB-CCCCC-DDDDD-EEEEE', computerName: 'LAB98' }).files.get(
      'MSBATCH.INF',
    )!;
    expect(text).not.toMatch(/[^\r]\n/);
    const value = (section: string, key: string) => getIniValue(text, section, key);
    expect([value('Setup', 'Express'), value('Setup', 'EBD'), value('Setup', 'ShowEula'), value('Setup', 'ProductKey')]).toEqual([
      '1',
      '0',
      '0',
      '"AAAAA-BBBBB-CCCCC-DDDDD-EEEEE"',
    ]);
    expect(value('NameAndOrg', 'Display')).toBe('0');
    expect([value('Network', 'ComputerName'), value('Network', 'Workgroup'), value('Network', 'Display')]).toEqual([
      'LAB98',
      'WORKGROUP',
      '0',
    ]);
    expect(value('MSTCP', 'DHCP')).toBe('1');
    expect(value('Install', 'AddReg')).toBe('Retrolab.Autostart');
    expect(text).toContain(
      '[Retrolab.Autostart]\r\nHKLM,"Software\\Microsoft\\Windows\\CurrentVersion\\RunServices",RetrolabAgent,,"C:\\RETROLAB\\AGENT.EXE"\r\n',
    );
  });

  it('winme installs through the same MSBATCH.INF as 95 and 98 (PUSHWME.TXT, dockur/windows)', async () => {
    const answers = { productKey: 'AAAAA-BBBBB-CCCCC-DDDDD-EEEEE' };
    expect((await install('winme')).answerFile).toBe('MSBATCH.INF');
    expect(answerFiles(await install('winme'), answers).files).toEqual(answerFiles(await install('win98'), answers).files);
  });

  it('unattend.txt for NT 4, section by section as KB Q155197 documents them, for winnt /b (no ExtendOemPartition, FileSystem=LeaveAlone)', async () => {
    const { files } = answerFiles(await install('winnt4'), { productKey: '123-4567890' });
    expect([...files.keys()]).toEqual(['UNATTEND.TXT']);
    const text = files.get('UNATTEND.TXT')!;
    expect(sections(text)).toEqual([
      [
        'Unattended',
        [
          'OemPreinstall',
          'NoWaitAfterTextMode',
          'NoWaitAfterGuiMode',
          'ConfirmHardware',
          'NtUpgrade',
          'Win31Upgrade',
          'TargetPath',
          'FileSystem',
          'OemSkipEula',
        ],
      ],
      ['GuiUnattended', ['OemSkipWelcome', 'OEMBlankAdminPassword', 'TimeZone']],
      ['UserData', ['FullName', 'OrgName', 'ComputerName', 'ProductId']],
      ['Network', ['DetectAdapters', 'InstallProtocols', 'JoinWorkgroup']],
      ['Retrolab.Protocols', ['TC']],
      ['Retrolab.TcpIp', ['DHCP']],
    ]);
    const value = (section: string, key: string) => getIniValue(text, section, key);
    // NoWait* take effect only with OemPreinstall=Yes (Q155197); ConvertNTFS + ExtendOemPartition stop setup (Q143473).
    expect([
      value('Unattended', 'OemPreinstall'),
      value('Unattended', 'NoWaitAfterTextMode'),
      value('Unattended', 'NoWaitAfterGuiMode'),
    ]).toEqual(['Yes', '1', '1']);
    expect([value('Unattended', 'FileSystem'), value('Unattended', 'ExtendOemPartition'), value('Unattended', 'TargetPath')]).toEqual([
      'LeaveAlone',
      undefined,
      '\\WINNT',
    ]);
    expect([value('Unattended', 'ConfirmHardware'), value('Unattended', 'NtUpgrade'), value('Unattended', 'Win31Upgrade')]).toEqual([
      'No',
      'No',
      'No',
    ]);
    expect(value('GuiUnattended', 'OEMBlankAdminPassword')).toBe('1');
    expect([value('UserData', 'FullName'), value('UserData', 'ComputerName'), value('UserData', 'ProductId')]).toEqual([
      '"retrolab"',
      'RETROLAB',
      '"123-4567890"',
    ]);
    // Every section a key points to exists, "or Setup may stop responding".
    expect(value('Network', 'InstallProtocols')).toBe('Retrolab.Protocols');
    expect(value('Retrolab.Protocols', 'TC')).toBe('Retrolab.TcpIp');
    expect(value('Retrolab.TcpIp', 'DHCP')).toBe('Yes');
  });

  it('winnt.sif for the Windows 2000 CD: [Data] first with the keys CD-started setup needs, ProductID for FullUnattended', async () => {
    const { files } = answerFiles(await install('win2000'), { productKey: 'AAAAA-BBBBB-CCCCC-DDDDD-EEEEE', computerName: 'LAB2K' });
    expect([...files.keys()]).toEqual(['WINNT.SIF']);
    const text = files.get('WINNT.SIF')!;
    expect(sections(text)[0]).toEqual(['Data', ['AutoPartition', 'MsDosInitiated', 'UnattendedInstall']]);
    const value = (section: string, key: string) => getIniValue(text, section, key);
    expect([value('Data', 'AutoPartition'), value('Data', 'MsDosInitiated'), value('Data', 'UnattendedInstall')]).toEqual([
      '1',
      '"0"',
      '"Yes"',
    ]);
    expect([value('Unattended', 'UnattendMode'), value('Unattended', 'FileSystem')]).toEqual(['FullUnattended', 'LeaveAlone']);
    expect([value('UserData', 'ProductID'), value('UserData', 'ComputerName')]).toEqual(['"AAAAA-BBBBB-CCCCC-DDDDD-EEEEE"', 'LAB2K']);
  });

  it('bad keys and names are refused with the flag named', async () => {
    const win95 = await install('win95');
    expect(() => answerFiles(win95, { productKey: 'x' })).toThrow(/--product-key: "x" does not look like a product key/);
    expect(() => answerFiles(win95, { productKey: '12345-12345', computerName: 'way too long a name' })).toThrow(/--computer-name/);
  });
});
