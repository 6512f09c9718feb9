import { FailureError } from "../errors.js";

/**
 * Streaming stages that run together (engine → tar → gzip → store, and back). `signal` aborts when the
 * outer signal does or when any stage fails, so no stage is left waiting on a dead neighbour; `settle`
 * then throws the most useful error: one already explained as a FailureError, else the first that
 * happened (the others are usually a bland "premature close" or the same low-level error).
 */
export class Stages {
  private readonly failed = new AbortController();
  readonly signal: AbortSignal;

  constructor(outer?: AbortSignal) {
    this.signal = outer ? AbortSignal.any([outer, this.failed.signal]) : this.failed.signal;
  }

  async settle<T extends readonly unknown[]>(stages: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
    const errors: unknown[] = [];
    const results = await Promise.allSettled(
      (stages as readonly Promise<unknown>[]).map((p) =>
        p.catch((err: unknown) => {
          errors.push(err);
          this.failed.abort(err);
          throw err;
        }),
      ),
    );
    if (errors.length > 0) throw errors.find((e) => e instanceof FailureError) ?? errors[0];
    return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
  }
}
