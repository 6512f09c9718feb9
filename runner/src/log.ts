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
    for (const line of chunk.toString("utf8").split("\n")) {
      if (!line) continue;
      try {
        const record = JSON.parse(line) as { level: number; msg?: string };
        const level = LEVEL_NAMES[record.level] ?? "info";
        this.out.write(`${level === "info" ? "" : `${level}: `}${record.msg ?? ""}\n`);
      } catch {
        this.out.write(line + "\n");
      }
    }
    done();
  }
}

export interface LoggerOptions {
  level: string;
  /** Directory for JSON lines, one file a day: `${prefix}_YYYYMMDD.log` (seed 000's names). */
  directory?: string | undefined;
  prefix?: string;
  /** Keep stderr for errors only (--json output, or quiet commands). */
  quiet?: boolean;
}

/**
 * Logs for people (stderr) and for machines (JSON lines in the log directory, private to the user).
 * Nothing logged may hold a secret: env values and credentials are never passed to the logger, and the
 * fields that could hold them are redacted as a second line of defence.
 */
export function createLogger(options: LoggerOptions): Logger {
  const streams: pino.StreamEntry[] = [
    { stream: new HumanLines(process.stderr), level: (options.quiet ? "error" : options.level) as pino.Level },
  ];
  const file = options.directory ? openLogFile(options.directory, options.prefix ?? "backup") : undefined;
  if (file !== undefined) streams.push({ stream: pino.destination({ fd: file, sync: true }), level: "debug" });
  return pino(
    {
      level: "debug",
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ["env", "*.env", "Env", "*.Env", "secret", "*.secret", "password", "*.password"], censor: "[redacted]" },
    },
    pino.multistream(streams),
  );
}

function openLogFile(directory: string, prefix: string): number | undefined {
  const day = new Date().toISOString().slice(0, 10).replace(/-/g, "");
  try {
    fs.mkdirSync(directory, { recursive: true, mode: 0o700 });
    return fs.openSync(path.join(directory, `${prefix}_${day}.log`), "a", 0o600);
  } catch {
    // An unwritable log directory must not mask the real error the command is about to report.
    return undefined;
  }
}
