import type { ConnectOutcome, CycleOutcome, ScenarioObservation } from '../model/scenario-observation.ts';
import type { DupcloseEvent, KnownDupcloseEvent } from './dupclose-events.ts';

/** What one dupclose/duphandle run amounts to, in the terms the verdict needs. */
export interface DupcloseRun {
  program: string | null;
  /** cycles × apps, from the start event; null when the program never started. */
  cyclesPlanned: number | null;
  cycles: CycleOutcome[];
  finalConnect: ConnectOutcome | null;
  /** Sockets the program said it held (leak-control), from its summary or hold event. */
  held: number | null;
  /** The program printed `event=hold`: it is holding its sockets now, the moment for a while-running snapshot. */
  holding: boolean;
  programFailure?: NonNullable<ScenarioObservation['programFailure']>;
}

/** Steps whose ok=0 means the cycle failed, in the order a cycle runs them. peer-eof is not one: a peer that never sees EOF is the leak itself. */
const FAILING_STEPS = new Set([
  'child-start',
  'connect',
  'duplicate',
  'handoff',
  'child-open',
  'holder-open',
  'dummy-socket',
  'child-send',
  'child-close',
  'dummy-close',
  'parent-close',
  'accept',
  'peer-close',
  'child-exit',
]);

type CycleEvent = Extract<KnownDupcloseEvent, { cycle: number }>;

/**
 * Folds the events into cycles (keyed by app and cycle, numbered in the order
 * they ran), the final connect() and whether the program itself failed —
 * setup that never got to a cycle, or an output that ends without the
 * top-level summary (the program was killed or crashed).
 */
export function summarizeDupcloseRun(events: readonly DupcloseEvent[]): DupcloseRun {
  const start = events.find((event) => event.event === 'start');
  const cycles = new Map<string, CycleOutcome>();
  let finalConnect: ConnectOutcome | null = null;
  let held: number | null = null;
  let holding = false;
  let programFailure: DupcloseRun['programFailure'];
  const fail = (failure: NonNullable<DupcloseRun['programFailure']>) => {
    programFailure ??= failure;
  };

  for (const event of events) {
    switch (event.event) {
      case 'usage-error':
        fail({ step: 'options', error: null, message: `the program refused its arguments at ${event.arg}` });
        break;
      case 'error':
        fail({ step: event.call, error: event.err, message: `${event.call} failed` });
        break;
      case 'wsastartup':
      case 'listen':
        if (!event.ok)
          fail({
            step: event.event === 'wsastartup' ? 'WSAStartup' : 'listen',
            error: event.err,
            message: `${event.event === 'wsastartup' ? 'WSAStartup' : 'the loopback listener'} failed`,
          });
        break;
      case 'provider':
        if (!event.ok)
          fail({
            step: 'provider',
            error: event.err,
            message:
              event.call === 'choose'
                ? `none of the ${event.providers} Winsock providers is plain TCP (KB Q216603: a QoS-capable one cannot be duplicated)`
                : `listing the Winsock providers failed (${event.call})`,
          });
        break;
      case 'holder-start':
        if (!event.ok) fail({ step: 'holder-start', error: event.err, message: `starting the holder process failed (${event.call})` });
        break;
      case 'app-start':
        if (!event.ok) fail({ step: 'app-start', error: event.err, message: `starting app ${event.target_app} failed (${event.call})` });
        break;
      case 'final-connect':
        finalConnect = event.ok ? { ok: true } : { ok: false, error: event.err };
        break;
      case 'hold':
        holding = true;
        held = event.held;
        break;
      case 'summary':
        if (event.held !== undefined && event.role === 'parent' && event.app === 0) held = event.held;
        break;
      default:
        if ('cycle' in event) recordStep(cycles, event);
    }
  }

  const topRole = start?.event === 'start' && start.apps > 0 ? 'launcher' : 'parent';
  if (start === undefined) {
    fail({ step: 'start', error: null, message: 'the program printed no start event' });
  } else if (!events.some((event) => event.event === 'summary' && event.role === topRole)) {
    fail({ step: 'exit', error: null, message: 'the output ends without the summary line (the program was killed or crashed)' });
  }

  const run: DupcloseRun = {
    program: start?.event === 'start' ? start.prog : null,
    cyclesPlanned: start?.event === 'start' ? start.cycles * Math.max(1, start.apps) : null,
    cycles: [...cycles.values()],
    finalConnect,
    held,
    holding,
  };
  return programFailure === undefined ? run : { ...run, programFailure };
}

function recordStep(cycles: Map<string, CycleOutcome>, event: CycleEvent): void {
  if (event.cycle < 1) return;
  const key = `${event.app}/${event.cycle}`;
  let cycle = cycles.get(key);
  if (cycle === undefined) {
    cycle = { index: cycles.size + 1, connected: false, ok: false };
    cycles.set(key, cycle);
  }
  if (event.event === 'connect' && event.ok) {
    cycle.connected = true;
    cycle.localPort = event.local_port;
  }
  if (event.event === 'cycle') {
    cycle.ok = event.ok;
    return;
  }
  if (!('ok' in event) || event.ok || cycle.failure !== undefined || !FAILING_STEPS.has(event.event)) return;
  cycle.failure = { step: event.event === 'connect' ? event.call : event.event, error: 'code' in event ? event.code : event.err };
}
