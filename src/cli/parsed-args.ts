import type { CommandSpec } from './command-spec.ts';

type Value = string | boolean | string[] | undefined;

/** The arguments of one command after parsing: typed readers over the values, and the command they belong to. */
export class ParsedArgs {
  readonly command: CommandSpec;
  readonly positionals: readonly string[];
  readonly #values: Readonly<Record<string, Value>>;

  constructor(command: CommandSpec, values: Record<string, Value>, positionals: readonly string[]) {
    this.command = command;
    this.#values = values;
    this.positionals = positionals;
  }

  /** The value of a string option; the last one when it was given twice. */
  string(name: string): string | undefined {
    const value = this.#values[name];
    if (Array.isArray(value)) return value.at(-1);
    return typeof value === 'string' ? value : undefined;
  }

  /** Every value of a repeatable string option, in order. */
  strings(name: string): string[] {
    const value = this.#values[name];
    if (Array.isArray(value)) return [...value];
    return typeof value === 'string' ? [value] : [];
  }

  flag(name: string): boolean {
    return this.#values[name] === true;
  }

  has(name: string): boolean {
    return this.#values[name] !== undefined;
  }
}
