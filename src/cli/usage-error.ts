import { ConfigError } from '../errors.ts';

/**
 * The command line itself is wrong (an unknown option, a missing value or
 * required flag). main prints the message, the command's usage line and where
 * the full help is, and exits 2.
 */
export class UsageError extends ConfigError {
  readonly command: string;
  readonly usage: readonly string[];

  constructor(message: string, command: { name: string; usage: readonly string[] }, options: { cause?: unknown } = {}) {
    super(message, { ...options, context: { command: command.name } });
    this.command = command.name;
    this.usage = command.usage;
  }
}
