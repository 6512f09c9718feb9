import fs from "node:fs";
import path from "node:path";
import { Writable } from "node:stream";
import pino, { type Logger } from "pino";

const LEVEL_NAMES: Record<number, string> = { 10: "trace", 20: "debug", 30: "info", 40: "warn", 50: "error", 60: "fatal" };

/** Human lines on stderr: "warn: message". The JSON file keeps the fields. */
class HumanLines extends Writable {
  constructor(private readonly out: NodeJS.WriteStream) {
    super();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    for (const line of humanLines(chunk)) this.out.write(`${line}\n`);
    done();
  }
}

/**
 * pino's JSON lines as people read them ("warn: message"), leaving out the run's result line (for the
 * file only: stderr already carries the summary or the error line).
 */
function humanLines(chunk: Buffer): string[] {
  const out: string[] = [];
  for (const line of chunk.toString("utf8").split("\n")) {
    if (!line) continue;
    try {
      const record = JSON.parse(line) as { level: number; msg?: string; fileOnly?: boolean };
      if (record.fileOnly) continue;
      const level = LEVEL_NAMES[record.level] ?? "info";
      out.push(`${level === "info" ? "" : `${level}: `}${record.msg ?? ""}`);
    } catch {
      out.push(line);
    }
  }
  return out;
}

/** The last lines a run logged (info and up, as people read them): the body of a health check's /fail. */
class RecentLines extends Writable {
  readonly lines: string[] = [];
  constructor(private readonly keep: number) {
    super();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.lines.push(...humanLines(chunk));
    if (this.lines.length > this.keep) this.lines.splice(0, this.lines.length - this.keep);
    done();
  }
}

const recent = new WeakMap<Logger, RecentLines>();

/** The last lines this logger wrote (at most 20), oldest first. */
export function recentLines(log: Logger): string[] {
  return [...(recent.get(log)?.lines ?? [])];
}

export interface LoggerOptions {
  level: string;
  /** Directory for JSON lines, one file a day: `${prefix}_YYYYMMDD.log`. */
  directory?: string | undefined;
  prefix?: string;
  /** Keep stderr for warnings and errors (--json output): progress and info lines would only be noise there. */
  quiet?: boolean;
}

/**
 * Logs for people (stderr) and for machines (JSON lines in the log directory, private to the user).
 * Nothing logged may hold a secret: env values and credentials are never passed to the logger, and the
 * fields that could hold them are redacted as a second line of defence.
 */
export function createLogger(options: LoggerOptions): Logger {
  const streams: pino.StreamEntry[] = [
    { stream: new HumanLines(process.stderr), level: (options.quiet && options.level !== "error" ? "warn" : options.level) as pino.Level },
  ];
  const file = options.directory ? DailyLogFile.open(options.directory, options.prefix ?? "backup") : undefined;
  if (file) streams.push({ stream: file, level: "debug" });
  const tail = new RecentLines(20);
  streams.push({ stream: tail, level: "info" });
  const logger = pino(
    {
      level: "debug",
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ["env", "*.env", "Env", "*.Env", "secret", "*.secret", "password", "*.password"], censor: "[redacted]" },
    },
    pino.multistream(streams),
  );
  recent.set(logger, tail);
  return logger;
}

/**
 * `${prefix}_YYYYMMDD.log`, private, written synchronously; a long-running watcher moves on to the next
 * day's file at midnight (UTC, like snapshot ids).
 */
class DailyLogFile extends Writable {
  private day = "";
  private fd: number | undefined;

  private constructor(
    private readonly directory: string,
    private readonly prefix: string,
  ) {
    super();
  }

  /** undefined when the directory cannot be written: that must not mask the error a command is about to report. */
  static open(directory: string, prefix: string): DailyLogFile | undefined {
    const file = new DailyLogFile(directory, prefix);
    try {
      fs.mkdirSync(directory, { recursive: true, mode: 0o700 });
      file.current();
      return file;
    } catch {
      return undefined;
    }
  }

  private current(): number {
    const day = new Date().toISOString().slice(0, 10).replace(/-/g, "");
    if (day !== this.day || this.fd === undefined) {
      if (this.fd !== undefined) fs.closeSync(this.fd);
      this.fd = fs.openSync(path.join(this.directory, `${this.prefix}_${day}.log`), "a", 0o600);
      this.day = day;
    }
    return this.fd;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    try {
      fs.writeSync(this.current(), chunk);
      done();
    } catch {
      // A full or vanished log disk must not stop a backup.
      done();
    }
  }
}
