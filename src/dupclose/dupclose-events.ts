import { z } from 'zod';
import { GuestOutputError } from './errors.ts';
import { parseGuestEventLines } from './guest-event-line.ts';

/**
 * Typed events of dupclose and duphandle (both print through
 * guest-apps/cycle/cycle.c; the format is in guest-apps/README.md). Every line
 * carries `role` (launcher, parent, child or holder) and `app` (0 without --apps).
 * Field names stay as the guest prints them. Events this version does not know
 * are kept as `unknown`, so a newer guest program does not break an older host.
 */
const num = z
  .string()
  .regex(/^-?\d+$/, 'must be a decimal number')
  .transform(Number);
const bit = z.enum(['0', '1']).transform((value) => value === '1');
const common = { role: z.enum(['launcher', 'parent', 'child', 'holder']), app: num, line: z.number() };
/** A step of a cycle that can fail: ok=0|1 and the Winsock or Win32 error (0 when ok). */
const step = { ...common, cycle: num, ok: bit, err: num };

const schemas = [
  z.object({
    event: z.literal('start'),
    ...common,
    prog: z.string(),
    pid: num,
    mode: z.string(),
    close_order: z.string(),
    cycles: num,
    peer: z.string(),
    apps: num,
    parallel: bit,
    eof_ms: num,
    hold_ms: num,
  }),
  z.object({ event: z.literal('usage-error'), ...common, arg: z.string() }),
  z.object({ event: z.literal('error'), ...common, call: z.string(), err: num }),
  z.object({ event: z.literal('wsastartup'), ...common, ok: bit, err: num, version: z.string() }),
  /** dupclose's provider choice (KB Q216603): index -1 and ok=0 when none fits. */
  z.object({
    event: z.literal('provider'),
    ...common,
    ok: bit,
    err: num,
    call: z.string(),
    providers: num,
    index: num,
    catalog_id: num.optional(),
    chain_len: num.optional(),
    flags1: z.string().optional(),
    name: z.string().optional(),
  }),
  z.object({ event: z.literal('listen'), ...common, ok: bit, err: num, port: num, call: z.string().optional() }),
  z.object({ event: z.literal('app-start'), ...common, target_app: num, ok: bit, err: num, call: z.string(), pid: num }),
  z.object({ event: z.literal('app-exit'), ...common, target_app: num, ok: bit, code: num }),
  z.object({ event: z.literal('child-start'), ...step, call: z.string(), pid: num, ms: num }),
  z.object({ event: z.literal('connect'), ...step, call: z.string(), ms: num, local_port: num }),
  z.object({ event: z.literal('final-connect'), ...step, call: z.string(), ms: num, local_port: num }),
  z.object({ event: z.literal('accept'), ...step }),
  z.object({ event: z.literal('duplicate'), ...step, call: z.string() }),
  z.object({ event: z.literal('handoff'), ...step }),
  z.object({ event: z.literal('child-open'), ...step, call: z.string() }),
  z.object({ event: z.literal('dummy-socket'), ...step }),
  z.object({ event: z.literal('child-send'), ...step, bytes: num, call: z.string().optional() }),
  z.object({ event: z.literal('child-close'), ...step }),
  z.object({ event: z.literal('dummy-close'), ...step }),
  z.object({ event: z.literal('parent-close'), ...step }),
  z.object({ event: z.literal('peer-close'), ...step }),
  z.object({ event: z.literal('peer-eof'), ...step, bytes: num, ms: num }),
  z.object({ event: z.literal('child-exit'), ...common, cycle: num, ok: bit, code: num }),
  z.object({ event: z.literal('child-hold'), ...common, cycle: num }),
  z.object({ event: z.literal('parent-hold'), ...common, cycle: num }),
  z.object({ event: z.literal('cycle'), ...common, cycle: num, ok: bit, ms: num }),
  z.object({ event: z.literal('hold'), ...common, ms: num, held: num }),
  z.object({ event: z.literal('hold-end'), ...common, released: bit, ms: num }),
  z.object({ event: z.literal('holder-start'), ...common, ok: bit, err: num, call: z.string(), pid: num }),
  z.object({ event: z.literal('holder-open'), ...step, call: z.string() }),
  z.object({
    event: z.literal('summary'),
    ...common,
    ok: bit,
    final_ok: bit,
    ms: num,
    cycles: num.optional(),
    cycles_run: num.optional(),
    cycles_ok: num.optional(),
    held: num.optional(),
    apps: num.optional(),
    apps_ok: num.optional(),
  }),
] as const;

const knownEvent = z.discriminatedUnion('event', schemas);
export type KnownDupcloseEvent = z.infer<typeof knownEvent>;
export type UnknownDupcloseEvent = { event: 'unknown'; name: string; fields: Record<string, string>; line: number };
export type DupcloseEvent = KnownDupcloseEvent | UnknownDupcloseEvent;

const KNOWN_NAMES = new Set<string>(schemas.map((schema) => schema.shape.event.value));

/**
 * Reads dupclose/duphandle stdout; a line that breaks the format is an error
 * naming the line and the field. `partial`: the text is a file the program is
 * still writing, so a last line without its line end is left for the next read.
 */
export function parseDupcloseEvents(text: string, options: { program?: string; origin?: string; partial?: boolean } = {}): DupcloseEvent[] {
  const program = options.program ?? 'dupclose';
  const complete = options.partial === true ? text.slice(0, text.search(/[^\r\n]*$/)) : text;
  const lines = complete.split(/\r?\n|\r/);
  return parseGuestEventLines(complete, program, options.origin).map((line): DupcloseEvent => {
    if (!KNOWN_NAMES.has(line.event)) return { event: 'unknown', name: line.event, fields: line.fields, line: line.line };
    const result = knownEvent.safeParse({ event: line.event, ...line.fields, line: line.line });
    if (result.success) return result.data;
    const problems = result.error.issues.map((issue) => `${issue.path.map(String).join('.') || 'line'}: ${issue.message}`).join('; ');
    throw new GuestOutputError(program, line.line, lines[line.line - 1] ?? '', `event=${line.event}: ${problems}`, options.origin);
  });
}
