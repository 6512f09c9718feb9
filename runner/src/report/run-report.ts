import os from "node:os";
import { TOOL_VERSION } from "../version.js";

/** How a run ended. */
export type RunStatus = "ok" | "failed" | "interrupted";

/**
 * One record per finished run, handed to every reporter (notifications, health pings, metrics). It
 * holds nothing secret: the store is its display form, the error is the run's one-line message.
 */
export interface RunReport {
  /** backup, restore, prune, copy, drill. */
  command: string;
  trigger: string | null;
  container: string;
  store: string;
  snapshot: string | null;
  status: RunStatus;
  error: string | null;
  startedAt: string;
  durationMs: number;
  bytes: { read: number; new: number; stored: number } | null;
  /** Things that went wrong without failing the run (a retention problem, a copy). */
  warnings: string[];
  host: string;
  toolVersion: string;
  /** The run's last log lines (info and up): what a health check's /fail shows. */
  logTail: string[];
}

/** What a command knows about its run, filled in as it goes; main turns it into a RunReport at the end. */
export interface RunFacts {
  command: string;
  container: string;
  store: string;
  trigger?: string;
  snapshot?: string;
  bytes?: RunReport["bytes"];
  warnings?: string[];
}

export function runReport(facts: RunFacts, ended: { status: RunStatus; error: string | null; startedAt: Date; logTail?: string[] }): RunReport {
  return {
    command: facts.command,
    trigger: facts.trigger ?? null,
    container: facts.container,
    store: facts.store,
    snapshot: facts.snapshot ?? null,
    status: ended.status,
    error: ended.error,
    startedAt: ended.startedAt.toISOString(),
    durationMs: Date.now() - ended.startedAt.getTime(),
    bytes: facts.bytes ?? null,
    warnings: facts.warnings ?? [],
    host: os.hostname(),
    toolVersion: TOOL_VERSION,
    logTail: ended.logTail ?? [],
  };
}

/** When the run ended (ISO 8601). */
export function finishedAt(report: RunReport): string {
  return new Date(Date.parse(report.startedAt) + report.durationMs).toISOString();
}

/** One line for people: what ran, how it ended. */
export function headline(report: RunReport): string {
  const what = `${report.command}${report.trigger ? ` (${report.trigger})` : ""} of ${report.container} on ${report.host}`;
  if (report.status === "ok") return `owui-backup: ${what} succeeded${report.snapshot ? `: ${report.snapshot}` : ""}`;
  return `owui-backup: ${what} ${report.status === "interrupted" ? "was interrupted" : "FAILED"}: ${report.error ?? "no error given"}`;
}

/** The lines under the headline: store, duration, warnings. */
export function details(report: RunReport): string {
  return [`store ${report.store}, ${(report.durationMs / 1000).toFixed(1)} s`, ...report.warnings.map((w) => `warning: ${w}`)].join("\n");
}

/** A plain-text message: headline and details. */
export function message(report: RunReport): string {
  return `${headline(report)}\n${details(report)}\n`;
}
