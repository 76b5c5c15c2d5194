import { parseArgs, type ParseArgsConfig } from 'node:util';
import { HELP_OPTION, resolveChoices, type CommandSpec, type OptionSpec } from './command-spec.ts';
import { suggest } from './did-you-mean.ts';
import { ParsedArgs } from './parsed-args.ts';
import { UsageError } from './usage-error.ts';
import { usageLines } from './help.ts';
import { quoteInput } from '../util/quote-input.ts';

/** What the command line asks for: a command to run with its arguments, or help on one (undefined: the whole CLI). */
export type Invocation =
  | { kind: 'run'; command: CommandSpec; args: ParsedArgs; load: NonNullable<CommandSpec['load']> }
  | { kind: 'help'; command: CommandSpec | undefined; exitCode: 0 | 2 };

const isHelp = (arg: string | undefined) => arg === '--help' || arg === '-h';

/** The top-level pseudo-command that owns the command list, for usage errors about the command name itself. */
export function rootSpec(commands: readonly CommandSpec[]): CommandSpec {
  return { name: '', summary: 'retrolab', usage: ['retrolab <command> [options]', 'retrolab help <command>'], subcommands: commands };
}

function usageError(message: string, command: CommandSpec): UsageError {
  return new UsageError(message, { name: command.name, usage: usageLines(command) });
}

/** Finds the subcommand `word` of `parent`, or says which one was probably meant. */
function findSubcommand(parent: CommandSpec, word: string): CommandSpec {
  const children = parent.subcommands ?? [];
  const lastWord = (spec: CommandSpec) => spec.name.split(' ').at(-1) ?? spec.name;
  const found = children.find((child) => lastWord(child) === word);
  if (found) return found;
  const what = parent.name === '' ? 'command' : `${parent.name} subcommand`;
  const close = suggest(word, children.map(lastWord));
  const hint =
    close.length > 0
      ? `; did you mean ${close.map((name) => `"${name}"`).join(' or ')}?`
      : `; choose from ${children.map(lastWord).join(', ')}`;
  throw usageError(`unknown ${what} ${quoteInput(word)}${hint}`, parent);
}

/** Follows the words of `help image prepare` to the command they name. */
export function findCommand(commands: readonly CommandSpec[], words: readonly string[]): CommandSpec {
  let spec = rootSpec(commands);
  for (const word of words) spec = findSubcommand(spec, word);
  return spec;
}

/**
 * Turns argv into an invocation. `--help`/`-h` anywhere before `--` asks for
 * the help of the deepest command named so far; everything else is checked
 * against the command's OptionSpecs, every problem a UsageError.
 */
export async function parseCommandLine(commands: readonly CommandSpec[], argv: readonly string[]): Promise<Invocation> {
  const [first, ...afterFirst] = argv;
  if (first === undefined) return { kind: 'help', command: undefined, exitCode: 2 };
  if (isHelp(first)) return { kind: 'help', command: undefined, exitCode: 0 };
  if (first === 'help') {
    const words = afterFirst.filter((word) => !isHelp(word));
    // `help --help` is a question about `help` itself.
    if (words.length === 0 && afterFirst.some(isHelp)) return { kind: 'help', command: findCommand(commands, ['help']), exitCode: 0 };
    return { kind: 'help', command: words.length === 0 ? undefined : findCommand(commands, words), exitCode: 0 };
  }
  let spec = findSubcommand(rootSpec(commands), first);
  let rest = afterFirst;
  while (spec.subcommands && spec.subcommands.length > 0) {
    const [word, ...more] = rest;
    if (isHelp(word)) return { kind: 'help', command: spec, exitCode: 0 };
    if (word === undefined || word.startsWith('-')) {
      const names = spec.subcommands.map((child) => child.name.split(' ').at(-1)).join(', ');
      throw usageError(`${spec.name}: a subcommand is required (${names})`, spec);
    }
    spec = findSubcommand(spec, word);
    rest = more;
  }
  const end = rest.indexOf('--');
  if ((end === -1 ? rest : rest.slice(0, end)).some(isHelp)) return { kind: 'help', command: spec, exitCode: 0 };
  if (!spec.load) throw usageError(`${spec.name} cannot be run on its own`, spec);
  return { kind: 'run', command: spec, args: await parseOptions(spec, rest), load: spec.load };
}

function flagName(option: OptionSpec): string {
  return `--${option.name}`;
}

/** Parses one command's arguments against its OptionSpecs. */
export async function parseOptions(spec: CommandSpec, args: readonly string[]): Promise<ParsedArgs> {
  const options = [...(spec.options ?? []), HELP_OPTION];
  const config: NonNullable<ParseArgsConfig['options']> = {};
  for (const option of options) {
    config[option.name] = {
      type: option.type,
      ...(option.short ? { short: option.short } : {}),
      ...(option.multiple ? { multiple: true } : {}),
    };
  }
  // A first, lenient pass finds unknown options so each gets a suggestion instead of node's bare message.
  const { tokens } = parseArgs({ args: [...args], options: config, strict: false, allowPositionals: true, tokens: true });
  const known = options.map(flagName);
  for (const token of tokens) {
    if (token.kind !== 'option' || config[token.name] !== undefined) continue;
    const typed = token.rawName.startsWith('--') ? token.rawName : `-${token.name}`;
    const close = suggest(typed, known);
    throw usageError(
      `unknown option ${typed.length > 60 ? quoteInput(typed, 60) : typed}${close.length > 0 ? `; did you mean ${close.join(' or ')}?` : ''}`,
      spec,
    );
  }
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options: config, strict: true, allowPositionals: true });
  } catch (error) {
    throw usageError((error as Error).message.replace(/\. To specify a positional argument.*$/s, ''), spec);
  }
  const positionals = parsed.positionals;
  const allowed = spec.positionals ?? [];
  if (positionals.length > allowed.length && !allowed.at(-1)?.multiple) {
    const extra = positionals
      .slice(allowed.length)
      .map((word) => quoteInput(word))
      .join(', ');
    throw usageError(allowed.length === 0 ? `unexpected argument ${extra} (options start with --)` : `too many arguments: ${extra}`, spec);
  }
  const problems: string[] = [];
  allowed.forEach((positional, index) => {
    if (positional.required && positionals[index] === undefined)
      problems.push(`${positional.name} is required (${positional.description})`);
  });
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
  for (const option of options) {
    const value = values[option.name];
    if (value === undefined) {
      if (option.required)
        problems.push(
          `${flagName(option)} is required${option.choices ? `: one of ${(await resolveChoices(option.choices)).join(', ')}` : ` (${option.description})`}`,
        );
      continue;
    }
    if (option.choices && option.type === 'string') {
      const choices = await resolveChoices(option.choices);
      const given = (Array.isArray(value) ? value : [value as string])
        .flatMap((item) => (option.multiple ? item.split(',') : [item]))
        .map((item) => item.trim())
        .filter(Boolean);
      for (const item of given) {
        if (choices.includes(item)) continue;
        const close = suggest(item, choices);
        problems.push(
          `${flagName(option)}: ${quoteInput(item)} is not one of ${choices.join(', ')}${close.length > 0 ? `; did you mean ${close.map((name) => `"${name}"`).join(' or ')}?` : ''}`,
        );
      }
    }
  }
  if (problems.length > 0) throw usageError(problems.join('\n'), spec);
  return new ParsedArgs(spec, values, positionals);
}
