/**
 * Base of every error the lab raises about itself. `context` holds the facts a
 * person needs to act (the file, the field, the container, the command), and is
 * kept out of the message so reports can print it as a table.
 */
export class RetrolabError extends Error {
  readonly context: Record<string, unknown>;

  constructor(message: string, options: { cause?: unknown; context?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.context = options.context ?? {};
  }
}

/** The user's input (a flag, a config file, an environment variable) cannot be used. */
export class ConfigError extends RetrolabError {}

/** Something the lab needs on this host is missing; `fix` says how to get it. */
export class PrerequisiteError extends RetrolabError {
  readonly fix: string;

  constructor(message: string, fix: string, options: { cause?: unknown; context?: Record<string, unknown> } = {}) {
    super(`${message}\n  fix: ${fix}`, options);
    this.fix = fix;
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
