/**
 * Error types and their exit codes, in one place (restic's habit): 0 ok, 1 failure, 2 usage or config.
 * Every message is one line that says what went wrong and, where it can, what to do.
 */
export class UsageError extends Error {
  readonly exitCode = 2;
  override name = "UsageError";
}

export class FailureError extends Error {
  readonly exitCode: number = 1;
  override name = "FailureError";
}

export class NotFoundError extends FailureError {
  override name = "NotFoundError";
}

export class ContainerNotFoundError extends NotFoundError {
  override name = "ContainerNotFoundError";
}

export class LockedError extends FailureError {
  override name = "LockedError";
}

export class VerifyError extends FailureError {
  override name = "VerifyError";
}

/** Thrown when SIGINT/SIGTERM aborted the run; exit code is 128 + signal number, as shells report it. */
export class InterruptedError extends FailureError {
  override readonly exitCode: number;
  override name = "InterruptedError";
  /** `detail` says in what state the run left things (the run knows; the signal handler does not). */
  constructor(
    readonly signal: NodeJS.Signals,
    detail?: string,
  ) {
    super(`interrupted by ${signal}${detail ? `; ${detail}` : ""}`);
    this.exitCode = signal === "SIGINT" ? 130 : 143;
  }
}

export function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError || err instanceof FailureError) return err.exitCode;
  return 1;
}

/**
 * The error as a single line. Our own errors are written to be complete; for anything else the
 * messages of its causes are appended.
 */
export function oneLine(err: unknown): string {
  if (err instanceof UsageError || err instanceof FailureError) return flatten(err.message);
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    const message = current instanceof Error ? current.message : String(current);
    if (message && !parts.some((p) => p.includes(message))) parts.push(message);
    current = current instanceof Error ? current.cause : undefined;
  }
  return flatten(parts.join(": "));
}

function flatten(text: string): string {
  return text.replace(/\s*\n\s*/g, " ");
}

/** Prefixes an error with what was being done, keeping the original as cause (usage errors pass as they are). */
export function wrap(err: unknown, doing: string): Error {
  if (err instanceof UsageError) return err;
  return new FailureError(`${doing}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

/** The error a run ends with: the interruption, with what the run says about the state it left, or its own error. */
export function endOf(err: unknown, signal: AbortSignal, detail: string): Error {
  if (signal.aborted && signal.reason instanceof InterruptedError) return new InterruptedError(signal.reason.signal, detail);
  return new FailureError(`${oneLine(err)}; ${detail}`, { cause: err });
}
