// Node 20 has neither Symbol.asyncDispose nor AsyncDisposableStack; Node 22+ has both.
// Importing this module (the CLI and the test setup do) makes `await using` work everywhere,
// and `ResourceStack` is the small stand-in for AsyncDisposableStack this project uses.
(Symbol as { asyncDispose?: symbol }).asyncDispose ??= Symbol.for('nodejs.asyncDispose');
(Symbol as { dispose?: symbol }).dispose ??= Symbol.for('nodejs.dispose');

type Cleanup = () => Promise<void> | void;

/**
 * Collects cleanups while a multi-part resource is being built. On failure,
 * `await using` runs them in reverse order; on success, `move()` hands them to
 * the finished resource, which runs them from its own dispose.
 */
export class ResourceStack implements AsyncDisposable {
  #cleanups: Cleanup[] = [];
  #disposed = false;

  /** Registers a cleanup and returns the value, so creation and cleanup sit on one line. */
  adopt<T>(value: T, cleanup: (value: T) => Promise<void> | void): T {
    this.#cleanups.push(() => cleanup(value));
    return value;
  }

  defer(cleanup: Cleanup): void {
    this.#cleanups.push(cleanup);
  }

  use<T extends AsyncDisposable | Disposable>(resource: T): T {
    const disposable: AsyncDisposable | Disposable = resource;
    this.#cleanups.push(async () => {
      if (Symbol.asyncDispose in disposable) await disposable[Symbol.asyncDispose]();
      else disposable[Symbol.dispose]();
    });
    return resource;
  }

  /** Takes every registered cleanup out of this stack into a new one. */
  move(): ResourceStack {
    const next = new ResourceStack();
    next.#cleanups = this.#cleanups;
    this.#cleanups = [];
    return next;
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    const errors: unknown[] = [];
    for (const cleanup of this.#cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        errors.push(error);
      }
    }
    this.#cleanups = [];
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `${errors.length} cleanups failed`);
  }
}
