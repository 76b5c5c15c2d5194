import { ConfigError } from '../errors.ts';
import type { InstallProfile } from '../os/os-profiles.ts';
import { AGENT_COMMAND } from './guest-payload.ts';
import { quoteInput } from '../util/quote-input.ts';

/**
 * Answer files for unattended installs, one writer per answer-file kind of
 * the OS profiles, with the keys the notes document
 * (shared/notes/legacy-install-facts.md, Q1-Q3):
 * - MSBATCH.INF for `setup <path>\MSBATCH.INF` on 95/98/ME;
 * - UNATTEND.TXT for `winnt /b /s:C:\I386 /u:A:\UNATTEND.TXT` on NT 4 (KB Q155197);
 * - WINNT.SIF on the floppy in A: when the Windows 2000 CD boots, with the
 *   [Data] section CD-started setup needs.
 * The agent's autostart is written offline by `image prepare` after the
 * install (the SOFTWARE hive on NT); 9x also gets it from MSBATCH's AddReg.
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
  if (!NAME.test(computerName))
    throw new ConfigError(`--computer-name: ${quoteInput(computerName)} must be 1-15 letters, digits or dashes (a NetBIOS name)`);
  if (!/^[A-Za-z0-9-]{5,40}$/.test(answers.productKey)) {
    throw new ConfigError(
      `--product-key: ${quoteInput(answers.productKey)} does not look like a product key (letters, digits and dashes, e.g. XXXXX-XXXXX-XXXXX-XXXXX-XXXXX or 123-4567890)`,
    );
  }
  return {
    productKey: answers.productKey,
    computerName,
    workgroup: answers.workgroup ?? 'WORKGROUP',
    fullName: answers.fullName ?? 'retrolab',
  };
}

/** Sections of lines (`key=value`, or the plain lines AddReg uses) as CRLF text. */
function ini(sections: [string, string[]][]): string {
  return `${sections.map(([name, lines]) => [`[${name}]`, ...lines, ''].join('\r\n')).join('\r\n')}\r\n`;
}

export function answerFiles(install: Pick<InstallProfile, 'answerFile'>, input: InstallAnswers): AnswerFiles {
  const a = check(input);
  switch (install.answerFile) {
    case 'MSBATCH.INF':
      return { files: new Map([['MSBATCH.INF', msbatchInf(a)]]) };
    case 'UNATTEND.TXT':
      return { files: new Map([['UNATTEND.TXT', unattendTxt(a)]]) };
    case 'WINNT.SIF':
      return { files: new Map([['WINNT.SIF', winntSif(a)]]) };
  }
}

/** 95/98/ME (Win95 RK App. D, Win98 RK App. D; ME through the same writer as dockur/windows and Intel's PUSHWME.TXT). */
function msbatchInf(a: Required<InstallAnswers>): string {
  return ini([
    ['Setup', ['Express=1', 'EBD=0', 'ShowEula=0', 'ChangeDir=0', `ProductKey="${a.productKey}"`]],
    ['NameAndOrg', [`Name="${a.fullName}"`, 'Org="retrolab"', 'Display=0']],
    ['Network', [`ComputerName=${a.computerName}`, `Workgroup=${a.workgroup}`, 'Display=0', 'Protocols=MSTCP']],
    ['MSTCP', ['DHCP=1']],
    ['Install', ['AddReg=Retrolab.Autostart']],
    ['Retrolab.Autostart', [`HKLM,"Software\\Microsoft\\Windows\\CurrentVersion\\RunServices",RetrolabAgent,,"${AGENT_COMMAND}"`]],
  ]);
}

/**
 * NT 4 (KB Q155197): OemPreinstall=Yes, because NoWaitAfterTextMode and
 * NoWaitAfterGuiMode are "only valid when OemPreinstall = Yes";
 * FileSystem=LeaveAlone and no ExtendOemPartition, because OemPreinstall
 * with ConvertNTFS and ExtendOemPartition stops at "Pre-installation
 * completed successfully" without a later setupdd.sys (KB Q143473); C: stays
 * FAT, which `image prepare` needs. Every section a key names exists ("or
 * Setup may stop responding"). OemSkipEula is not in Q155197 (setup ignores
 * keys it does not know).
 */
function unattendTxt(a: Required<InstallAnswers>): string {
  return ini([
    [
      'Unattended',
      [
        'OemPreinstall=Yes',
        'NoWaitAfterTextMode=1',
        'NoWaitAfterGuiMode=1',
        'ConfirmHardware=No',
        'NtUpgrade=No',
        'Win31Upgrade=No',
        'TargetPath=\\WINNT',
        'FileSystem=LeaveAlone',
        'OemSkipEula=Yes',
      ],
    ],
    ['GuiUnattended', ['OemSkipWelcome=1', 'OEMBlankAdminPassword=1', 'TimeZone="(GMT-08:00) Pacific Time (US & Canada); Tijuana"']],
    ['UserData', [`FullName="${a.fullName}"`, 'OrgName="retrolab"', `ComputerName=${a.computerName}`, `ProductId="${a.productKey}"`]],
    ['Network', ['DetectAdapters=""', 'InstallProtocols=Retrolab.Protocols', `JoinWorkgroup=${a.workgroup}`]],
    ['Retrolab.Protocols', ['TC=Retrolab.TcpIp']],
    ['Retrolab.TcpIp', ['DHCP=Yes']],
  ]);
}

/**
 * Windows 2000 booted from its CD reads WINNT.SIF from the floppy in A:, and
 * needs [Data] there: AutoPartition=1, MsDosInitiated="0",
 * UnattendedInstall="Yes" (legacy-install-facts.md, Q3: the MS Press
 * Windows 2000 training kit and the CD-started setup keys). FullUnattended
 * needs [UserData] ProductID (KB Q250985). FileSystem=LeaveAlone keeps C:
 * FAT for `image prepare`. The other sections ([GuiUnattended] with 2000's
 * numeric TimeZone, [Networking], [Identification]) follow the layout of
 * Microsoft's "Windows 2000 Guide to Unattended Setup" as commonly used;
 * that guide was not read here, so they are unverified.
 */
function winntSif(a: Required<InstallAnswers>): string {
  return ini([
    ['Data', ['AutoPartition=1', 'MsDosInitiated="0"', 'UnattendedInstall="Yes"']],
    ['Unattended', ['UnattendMode=FullUnattended', 'OemSkipEula=Yes', 'OemPreinstall=No', 'TargetPath=\\WINNT', 'FileSystem=LeaveAlone']],
    ['GuiUnattended', ['AdminPassword=*', 'OEMSkipRegional=1', 'OemSkipWelcome=1', 'TimeZone=004']],
    ['UserData', [`FullName="${a.fullName}"`, 'OrgName="retrolab"', `ComputerName=${a.computerName}`, `ProductID="${a.productKey}"`]],
    ['Networking', ['InstallDefaultComponents=Yes']],
    ['Identification', [`JoinWorkgroup=${a.workgroup}`]],
  ]);
}
