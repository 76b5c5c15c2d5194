import type { CommandIo } from '../command.ts';
import { renderChecks, runChecks } from '../../doctor/checks.ts';

export async function doctorCommand(args: string[], io: CommandIo): Promise<number> {
  const results = await runChecks({ signal: io.signal });
  if (args.includes('--json')) io.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  else io.stdout.write(renderChecks(results));
  const missing = results.filter((r) => r.required && r.status === 'missing');
  if (missing.length > 0) {
    io.stderr.write(`\n${missing.length} required prerequisite(s) missing: ${missing.map((m) => m.name).join(', ')}\n`);
    return 1;
  }
  return 0;
}
