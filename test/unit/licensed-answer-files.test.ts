import { describe, expect, it } from 'vitest';
import { answerFiles } from '../../src/licensed/answer-files.ts';
import { getIniValue } from '../../src/licensed/ini-text.ts';

describe('answer files carry the documented keys', () => {
  it('msbatch.inf for 98: [Setup] Express/EBD/ShowEula/ProductKey, [NameAndOrg] Display, [Network], [Install] AddReg for the agent', () => {
    const text = answerFiles('win98', { productKey: 'AAAAA-BBBBB-CCCCC-DDDDD-EEEEE', computerName: 'LAB98' }).files.get('MSBATCH.INF')!;
    expect(text).not.toMatch(/[^\r]\n/);
    const value = (section: string, key: string) => getIniValue(text, section, key);
    expect([value('Setup', 'Express'), value('Setup', 'EBD'), value('Setup', 'ShowEula'), value('Setup', 'ProductKey')]).toEqual(['1', '0', '0', '"AAAAA-BBBBB-CCCCC-DDDDD-EEEEE"']);
    expect(value('NameAndOrg', 'Display')).toBe('0');
    expect([value('Network', 'ComputerName'), value('Network', 'Workgroup'), value('Network', 'Display')]).toEqual(['LAB98', 'WORKGROUP', '0']);
    expect(value('Install', 'AddReg')).toBe('Retrolab.Autostart');
    expect(text).toContain('[Retrolab.Autostart]\r\nHKLM,"Software\\Microsoft\\Windows\\CurrentVersion\\RunServices",RetrolabAgent,,"C:\\RETROLAB\\AGENT.EXE"\r\n');
  });

  it('unattend.txt for NT 4: OemPreinstall, NoWaitAfter*, OEMBlankAdminPassword, UserData; cmdlines.txt imports the .reg', () => {
    const { files } = answerFiles('winnt4', { productKey: '123-4567890' });
    const text = files.get('UNATTEND.TXT')!;
    const value = (section: string, key: string) => getIniValue(text, section, key);
    expect([value('Unattended', 'OemPreinstall'), value('Unattended', 'NoWaitAfterTextMode'), value('Unattended', 'NoWaitAfterGuiMode')]).toEqual(['Yes', '1', '1']);
    expect(value('GuiUnattended', 'OEMBlankAdminPassword')).toBe('1');
    expect([value('UserData', 'FullName'), value('UserData', 'ComputerName'), value('UserData', 'ProductId')]).toEqual(['"retrolab"', 'RETROLAB', '"123-4567890"']);
    expect(files.get('$OEM$/CMDLINES.TXT')).toBe('[Commands]\r\n"regedit /s C:\\RETROLAB\\AUTOSTRT.REG"\r\n\r\n');
  });

  it('bad keys and names are refused with the flag named', () => {
    expect(() => answerFiles('win95', { productKey: 'x' })).toThrow(/--product-key: "x" does not look like a product key/);
    expect(() => answerFiles('win95', { productKey: '12345-12345', computerName: 'way too long a name' })).toThrow(/--computer-name/);
  });
});
