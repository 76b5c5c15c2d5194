/* eslint-disable @typescript-eslint/require-await -- an in-memory fake of async interfaces: nothing to wait for */
import { AgentProtocolError, AgentRequestError } from '../../src/agent/errors.ts';
import type { ExecOptions, ExecResult, GuestSysinfo } from '../../src/agent/agent-client.ts';
import type { GuestAgent } from '../../src/agent/guest-agent.ts';
import type { GuestStart } from '../../src/model/run-results.ts';
import type { GuestFacts } from '../../src/targets/guest-check.ts';
import type { PreparedTarget, StartedTarget } from '../../src/targets/prepare-target.ts';

/**
 * A Wine-like guest in memory, for unit tests of the orchestration
 * (runScenario, the scenario unit, runMatrix). It keeps files and a socket
 * table, answers the agent calls scenario code makes, and plays dupclose by
 * its flags: connections to the peer end in TIME_WAIT (a clean stack), stay
 * in CLOSE_WAIT while a program or a holder holds them, and a holder's stay
 * after its program exited — in the guest, so a later scenario on the same
 * guest sees them, exactly the carry-over isolation must prevent.
 *
 * `behaviour` bends the program: `hang` (the guest kills it at its timeout),
 * `short` (one cycle of the plan, then a clean exit), `silent` (the agent stops
 * answering, as a hung guest does), `gone` (started in the background, then
 * the serial line ends: every later call fails as the agent client's do when
 * the container or QEMU went away, e.g. a dockerd restart).
 */
export type FakeBehaviour = 'normal' | 'hang' | 'short' | 'silent' | 'gone';

export interface FakeGuestOptions {
  id: string;
  log: string[];
  behaviour?: (commandLine: string) => FakeBehaviour;
  /** The patch install command's exit code and output. */
  install?: (commandLine: string) => { exitCode: number; stdout: string };
  /** What each exec reports as the guest's own run time. */
  execGuestMs?: number;
  /** Checked before every GET: an error it returns is thrown instead of the read (a file that changed while read). */
  getFileError?: (path: string) => Error | undefined;
  /** Disposing a guest fails with this (after logging `dispose gN`), as a removal the engine does not answer does. */
  disposeError?: Error;
  /** A TIME_WAIT row leaves the table this long (real time) after it entered TIME_WAIT, as 2MSL ends; kept for good without it. */
  timeWaitMs?: number;
  /** Each of the socket sampler's looks takes this long (real time), as a look on a loaded TCG guest does. */
  sampleLookMs?: number;
}

interface Row {
  local: string;
  remote: string;
  state: 'ESTABLISHED' | 'CLOSE_WAIT' | 'TIME_WAIT';
  /** When the row entered TIME_WAIT (performance.now()), for timeWaitMs. */
  timeWaitSince?: number;
}

interface Hold {
  releaseFile: string;
  outFile: string;
  rows: Row[];
  /** The lines the program prints once it is released. */
  tail: string[];
}

const GUEST_ADDR = '127.0.0.1';
let nextPort = 40000;

function notFound(request: string, path: string): AgentRequestError {
  return new AgentRequestError(`the agent refused ${request}: ${path}: not found`, {
    request,
    kind: 2,
    kindName: 'WIN32',
    win32Error: 2,
    fatal: false,
  });
}

export class FakeGuest implements GuestAgent {
  readonly files = new Map<string, Buffer>();
  readonly rows: Row[] = [];
  readonly execs: string[] = [];
  /** Bytes GET returned per path, summed: what a scenario moved over the (fake) serial line. */
  readonly bytesRead = new Map<string, number>();
  readonly #options: FakeGuestOptions;
  readonly #holds: Hold[] = [];
  /** Set once the line ended (`gone`): every later call throws it. */
  #gone: AgentProtocolError | undefined;
  readonly #written = new Map<string, number>();

  constructor(options: FakeGuestOptions) {
    this.#options = options;
  }

  #alive(): void {
    if (this.#gone) throw this.#gone;
  }

  #say(what: string): void {
    this.#options.log.push(`${this.#options.id}: ${what}`);
  }

  async ping(): Promise<{ roundTripMs: number }> {
    this.#alive();
    return { roundTripMs: 0 };
  }

  async putFile(path: string, bytes: Uint8Array): Promise<{ size: number; crc32: number }> {
    this.#alive();
    this.#say(`put ${path}`);
    this.files.set(path, Buffer.from(bytes));
    // A held program polls its release file: it sees it, deletes it, lets go.
    const hold = this.#holds.find((h) => h.releaseFile === path);
    if (hold) {
      this.#holds.splice(this.#holds.indexOf(hold), 1);
      this.files.delete(path);
      for (const row of hold.rows) Object.assign(row, { state: 'TIME_WAIT', timeWaitSince: performance.now() });
      this.#append(hold.outFile, hold.tail);
      this.#say(`released ${path}`);
    }
    return { size: bytes.length, crc32: 0 };
  }

  async getFile(path: string, options: { from?: number } = {}): Promise<Buffer> {
    this.#alive();
    const fault = this.#options.getFileError?.(path);
    if (fault) throw fault;
    const bytes = this.files.get(path);
    if (bytes === undefined) throw notFound('GET', path);
    this.bytesRead.set(path, (this.bytesRead.get(path) ?? 0) + Math.max(0, bytes.length - (options.from ?? 0)));
    return bytes.subarray(options.from ?? 0);
  }

  async deleteFile(path: string, options: { missingOk?: boolean } = {}): Promise<boolean> {
    this.#alive();
    if (!this.files.delete(path)) {
      if (options.missingOk) return false;
      throw notFound('DELETE', path);
    }
    return true;
  }

  async sysinfo(): Promise<GuestSysinfo> {
    this.#alive();
    return {
      platformId: 2,
      major: 6,
      minor: 1,
      build: 7601,
      csd: 'Service Pack 1',
      wineVersion: '8.0',
      ws2_32: true,
      iphlpapi: true,
      mstcpMaxConnections: undefined,
      raw: {},
    };
  }

  async netstat(): Promise<string> {
    this.#alive();
    return this.#netstatText();
  }

  async execChecked(commandLine: string, options: ExecOptions = {}): Promise<ExecResult> {
    const result = await this.exec(commandLine, options);
    if (result.exitCode !== 0) throw new Error(`fake guest: ${commandLine} exited ${result.exitCode}`);
    return result;
  }

  async exec(commandLine: string, _options: ExecOptions = {}): Promise<ExecResult> {
    this.#alive();
    this.execs.push(commandLine);
    const behaviour = this.#options.behaviour?.(commandLine) ?? 'normal';
    if (behaviour === 'silent') throw new Error(`fake guest ${this.#options.id}: the agent did not answer EXEC (the guest hangs)`);
    const done = (exitCode: number, stdout = '', timedOut = false): ExecResult => ({
      command: commandLine,
      exitCode,
      stdout,
      stderr: '',
      timedOut,
      durationMs: this.#options.execGuestMs ?? 0,
      guestDurationMs: this.#options.execGuestMs ?? 0,
      stdoutTruncated: false,
      stderrTruncated: false,
    });
    const redirect = /^(.*?) > (\S+)$/.exec(commandLine);
    if (/^if not exist /.test(commandLine)) return done(0);
    if (redirect && /^netstat -an$/i.test(redirect[1]!)) {
      // The socket sampler's looks (netstat-sample-N.txt) are told apart from the scenario's snapshots.
      const sample = /sample/.test(redirect[2]!);
      this.#say(sample ? 'netstat sample' : 'netstat');
      if (sample && this.#options.sampleLookMs) await new Promise((resolve) => setTimeout(resolve, this.#options.sampleLookMs));
      this.files.set(redirect[2]!, Buffer.from(this.#netstatText(), 'latin1'));
      return done(0);
    }
    if (redirect && /tcptab\.exe$/.test(redirect[1]!)) {
      // No iphlpapi: the snapshot is NETSTAT alone (tcptab's documented exit 3).
      this.files.set(redirect[2]!, Buffer.from('event=unavailable dll=iphlpapi.dll function=GetTcpTable err=126\r\n'));
      return done(3);
    }
    const background = /^start "retrolab" \/b (.*)$/.exec(commandLine);
    const program = /dupclose\.exe (.*)$/.exec(background ? background[1]! : commandLine);
    if (program)
      return this.#runDupclose(program[1]!.split(' '), behaviour, Boolean(background), (code, timedOut) => done(code, '', timedOut));
    if (this.#options.install) {
      const result = this.#options.install(commandLine);
      this.#say(`install ${commandLine} -> ${result.exitCode}`);
      return done(result.exitCode, result.stdout);
    }
    throw new Error(`fake guest: unexpected command ${commandLine}`);
  }

  #runDupclose(
    args: string[],
    behaviour: FakeBehaviour,
    background: boolean,
    done: (code: number, timedOut: boolean) => ExecResult,
  ): ExecResult {
    const flag = (name: string) => {
      const i = args.indexOf(name);
      return i < 0 ? undefined : args[i + 1];
    };
    const has = (name: string) => args.includes(name);
    const peer = flag('--peer')!;
    const planned = Number(flag('--cycles'));
    const outFile = flag('--out')!;
    const releaseFile = flag('--hold-until');
    const holdMs = Number(flag('--hold-ms') ?? 0);
    const mode = has('--holder') ? 'holder' : has('--leak-control') ? 'leak-control' : 'plain';
    const cycles = behaviour === 'short' ? 1 : behaviour === 'hang' ? Math.max(1, Math.floor(planned / 2)) : planned;
    this.#say(`dupclose ${mode}${background ? ' (background)' : ''} ${cycles}/${planned}`);

    const lines = [
      `event=start role=parent app=0 prog=dupclose pid=8 mode=${mode} close_order=duplicate-first cycles=${planned} peer=${peer} apps=0 parallel=0 eof_ms=0 hold_ms=${holdMs}`,
      'event=wsastartup role=parent app=0 ok=1 err=0 version=2.2',
    ];
    const held: Row[] = [];
    for (let c = 1; c <= cycles; c++) {
      const port = nextPort++;
      lines.push(`event=connect role=parent app=0 cycle=${c} ok=1 err=0 call=connect ms=0 local_port=${port}`);
      lines.push(`event=cycle role=parent app=0 cycle=${c} ok=1 ms=1`);
      const row: Row = {
        local: `${GUEST_ADDR}:${port}`,
        remote: peer,
        state: mode === 'plain' ? 'TIME_WAIT' : 'CLOSE_WAIT',
        timeWaitSince: performance.now(),
      };
      this.rows.push(row);
      if (mode !== 'plain') held.push(row);
    }
    if (behaviour === 'gone') {
      this.#append(outFile, lines.slice(0, 3));
      this.#gone = new AgentProtocolError(
        'the serial stream ended (the guest side closed COM1: QEMU, the line bridge or the container went away)',
      );
      return done(0, false);
    }
    if (behaviour === 'hang') {
      this.#append(outFile, lines);
      // Started in the background it never ends; run by exec, the guest kills it at its timeout.
      return background ? done(0, false) : done(1, true);
    }
    const finalPort = nextPort++;
    lines.push(`event=final-connect role=parent app=0 cycle=0 ok=1 err=0 call=connect ms=0 local_port=${finalPort}`);
    this.rows.push({ local: `${GUEST_ADDR}:${finalPort}`, remote: peer, state: 'TIME_WAIT', timeWaitSince: performance.now() });
    const summary = `event=summary role=parent app=0 ok=1 cycles=${planned} cycles_run=${cycles} cycles_ok=${cycles} final_ok=1 held=${held.length} ms=5`;
    if (mode === 'leak-control') {
      // Holds until released (the file) — a runner that never releases hangs the test, which then fails.
      lines.push(`event=hold role=parent app=0 ms=${holdMs} held=${held.length}`);
      this.#append(outFile, lines);
      if (releaseFile === undefined) throw new Error('fake guest: a held program needs --hold-until');
      this.#holds.push({ releaseFile, outFile, rows: held, tail: ['event=hold-end role=parent app=0 released=1 ms=3', summary] });
      return done(0, false);
    }
    lines.push(summary);
    this.#append(outFile, lines);
    if (mode === 'holder') {
      // The program exited; its holder keeps the copies until released.
      if (releaseFile === undefined) throw new Error('fake guest: a holder needs --hold-until');
      this.#holds.push({ releaseFile, outFile: `${outFile}.holder`, rows: held, tail: [] });
    }
    return done(0, false);
  }

  #append(path: string, lines: string[]): void {
    const before = this.files.get(path)?.toString('latin1') ?? '';
    const text = `${before}${lines.map((line) => `${line}\r\n`).join('')}`;
    this.files.set(path, Buffer.from(text, 'latin1'));
    this.#written.set(path, text.length);
  }

  /** How long a program's output file grew (kept after the runner deleted it). */
  outputLength(path: string): number {
    return this.#written.get(path) ?? 0;
  }

  #netstatText(): string {
    const lifetime = this.#options.timeWaitMs;
    if (lifetime !== undefined) {
      const now = performance.now();
      const ended = this.rows.filter((row) => row.state === 'TIME_WAIT' && now - (row.timeWaitSince ?? now) >= lifetime);
      for (const row of ended) this.rows.splice(this.rows.indexOf(row), 1);
    }
    const rows = this.rows.map((row) => `  TCP    ${row.local.padEnd(23)}${row.remote.padEnd(23)}${row.state}`);
    return ['', 'Active Connections', '', '  Proto  Local Address          Foreign Address        State', ...rows, ''].join('\r\n');
  }
}

const FACTS: GuestFacts = { os: 'wine', description: 'Wine 8.0 (fake)', winsock2: true, programs: ['dupclose', 'duphandle'] };

/**
 * A prepared `wine` target whose guests are FakeGuests: each startGuest is a
 * new guest with an empty table, logged as `start gN` / `dispose gN`.
 */
export function fakePreparedTarget(
  options: Omit<FakeGuestOptions, 'id'> & {
    facts?: GuestFacts;
    /** Called before each start (1, 2, ...): an error it returns is what the start throws (a guest that does not come up). */
    startError?: (attempt: number) => Error | undefined;
  },
): PreparedTarget & { guests: FakeGuest[] } {
  const guests: FakeGuest[] = [];
  let facts: GuestFacts | undefined;
  let starts = 0;
  return {
    target: 'wine',
    prepareMs: 0,
    guests,
    programs: async () => Buffer.from('MZ fake program'),
    get facts() {
      return facts;
    },
    async startGuest(): Promise<StartedTarget> {
      starts += 1;
      const failed = options.startError?.(starts);
      if (failed) throw failed;
      const id = `g${guests.length + 1}`;
      const agent = new FakeGuest({ ...options, id });
      guests.push(agent);
      options.log.push(`start ${id}`);
      facts = options.facts ?? FACTS;
      const guest: GuestStart = { start: 'saved-state', id, startMs: 5 };
      return {
        target: 'wine',
        agent,
        peer: { host: '127.0.0.1', port: 7000 },
        guestWorkDir: 'C:\\retrolab',
        artifactsDir: '/nonexistent/artifacts',
        guest,
        facts,
        collectArtifacts: async () => [],
        [Symbol.asyncDispose]: async () => {
          options.log.push(`dispose ${id}`);
          if (options.disposeError) throw options.disposeError;
        },
      };
    },
  };
}
