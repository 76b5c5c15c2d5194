export interface CommandIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  signal: AbortSignal;
}

/** A CLI command: parses its own arguments, returns an exit code, never calls process.exit. */
export type Command = (args: string[], io: CommandIo) => Promise<number>;
