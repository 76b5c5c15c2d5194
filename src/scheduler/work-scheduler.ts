/**
 * Spreads work items over the free slots of several hosts. It knows nothing
 * of targets or Docker: a host is a name, a number of slots and a handle the
 * caller's `run` uses; an item is anything with a key.
 *
 * A failed item asks whether its host is still alive. If not, the host is
 * lost for the rest of the run and the item is queued again, once, for
 * another host; a second loss (or no host left) makes `lost` decide its
 * result, naming the hosts it was lost on.
 */
export interface SchedulerHost<H> {
  readonly name: string;
  readonly slots: number;
  readonly handle: H;
}

export type SchedulerEvent =
  | { kind: 'start'; item: string; host: string; attempt: number }
  | { kind: 'done'; item: string; host: string; durationMs: number; failed: boolean }
  | { kind: 'host-lost'; host: string; reason: string }
  | { kind: 'requeued'; item: string; from: string; reason: string };

export interface ScheduleOptions<I, H, R> {
  items: readonly I[];
  hosts: readonly SchedulerHost<H>[];
  keyOf: (item: I) => string;
  run: (item: I, host: SchedulerHost<H>, signal: AbortSignal) => Promise<R>;
  /** The result of an item whose run threw while its host stayed up. */
  failed: (item: I, error: unknown, host: SchedulerHost<H>) => R;
  /** Whether a host still answers (asked after a failure on it). */
  alive: (host: SchedulerHost<H>, signal: AbortSignal) => Promise<boolean>;
  /** The result of an item that could not run because hosts dropped (`hosts`: where it was lost, in order). */
  lost: (item: I, hosts: string[], reason: string) => R;
  /**
   * Items of the same group wait until the group's first item has run (its
   * first start builds and saves what the others reuse, such as a VM state).
   */
  groupOf?: (item: I) => string;
  onEvent?: (event: SchedulerEvent) => void;
  signal?: AbortSignal;
}

export interface ScheduledResult<R> {
  result: R;
  /** The host whose run produced the result; undefined when no host could run it. */
  host: string | undefined;
}

interface Pending<I> {
  item: I;
  index: number;
  lostOn: string[];
}

/** Runs every item; returns the results in the items' order. */
export async function schedule<I, H, R>(options: ScheduleOptions<I, H, R>): Promise<ScheduledResult<R>[]> {
  const { hosts } = options;
  if (hosts.length === 0) throw new Error('schedule: no hosts to run on');
  for (const host of hosts)
    if (!Number.isInteger(host.slots) || host.slots < 1) throw new Error(`schedule: host ${host.name} has ${host.slots} slots`);
  const emit = options.onEvent ?? (() => undefined);
  const results = new Array<ScheduledResult<R> | undefined>(options.items.length);
  const queue: Pending<I>[] = options.items.map((item, index) => ({ item, index, lostOn: [] }));
  const running = new Map<string, number>(hosts.map((h) => [h.name, 0]));
  const lostHosts = new Map<string, string>();
  const openGroups = new Set<string>();
  const warmingGroups = new Set<string>();
  const inFlight = new Set<Promise<void>>();
  const controller = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
  let wake: () => void = () => undefined;
  /** An error no item result can carry (an abort, a bug in a callback): ends the run. */
  let fatal: { error: unknown } | undefined;

  const liveHosts = () => hosts.filter((h) => !lostHosts.has(h.name));
  const groupReady = (pending: Pending<I>): 'open' | 'first' | 'wait' => {
    if (!options.groupOf) return 'open';
    const group = options.groupOf(pending.item);
    if (openGroups.has(group)) return 'open';
    return warmingGroups.has(group) ? 'wait' : 'first';
  };
  const settleLost = (pending: Pending<I>, reason: string) => {
    results[pending.index] = { result: options.lost(pending.item, pending.lostOn, reason), host: undefined };
  };

  const loseHost = (host: SchedulerHost<H>, reason: string) => {
    if (lostHosts.has(host.name)) return;
    lostHosts.set(host.name, reason);
    emit({ kind: 'host-lost', host: host.name, reason });
  };

  const start = (pending: Pending<I>, host: SchedulerHost<H>) => {
    const key = options.keyOf(pending.item);
    const group = options.groupOf?.(pending.item);
    if (group !== undefined && !openGroups.has(group)) warmingGroups.add(group);
    running.set(host.name, (running.get(host.name) ?? 0) + 1);
    const began = Date.now();
    emit({ kind: 'start', item: key, host: host.name, attempt: pending.lostOn.length + 1 });
    const task = (async () => {
      try {
        const result = await options.run(pending.item, host, signal);
        results[pending.index] = { result, host: host.name };
        emit({ kind: 'done', item: key, host: host.name, durationMs: Date.now() - began, failed: false });
      } catch (error) {
        if (signal.aborted) throw error;
        const up = lostHosts.has(host.name)
          ? false
          : await options.alive(host, AbortSignal.any([signal, AbortSignal.timeout(15_000)])).catch(() => false);
        if (up) {
          results[pending.index] = { result: options.failed(pending.item, error, host), host: host.name };
          emit({ kind: 'done', item: key, host: host.name, durationMs: Date.now() - began, failed: true });
        } else {
          loseHost(host, `${host.name} stopped answering`);
          pending.lostOn.push(host.name);
          const elsewhere = liveHosts().length > 0;
          if (pending.lostOn.length < 2 && elsewhere) {
            emit({ kind: 'requeued', item: key, from: host.name, reason: `${host.name} dropped` });
            queue.unshift(pending);
          } else {
            // What the run saw as its host went (a line that ended, a container gone) says more than "dropped".
            const saw = error instanceof Error ? error.message : String(error);
            settleLost(
              pending,
              `${elsewhere ? `lost twice (on ${pending.lostOn.join(', then ')})` : `${host.name} dropped and no other host is left`}; it saw: ${saw}`,
            );
          }
        }
      } finally {
        running.set(host.name, (running.get(host.name) ?? 1) - 1);
        if (group !== undefined && warmingGroups.delete(group)) openGroups.add(group);
      }
    })();
    const tracked = task
      .catch((error: unknown) => {
        fatal ??= { error };
      })
      .finally(() => {
        inFlight.delete(tracked);
        wake();
      });
    inFlight.add(tracked);
  };

  const dispatch = () => {
    for (let i = 0; i < queue.length;) {
      const pending = queue[i]!;
      const readiness = groupReady(pending);
      if (readiness === 'wait') {
        i += 1;
        continue;
      }
      // The least loaded live host with a free slot, by share of its slots in use.
      const host = liveHosts()
        .filter((h) => (running.get(h.name) ?? 0) < h.slots && !pending.lostOn.includes(h.name))
        .sort((a, b) => (running.get(a.name) ?? 0) / a.slots - (running.get(b.name) ?? 0) / b.slots)[0];
      if (!host) {
        i += 1;
        continue;
      }
      queue.splice(i, 1);
      start(pending, host);
    }
  };

  try {
    for (;;) {
      signal.throwIfAborted();
      if (liveHosts().length === 0) {
        for (const pending of queue.splice(0)) settleLost(pending, `every host dropped (${[...lostHosts.keys()].join(', ')})`);
      }
      dispatch();
      if (inFlight.size === 0) {
        if (queue.length === 0) break;
        // Only items whose every remaining host is one they were lost on are left.
        for (const pending of queue.splice(0)) settleLost(pending, `no host left that it was not lost on`);
        break;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      if (fatal) throw fatal.error;
    }
  } catch (error) {
    controller.abort(error);
    await Promise.allSettled([...inFlight]);
    throw error;
  }
  signal.throwIfAborted();
  return results.map((r, index) => {
    if (!r) throw new Error(`schedule: item ${options.keyOf(options.items[index]!)} has no result`);
    return r;
  });
}
