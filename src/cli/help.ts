import { HELP_OPTION, resolveChoices, type CommandSpec, type OptionSpec } from './command-spec.ts';
import { EXIT_CODES } from './exit-codes.ts';

const WIDTH = 100;

function leaves(commands: readonly CommandSpec[]): CommandSpec[] {
  return commands.flatMap((command) => (command.subcommands && command.subcommands.length > 0 ? leaves(command.subcommands) : [command]));
}

/** `--target T`, `-h, --help`. */
export function optionLabel(option: OptionSpec): string {
  const long = `--${option.name}${option.type === 'string' ? ` ${option.value ?? 'VALUE'}` : ''}`;
  return option.short ? `-${option.short}, ${long}` : long;
}

function optionSynopsis(option: OptionSpec): string {
  const long = `--${option.name}${option.type === 'string' ? ` ${option.value ?? 'VALUE'}` : ''}`;
  const once = option.required ? long : `[${long}]`;
  return option.multiple ? `${once}...` : once;
}

/** The text after the description in help and in the README: repeatable, required, choices. */
export async function optionNotes(option: OptionSpec): Promise<string> {
  const choices = option.choices ? await resolveChoices(option.choices) : undefined;
  const notes = [
    option.required ? 'required' : '',
    option.multiple ? 'repeatable, or a comma-separated list' : '',
    choices ? `one of: ${choices.join(', ')}` : '',
  ]
    .filter(Boolean)
    .join('; ');
  return notes ? ` (${notes})` : '';
}

/** Wraps words to the width; `first` starts the first line, `indent` the others. */
function wrap(words: readonly string[], first: string, indent: string, width = WIDTH): string[] {
  const lines: string[] = [];
  let line = first;
  let empty = true;
  for (const word of words) {
    if (!empty && line.length + 1 + word.length > width) {
      lines.push(line);
      line = `${indent}${word}`;
    } else {
      line = `${line}${empty && (line === '' || line.endsWith(' ')) ? '' : ' '}${word}`;
    }
    empty = false;
  }
  lines.push(line);
  return lines;
}

/** The synopsis: the command's own lines, or generated from its options (required first, then the rest). */
export function usageLines(command: CommandSpec): string[] {
  if (command.usage) return [...command.usage];
  const name = `retrolab ${command.name}`;
  if (command.subcommands && command.subcommands.length > 0)
    return [`${name} <${command.subcommands.map((child) => child.name.split(' ').at(-1)).join('|')}> [options]`];
  const options = command.options ?? [];
  const parts = [
    ...(command.positionals ?? []).map((positional) => {
      const word = `${positional.name}${positional.multiple ? '...' : ''}`;
      return positional.required ? word : `[${word}]`;
    }),
    ...options.filter((option) => option.required).map(optionSynopsis),
    ...options.filter((option) => !option.required).map(optionSynopsis),
  ];
  return wrap(parts, name, ' '.repeat(name.length + 1), WIDTH - 7);
}

/** Two columns, the right one wrapped to the width: options, commands, exit codes. */
export function formatRows(rows: readonly (readonly [string, string])[], indent = '  '): string[] {
  const width = Math.min(30, Math.max(...rows.map(([left]) => left.length)));
  return rows.flatMap(([left, right]) => {
    const words = right.split(/\s+/).filter(Boolean);
    if (left.length > width)
      return [`${indent}${left}`, ...wrap(words, `${indent}${' '.repeat(width + 2)}`, `${indent}${' '.repeat(width + 2)}`)];
    return wrap(words, `${indent}${left.padEnd(width)}  `, `${indent}${' '.repeat(width + 2)}`);
  });
}

function exitCodeLines(): string[] {
  return ['exit codes:', ...formatRows(EXIT_CODES.map((code) => [String(code.code), code.meaning] as const))];
}

/** `retrolab help`, `retrolab help lab`, `retrolab lab --help`. */
export async function renderHelp(commands: readonly CommandSpec[], command?: CommandSpec): Promise<string> {
  if (command === undefined || command.name === '') {
    return [
      'retrolab — a test lab for legacy Windows networking (KB Q198663)',
      '',
      'usage: retrolab <command> [options]',
      '       retrolab help <command>    (or retrolab <command> --help)',
      '',
      'commands:',
      ...formatRows(leaves(commands).map((leaf) => [leaf.name, leaf.summary] as const)),
      '',
      ...exitCodeLines(),
      '',
    ].join('\n');
  }
  const [firstUsage, ...moreUsage] = usageLines(command);
  const lines = [`usage: ${firstUsage}`, ...moreUsage.map((line) => `       ${line}`), '', command.summary];
  if (command.subcommands && command.subcommands.length > 0) {
    lines.push(
      '',
      'subcommands:',
      ...formatRows(command.subcommands.map((child) => [child.name.split(' ').at(-1) ?? child.name, child.summary] as const)),
    );
    lines.push('', `run \`retrolab help ${command.name} <subcommand>\` for its options`);
  } else {
    if (command.positionals && command.positionals.length > 0) {
      lines.push(
        '',
        'arguments:',
        ...formatRows(command.positionals.map((positional) => [positional.name, positional.description] as const)),
      );
    }
    const options = [...(command.options ?? []), HELP_OPTION];
    const rows = await Promise.all(
      options.map(async (option) => [optionLabel(option), `${option.description}${await optionNotes(option)}`] as const),
    );
    lines.push('', 'options:', ...formatRows(rows));
  }
  if (command.details) lines.push('', (await command.details()).trimEnd());
  return `${lines.join('\n')}\n`;
}

/** A `|` in a Markdown table cell ends the cell. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

/**
 * The README's CLI reference, generated from the same specs as `--help`
 * (`npm run readme:cli` writes it between the markers; a unit test checks it).
 */
export async function renderMarkdownReference(
  commands: readonly CommandSpec[],
  extra: { sections: readonly { title: string; rows: readonly (readonly [string, string])[]; head: readonly [string, string] }[] },
): Promise<string> {
  const out: string[] = ['| command | what it does |', '|---|---|'];
  for (const leaf of leaves(commands)) out.push(`| \`retrolab ${leaf.name}\` | ${cell(leaf.summary)} |`);
  out.push('', 'Every command and subcommand takes `-h`/`--help`; `retrolab help <command>` prints the same.');
  const documented = new Map<readonly OptionSpec[], string>();
  for (const leaf of leaves(commands)) {
    out.push('', `#### \`retrolab ${leaf.name}\``, '', '```text', ...usageLines(leaf), '```');
    const same = leaf.options && documented.get(leaf.options);
    if (same) {
      out.push('', `Options: as \`retrolab ${same}\`.`);
      continue;
    }
    if (leaf.options) documented.set(leaf.options, leaf.name);
    const rows = [
      ...(leaf.positionals ?? []).map(
        (positional) => [`\`${positional.name}\``, `${positional.description}${positional.required ? ' (required)' : ''}`] as const,
      ),
      ...(await Promise.all(
        (leaf.options ?? []).map(
          async (option) => [`\`${optionLabel(option)}\``, `${option.description}${await optionNotes(option)}`] as const,
        ),
      )),
    ];
    if (rows.length > 0)
      out.push('', '| option | meaning |', '|---|---|', ...rows.map(([left, right]) => `| ${cell(left)} | ${cell(right)} |`));
  }
  out.push(
    '',
    '#### Exit codes',
    '',
    '| code | meaning |',
    '|---|---|',
    ...EXIT_CODES.map((code) => `| ${code.code} | ${cell(code.meaning)} |`),
  );
  for (const section of extra.sections) {
    out.push(
      '',
      `#### ${section.title}`,
      '',
      `| ${section.head[0]} | ${section.head[1]} |`,
      '|---|---|',
      ...section.rows.map(([left, right]) => `| ${cell(left)} | ${cell(right)} |`),
    );
  }
  return `${out.join('\n')}\n`;
}
