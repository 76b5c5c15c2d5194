import type { CommandIo } from './command.ts';
import type { ParsedArgs } from './parsed-args.ts';

/**
 * One flag of a command, as data: the parser, `--help`, the README's CLI
 * reference and the "did you mean" suggestions all read the same entry, so a
 * flag added here is parsed, documented and suggested at once.
 */
export interface OptionSpec {
  /** Without dashes: `target` is `--target`. */
  name: string;
  /** One letter: `h` is `-h`. */
  short?: string;
  type: 'string' | 'boolean';
  /** May be given more than once (values are collected in order). */
  multiple?: boolean;
  /** The placeholder shown in help: `--target T`. */
  value?: string;
  description: string;
  /** A missing required option is a usage error that says it is required. */
  required?: boolean;
  /**
   * The allowed values: checked by the parser (with suggestions) and listed
   * by help. A function when they are read at run time (the targets are the
   * folders of vms/).
   */
  choices?: Choices;
}

export type Choices = readonly string[] | (() => Promise<readonly string[]>);

/** The allowed values of an option, read now. */
export async function resolveChoices(choices: Choices): Promise<readonly string[]> {
  return typeof choices === 'function' ? choices() : choices;
}

export interface PositionalSpec {
  name: string;
  description: string;
  required: boolean;
  /** The last positional may take every remaining word (`results merge DIR...`). */
  multiple?: boolean;
}

/** A command's implementation: reads its parsed arguments, returns an exit code, never calls process.exit. */
export type CommandHandler = (args: ParsedArgs, io: CommandIo) => Promise<number>;

/**
 * A command or a group of subcommands. Adding a command is one entry in
 * COMMANDS (command-table.ts); `load` imports the implementation only when the
 * command runs, so `retrolab doctor` does not pay for the scenario engine.
 */
export interface CommandSpec {
  /** The words that name it: `lab`, or `image prepare` for a subcommand. */
  name: string;
  summary: string;
  /** Synopsis lines after `usage:`; generated from the options when absent. */
  usage?: readonly string[];
  /** Paragraphs printed by `--help` after the options (lists of targets, exit codes...). */
  details?: () => Promise<string>;
  positionals?: readonly PositionalSpec[];
  options?: readonly OptionSpec[];
  subcommands?: readonly CommandSpec[];
  load?: () => Promise<CommandHandler>;
  /** It may leave containers, processes or work folders behind if killed: main starts the reaper before it runs. */
  reaped?: boolean;
}

/** Every command takes these; the parser answers them before the command runs. */
export const HELP_OPTION: OptionSpec = { name: 'help', short: 'h', type: 'boolean', description: 'print this help and exit' };
