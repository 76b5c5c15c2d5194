import { ConfigError } from '../errors.ts';
import { AGENT_COMMAND } from './guest-payload.ts';
import type { LicensedTarget } from './licensed-config.ts';
import { quoteInput } from '../util/quote-input.ts';

/**
 * Answer files for unattended installs, with the keys the notes document
 * (shared/notes/legacy-windows.md, "Unattended installs and autostart"):
 * msbatch.inf for `setup <path>\\msbatch.inf` on 95/98, unattend.txt plus
 * `$OEM$` files for `winnt /u:unattend.txt` on NT 4. The agent's autostart
 * is part of the install, so the result needs no separate preparation
 * beyond the files under C:\\RETROLAB.
 */

export interface InstallAnswers {
  productKey: string;
  computerName?: string;
  workgroup?: string;
  fullName?: string;
}

export interface AnswerFiles {
  /** File name (8.3, as on the answer floppy) → CRLF text. */
  files: Map<string, string>;
}

const NAME = /^[A-Za-z0-9-]{1,15}$/;

function check(answers: InstallAnswers): Required<InstallAnswers> {
  const computerName = answers.computerName ?? 'RETROLAB';
  if (!NAME.test(computerName)) throw new ConfigError(`--computer-name: ${quoteInput(computerName)} must be 1-15 letters, digits or dashes (a NetBIOS name)`);
  if (!/^[A-Za-z0-9-]{5,40}$/.test(answers.productKey)) {
    throw new ConfigError(`--product-key: ${quoteInput(answers.productKey)} does not look like a product key (letters, digits and dashes, e.g. XXXXX-XXXXX-XXXXX-XXXXX-XXXXX or 123-4567890)`);
  }
  return { productKey: answers.productKey, computerName, workgroup: answers.workgroup ?? 'WORKGROUP', fullName: answers.fullName ?? 'retrolab' };
}

/** Sections of lines (`key=value`, or the plain lines AddReg and cmdlines.txt use) as CRLF text. */
function ini(sections: [string, string[]][]): string {
  return `${sections.map(([name, lines]) => [`[${name}]`, ...lines, ''].join('\r\n')).join('\r\n')}\r\n`;
}

export function answerFiles(target: LicensedTarget, input: InstallAnswers): AnswerFiles {
  const a = check(input);
  const files = new Map<string, string>();
  if (target === 'winnt4') {
    files.set(
      'UNATTEND.TXT',
      ini([
        ['Unattended', ['OemPreinstall=Yes', 'NoWaitAfterTextMode=1', 'NoWaitAfterGuiMode=1', 'OemSkipEula=Yes', 'FileSystem=LeaveAlone', 'TargetPath=WINNT']],
        ['GuiUnattended', ['OEMBlankAdminPassword=1', 'OemSkipWelcome=1', 'TimeZone="(GMT) Greenwich Mean Time; Dublin, Edinburgh, London"']],
        ['UserData', [`FullName="${a.fullName}"`, 'OrgName="retrolab"', `ComputerName=${a.computerName}`, `ProductId="${a.productKey}"`]],
        ['Network', [`JoinWorkgroup=${a.workgroup}`]],
      ]),
    );
    // $OEM$\C lands on C:\ (the agent and its .reg); $OEM$\cmdlines.txt runs at the end of GUI setup (Q155197).
    files.set('$OEM$/CMDLINES.TXT', ini([['Commands', ['"regedit /s C:\\RETROLAB\\AUTOSTRT.REG"']]]));
    return { files };
  }
  files.set(
    'MSBATCH.INF',
    ini([
      ['Setup', ['Express=1', 'EBD=0', 'ShowEula=0', 'ChangeDir=0', `ProductKey="${a.productKey}"`]],
      ['NameAndOrg', [`Name="${a.fullName}"`, 'Org="retrolab"', 'Display=0']],
      ['Network', [`ComputerName=${a.computerName}`, `Workgroup=${a.workgroup}`, 'Display=0', 'Protocols=MSTCP']],
      ['Install', ['AddReg=Retrolab.Autostart']],
      ['Retrolab.Autostart', [`HKLM,"Software\\Microsoft\\Windows\\CurrentVersion\\RunServices",RetrolabAgent,,"${AGENT_COMMAND}"`]],
    ]),
  );
  return { files };
}
