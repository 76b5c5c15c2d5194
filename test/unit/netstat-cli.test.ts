import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { retrolabInProcess as retrolab } from '../support/cli-process.ts';

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/netstat/${name}`, import.meta.url));

describe('retrolab netstat parse', () => {
  it('prints the rows and per-state counts of NETSTAT output as JSON', async () => {
    const out = await retrolab(['netstat', 'parse', fixture('win95-leaked.txt')]);
    expect(out.code, out.stderr).toBe(0);
    const json = JSON.parse(out.stdout) as { file: string; source: string; rows: unknown[]; counts: Record<string, number>; udp: number };
    expect(json.source).toBe('netstat');
    expect(json.rows).toHaveLength(27);
    expect(json.counts).toMatchObject({ CLOSE_WAIT: 18, FIN_WAIT_2: 2, TIME_WAIT: 1, SYN_SENT: 1, LISTEN: 3 });
    expect(json.udp).toBe(2);
  });

  it('recognises tcptab output', async () => {
    const out = await retrolab(['netstat', 'parse', fixture('tcptab-win98.txt')]);
    expect(out.code, out.stderr).toBe(0);
    expect(JSON.parse(out.stdout)).toMatchObject({ source: 'tcptab', counts: { FIN_WAIT_2: 1 } });
  });

  it('turns unreadable input into a usage error (exit 2) that quotes the line', async () => {
    const bad = await retrolab(['netstat', 'parse', fixture('malformed-bad-command.txt')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('malformed-bad-command.txt:1');
    expect(bad.stderr).toContain('"Bad command or file name"');
    expect((await retrolab(['netstat', 'parse', fixture('tcptab-win98.txt'), '--format', 'netstat'])).code).toBe(2);
  });

  it('reads NETSTAT without -n as pasted, and says which rows carry names', async () => {
    const out = await retrolab(['netstat', 'parse', fixture('malformed-names-without-n.txt')]);
    expect(out.code, out.stderr).toBe(0);
    const json = JSON.parse(out.stdout) as { rows: { local: unknown; named?: boolean }[]; namedRows: number[]; notes: string[] };
    expect(json.namedRows).toEqual([5, 6]);
    expect(json.rows[1]).toMatchObject({ local: { addr: 'retro95', port: 139, service: 'nbsession' }, named: true });
    expect(json.notes).toEqual([expect.stringMatching(/^the rows on lines 5, 6 carry host or service names \(NETSTAT without -n\)/)]);
  });

  it('explains its usage', async () => {
    const missing = await retrolab(['netstat', 'parse']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/FILE is required .*\nusage: retrolab netstat parse FILE/);
    expect((await retrolab(['netstat', 'parse', 'a', '--format', 'xml'])).stderr).toMatch(
      /--format: "xml" is not one of auto, netstat, tcptab/,
    );
    expect((await retrolab(['netstat', 'parse', '/nonexistent/netstat.txt'])).stderr).toMatch(/cannot read it/);
    expect((await retrolab(['netstat', 'show'])).stderr).toMatch(/unknown netstat subcommand "show"; choose from parse/);
    const help = await retrolab(['netstat', 'parse', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('usage: retrolab netstat parse FILE');
  });
});
