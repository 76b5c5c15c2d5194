import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostCommandError, runHostCommand } from '../../src/util/host-command.ts';
import { PROJECT_ROOT } from '../../src/util/paths.ts';

// guest-apps/provider/choose.c (the KB Q216603 provider choice of dupclose),
// built with the host's gcc against test/support/host-winsock/winsock2.h and
// fed crafted WSAPROTOCOL_INFOA lists through test/support/provider-choice-driver.c.
// The same file runs under Wine on its real list in test/integration/guest-programs.test.ts.

interface Provider {
  catalogId: number;
  af: number;
  type: number;
  protocol: number;
  flags1: number;
  chainLen: number;
  name: string;
}

const AF_INET = 2;
const AF_INET6 = 23;
const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;
const TCP = 6;
const UDP = 17;
/** XP1_GUARANTEED_DELIVERY|ORDER, GRACEFUL_CLOSE, EXPEDITED_DATA, IFS_HANDLES: MSAFD Tcpip [TCP/IP]'s flags. */
const PLAIN_TCP_FLAGS = 0x20066;
const XP1_QOS_SUPPORTED = 0x2000;
const XP1_GUARANTEED_DELIVERY = 0x2;

const tcp = (catalogId: number, name: string, extra: Partial<Provider> = {}): Provider => ({
  catalogId,
  af: AF_INET,
  type: SOCK_STREAM,
  protocol: TCP,
  flags1: PLAIN_TCP_FLAGS,
  chainLen: 1,
  name,
  ...extra,
});
const udp = (catalogId: number, name: string): Provider => ({
  catalogId,
  af: AF_INET,
  type: SOCK_DGRAM,
  protocol: UDP,
  flags1: 0x20609,
  chainLen: 1,
  name,
});

let work: string;
let driver: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'provider-choice-'));
  driver = join(work, 'provider-choice');
  try {
    await runHostCommand(
      'gcc',
      [
        '-std=c89',
        '-pedantic',
        '-Wall',
        '-Wextra',
        '-Werror',
        '-Itest/support/host-winsock',
        '-Iguest-apps/provider',
        '-o',
        driver,
        'test/support/provider-choice-driver.c',
        'guest-apps/provider/choose.c',
      ],
      { cwd: PROJECT_ROOT, timeoutMs: 60_000 },
    );
  } catch (error) {
    if (error instanceof HostCommandError && error.missing) {
      throw new Error('this test builds guest-apps/provider/choose.c with the host C compiler: install gcc (apt-get install gcc)', {
        cause: error,
      });
    }
    throw error;
  }
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function choose(list: readonly Provider[]): Promise<number> {
  // A blank last line (the driver skips it) so that an empty list still closes stdin.
  const input = `${list.map((p) => `${p.catalogId} ${p.af} ${p.type} ${p.protocol} ${p.flags1.toString(16)} ${p.chainLen} ${p.name}\n`).join('')}\n`;
  const { stdout } = await runHostCommand(driver, [], { input, timeoutMs: 10_000 });
  const match = /^index=(-?\d+)$/m.exec(stdout);
  if (match === null) throw new Error(`the driver printed no index: ${stdout}`);
  return Number(match[1]);
}

describe('provider_choose (KB Q216603)', () => {
  it('skips a QoS-capable TCP provider listed first, the one socket() would take on 98 SE and 2000', async () => {
    const list = [
      tcp(1001, 'RSVP_TCP_Service_Provider', { flags1: PLAIN_TCP_FLAGS | XP1_QOS_SUPPORTED }),
      udp(1002, 'RSVP_UDP_Service_Provider'),
      tcp(1003, 'MSAFD_Tcpip_[TCP/IP]'),
    ];
    expect(await choose(list)).toBe(2);
  });

  it('never takes a layered entry, and prefers a base provider over a chain', async () => {
    const layered = tcp(2001, 'an_LSP', { chainLen: 0 });
    const chain = tcp(2002, 'an_LSP_over_[TCP/IP]', { chainLen: 2 });
    const base = tcp(2003, 'MSAFD_Tcpip_[TCP/IP]');
    expect(await choose([layered, chain, base])).toBe(2);
    // With no base provider the chain is the one left; the layered entry never.
    expect(await choose([layered, chain])).toBe(1);
    expect(await choose([layered])).toBe(-1);
  });

  it('answers -1 when no provider fits', async () => {
    const list = [
      tcp(3001, 'MSAFD_Tcpip_[TCP/IP]_with_QoS', { flags1: PLAIN_TCP_FLAGS | XP1_QOS_SUPPORTED }),
      udp(3002, 'MSAFD_Tcpip_[UDP/IP]'),
      tcp(3003, 'TCP/IPv6', { af: AF_INET6 }),
      tcp(3004, 'no_guaranteed_delivery', { flags1: PLAIN_TCP_FLAGS & ~XP1_GUARANTEED_DELIVERY }),
      tcp(3005, 'stream_but_not_TCP', { protocol: 0 }),
    ];
    expect(await choose(list)).toBe(-1);
    expect(await choose([])).toBe(-1);
  });

  it('takes the first of equal providers (the catalog order) and skips IPv6 before it', async () => {
    const list = [tcp(4001, 'TCP/IPv6', { af: AF_INET6 }), tcp(4002, 'first_[TCP/IP]'), tcp(4003, 'second_[TCP/IP]')];
    expect(await choose(list)).toBe(1);
  });

  it("takes TCP/IP from Wine 8's list as the providers program printed it", async () => {
    // event=entry lines of providers.exe under the wine-runner image (Wine 8).
    const wine = [
      tcp(1001, 'TCP/IP'),
      udp(1002, 'UDP/IP'),
      tcp(1004, 'TCP/IPv6', { af: AF_INET6 }),
      { ...udp(1005, 'UDP/IPv6'), af: AF_INET6 },
      { catalogId: 1030, af: 6, type: 2, protocol: 1000, flags1: 0x40609, chainLen: 1, name: 'IPX' },
      { catalogId: 1031, af: 6, type: 5, protocol: 1256, flags1: 0x2001e, chainLen: 1, name: 'SPX' },
      { catalogId: 1033, af: 6, type: 5, protocol: 1257, flags1: 0x2003e, chainLen: 1, name: 'SPX_II' },
    ];
    expect(await choose(wine)).toBe(0);
  });
});
