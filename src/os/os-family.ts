/**
 * What the guest OS families (Windows 9x, Windows NT, Wine) do differently
 * once a guest runs: the shell the agent's exec goes through, how a program
 * starts in the background, how a socket table is captured, how the agent is
 * made to start by itself, and how an installed system is found on its disk.
 * Everything a family shares lives here once; what differs between members of
 * a family (versions, answer files, import lists) is in os-profiles.ts.
 *
 * This folder imports nothing else of retrolab's: it sits at the bottom of
 * the dependency graph, under config, pe, licensed, targets and scenarios.
 */

export const OS_FAMILIES = ['win9x', 'nt', 'wine'] as const;
export type OsFamilyName = (typeof OS_FAMILIES)[number];

export interface OsFamily {
  name: OsFamilyName;
  title: string;
  /** The command interpreter the agent's exec runs command lines with. */
  shell: 'command.com' | 'cmd.exe';
  /**
   * The command line that starts `commandLine` detached, so the agent's exec
   * returns while it runs. command.com's START (95/98/ME) takes no title and
   * opens a window; /m starts it minimised. cmd's START takes the first quoted
   * word as the window title, and /b keeps it in the same console.
   */
  backgroundStart(commandLine: string): string;
  /**
   * How a socket table reaches the host. `agent`: the agent's own NETSTAT
   * call, and programs' stdout in the exec reply, because command.com's
   * redirection is already taken by the agent's capture there (one reply
   * holds ~400 rows; 9x's table has 100 slots by default). `file`: the
   * command's output is redirected to a guest file and fetched in chunks
   * (NT and Wine can hold more rows than one reply carries).
   */
  snapshot: { netstatCommand: string; capture: 'agent' | 'file' };
  /**
   * How the agent starts by itself after boot:
   * - `runservices-autoexec`: AUTOSTRT.REG (RunServices, no logon prompt) is
   *   imported once by real-mode REGEDIT from AUTOEXEC.BAT, and WIN.INI
   *   `run=` starts the agent too (9x);
   * - `winlogon-hive`: AutoAdminLogon and a Run value written into the
   *   SOFTWARE hive offline with hivex (NT);
   * - `container-entrypoint`: the runner container starts it (Wine).
   */
  autostart: 'runservices-autoexec' | 'winlogon-hive' | 'container-entrypoint';
  /**
   * Where an installed system says where it lives on its C: (what image
   * preparation and the install driver's installed check read):
   * MSDOS.SYS `[Paths] WinDir` → WIN.INI on 9x, BOOT.INI → SYSTEM32\CONFIG\SOFTWARE on NT.
   */
  installedLayout: 'msdos-sys' | 'boot-ini' | 'none';
  /** MSTCP MaxConnections exists (the 9x TCP stack's socket table size). */
  mstcpMaxConnections: boolean;
  /** An account logs on by itself (NT's Winlogon AutoAdminLogon): --user/--password apply. */
  automaticLogon: boolean;
  /** The guest folder programs are deployed to. */
  guestWorkDir: string;
}

function cmdStart(commandLine: string): string {
  return `start "retrolab" /b ${commandLine}`;
}

export const FAMILY_PROFILES: Readonly<Record<OsFamilyName, OsFamily>> = {
  win9x: {
    name: 'win9x',
    title: 'Windows 95/98/ME',
    shell: 'command.com',
    backgroundStart: (commandLine) => `start /m ${commandLine}`,
    snapshot: { netstatCommand: 'netstat -an', capture: 'agent' },
    autostart: 'runservices-autoexec',
    installedLayout: 'msdos-sys',
    mstcpMaxConnections: true,
    automaticLogon: false,
    guestWorkDir: 'C:\\RETROLAB',
  },
  nt: {
    name: 'nt',
    title: 'Windows NT',
    shell: 'cmd.exe',
    backgroundStart: cmdStart,
    snapshot: { netstatCommand: 'netstat -an', capture: 'file' },
    autostart: 'winlogon-hive',
    installedLayout: 'boot-ini',
    mstcpMaxConnections: false,
    automaticLogon: true,
    guestWorkDir: 'C:\\RETROLAB',
  },
  wine: {
    name: 'wine',
    title: 'Wine',
    shell: 'cmd.exe',
    backgroundStart: cmdStart,
    snapshot: { netstatCommand: 'netstat -an', capture: 'file' },
    autostart: 'container-entrypoint',
    installedLayout: 'none',
    mstcpMaxConnections: false,
    automaticLogon: false,
    guestWorkDir: 'C:\\retrolab',
  },
};
