import type { Logger } from "pino";
import { ContainerNotFoundError } from "../errors.js";
import { readRunState, recordRun } from "../state/run-state.js";
import type { Store } from "../store/store.js";
import type { Reporter } from "./reporters.js";
import { finishedAt, type RunReport } from "./run-report.js";

/**
 * The run state `status`, the metrics and /healthz read (state/<container>.json): a backup's last
 * success or failure. A name the store has never seen, for a container that does not exist, is a
 * typo: it leaves no trace. A known container gone missing is a failure worth recording.
 */
export function runStateReporter(store: Store, error: () => unknown): Reporter {
  return {
    name: "run state",
    report: async (report: RunReport) => {
      if (report.command !== "backup") return;
      const at = finishedAt(report);
      const trigger = report.trigger ?? "manual";
      if (report.status === "ok" && report.snapshot) {
        await recordRun(store, report.container, { lastSuccess: { id: report.snapshot, at, trigger, durationMs: report.durationMs } });
        return;
      }
      if (report.status === "ok") return;
      const typo = error() instanceof ContainerNotFoundError && Object.keys(await readRunState(store, report.container).catch(() => ({}))).length === 0;
      // Best effort: when the run failed, the store is often why (unwritable, full), and the run's error says so already.
      if (!typo) await recordRun(store, report.container, { lastFailure: { at, trigger, error: report.error ?? "no error given" } }).catch(() => undefined);
    },
  };
}

/** The run's last line in the JSON log file: its result, exit code and duration (stderr has already said it). */
export function logResultLine(log: Logger, result: { command: string; status: RunReport["status"]; error: string | null; exitCode: number; durationMs: number }): void {
  const fields = { fileOnly: true, result: result.status, command: result.command, exitCode: result.exitCode, durationMs: result.durationMs };
  if (result.status === "ok") log.info(fields, `${result.command} finished (exit ${result.exitCode})`);
  else log.error(fields, `${result.command} failed: ${result.error ?? "no error given"}`);
}

export function logLineReporter(log: Logger, exitCode: () => number): Reporter {
  return {
    name: "log",
    report: async (report: RunReport) => logResultLine(log, { ...report, exitCode: exitCode() }),
  };
}
