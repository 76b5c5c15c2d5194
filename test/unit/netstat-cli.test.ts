import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { netstatCommand, netstatParseCommand } from '../../src/cli/commands/netstat-parse.ts';
import { ConfigError } from '../../src/errors.ts';

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/netstat/${name}`, import.meta.url));

function capture() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const chunks: string[] = [];
  stdout.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
  return { io: { stdout, stderr }, text: () => chunks.join('') };
}

describe('retrolab netstat parse', () => {
  it('prints the rows and per-state counts of NETSTAT output as JSON', async () => {
    const out = capture();
    expect(await netstatParseCommand([fixture('win95-leaked.txt')], out.io)).toBe(0);
    const json = JSON.parse(out.text()) as { file: string; source: string; rows: unknown[]; counts: Record<string, number>; udp: number };
    expect(json.source).toBe('netstat');
    expect(json.rows).toHaveLength(27);
    expect(json.counts).toMatchObject({ CLOSE_WAIT: 18, FIN_WAIT_2: 2, TIME_WAIT: 1, SYN_SENT: 1, LISTEN: 3 });
    expect(json.udp).toBe(2);
  });

  it('recognises tcptab output, through the netstat command too', async () => {
    const out = capture();
    expect(await netstatCommand(['parse', fixture('tcptab-win98.txt')], out.io)).toBe(0);
    expect(JSON.parse(out.text())).toMatchObject({ source: 'tcptab', counts: { FIN_WAIT_2: 1 } });
  });

  it('turns unreadable input into a ConfigError that quotes the line', async () => {
    const error = await netstatParseCommand([fixture('malformed-bad-command.txt')], capture().io).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain('malformed-bad-command.txt:1');
    expect((error as ConfigError).message).toContain('"Bad command or file name"');
    await expect(netstatParseCommand([fixture('tcptab-win98.txt'), '--format', 'netstat'], capture().io)).rejects.toThrow(ConfigError);
  });

  it('reads NETSTAT without -n as pasted, and says which rows carry names', async () => {
    const out = capture();
    expect(await netstatParseCommand([fixture('malformed-names-without-n.txt')], out.io)).toBe(0);
    const json = JSON.parse(out.text()) as { rows: { local: unknown; named?: boolean }[]; namedRows: number[]; notes: string[] };
    expect(json.namedRows).toEqual([5, 6]);
    expect(json.rows[1]).toMatchObject({ local: { addr: 'retro95', port: 139, service: 'nbsession' }, named: true });
    expect(json.notes).toEqual([expect.stringMatching(/^the rows on lines 5, 6 carry host or service names \(NETSTAT without -n\)/)]);
  });

  it('explains its usage', async () => {
    await expect(netstatParseCommand([], capture().io)).rejects.toThrow(/FILE is missing\nusage: retrolab netstat parse/);
    await expect(netstatParseCommand(['a', '--format', 'xml'], capture().io)).rejects.toThrow(/--format: "xml"/);
    await expect(netstatParseCommand(['/nonexistent/netstat.txt'], capture().io)).rejects.toThrow(/cannot read it/);
    await expect(netstatCommand(['show'], capture().io)).rejects.toThrow(/unknown netstat subcommand "show"/);
    const out = capture();
    expect(await netstatParseCommand(['--help'], out.io)).toBe(0);
    expect(out.text()).toContain('usage: retrolab netstat parse FILE');
  });
});
