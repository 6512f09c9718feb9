import type { Logger } from "pino";
import type { Config } from "../config.js";
import type { Store } from "../store/store.js";
import { metricsFileReporter } from "./metrics/metrics-file.js";
import { oneLine } from "../errors.js";
import { recentLines } from "../log.js";
import { logLineReporter, runStateReporter } from "./builtin.js";
import { runReporters, type Reporter } from "./reporters.js";
import { runReport, type RunFacts, type RunReport, type RunStatus } from "./run-report.js";
import { parseTarget, type Target } from "./notify/targets.js";

/**
 * What happens after a run, in one place: the run state, the log's result line, the notification
 * targets (--notify, filtered by --notify-on), health-check pings (every run, and at its start) and
 * the metrics file. Built before
 * the run does anything, so a bad URL is a usage error that changes nothing.
 */
export class RunReporting {
  private readonly targets: Target[];
  private readonly metrics: Reporter | undefined;
  private readonly startedAt = new Date();

  constructor(
    readonly facts: RunFacts,
    private readonly config: Pick<Config, "notify" | "notifyOn" | "metricsFile">,
    private readonly store: Store,
    private readonly log: Logger,
  ) {
    this.targets = config.notify.map(parseTarget);
    this.metrics = config.metricsFile ? metricsFileReporter(config.metricsFile, store) : undefined;
  }

  /** Tells the health checks a run began (a run that never ends is then caught by their grace time). */
  async started(): Promise<void> {
    const starters = this.targets.filter((t) => t.everyRun && t.reporter.start).map((t) => t.reporter);
    await runReporters(starters, (r, signal) => r.start?.({ command: this.facts.command, container: this.facts.container }, signal), this.log, 5_000);
  }

  /**
   * Hands the run's report to its reporters, in order: the run state first (the metrics read it), then
   * the log's result line, the notifications and the metrics file together. Never throws, never takes long.
   */
  async finished(status: RunStatus, error: unknown, exitCode: number): Promise<RunReport> {
    const report = runReport(this.facts, { status, error: error === undefined ? null : oneLine(error), startedAt: this.startedAt, logTail: recentLines(this.log) });
    const notify = status !== "ok" || this.config.notifyOn === "always";
    const call = (r: Reporter, signal: AbortSignal) => r.report(report, signal);
    await runReporters([runStateReporter(this.store, () => error)], call, this.log);
    await runReporters(
      [
        logLineReporter(this.log, () => exitCode),
        ...this.targets.filter((t) => t.everyRun || notify).map((t) => t.reporter),
        ...(this.metrics ? [this.metrics] : []),
      ],
      call,
      this.log,
    );
    return report;
  }
}
