import type { CommandIo } from '../command.ts';
import type { ParsedArgs } from '../parsed-args.ts';
import { EXIT } from '../exit-codes.ts';
import { renderChecks, runChecks, summarizeChecks } from '../../doctor/checks.ts';

/** `retrolab doctor [--json]`: every prerequisite, then a summary line; exit 1 when a required one is not ok. */
export async function doctorCommand(args: ParsedArgs, io: CommandIo): Promise<number> {
  const results = await runChecks({ signal: io.signal });
  if (args.flag('json')) io.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  else io.stdout.write(`${renderChecks(results)}\n${summarizeChecks(results)}\n`);
  return results.some((r) => r.required && r.status !== 'ok') ? EXIT.failed : EXIT.ok;
}
