import type { Logger } from "pino";
import { oneLine } from "../errors.js";
import type { RunReport } from "./run-report.js";

/**
 * Something told how a run went: a notification channel, a health-check ping, the metrics file. A
 * reporter may also be told when a run starts (health checks: a run that never ends is then noticed).
 */
export interface Reporter {
  /** For log lines: never a URL (it may hold a secret), a scheme or a file name. */
  readonly name: string;
  start?(run: { command: string; container: string }, signal: AbortSignal): Promise<void>;
  report(report: RunReport, signal: AbortSignal): Promise<void>;
}

/** Each reporter gets at most this long; a hung endpoint must not hold a run (or a schedule) up. */
export const REPORTER_TIMEOUT_MS = 10_000;

/**
 * Runs every reporter, all at once, each within its timeout. None can fail the run: a reporter's
 * error (or its timeout) is logged as a warning, and the others run regardless.
 */
export async function runReporters(
  reporters: readonly Reporter[],
  call: (reporter: Reporter, signal: AbortSignal) => Promise<void> | undefined,
  log: Logger,
  timeoutMs = REPORTER_TIMEOUT_MS,
): Promise<void> {
  await Promise.all(
    reporters.map(async (reporter) => {
      const signal = AbortSignal.timeout(timeoutMs);
      try {
        await Promise.race([
          call(reporter, signal),
          new Promise<never>((_, reject) => signal.addEventListener("abort", () => reject(new Error(`no answer within ${timeoutMs / 1000} s`)), { once: true })),
        ]);
      } catch (err) {
        log.warn(`${reporter.name}: ${oneLine(err)}`);
      }
    }),
  );
}
