import { posix } from "node:path";
import path from "node:path";
import { z } from "zod";
import { UsageError } from "./errors.js";
import { withoutUserInfo } from "./util/format.js";
import { hostDirectoryProblem, systemPathProblem } from "./util/container-paths.js";
import { TRIGGERS, type Trigger } from "./snapshot/manifest.js";
import type { RetentionPolicy } from "./snapshot/retention.js";
import { defaultStorePath, type StoreSettings } from "./store/open-store.js";
import { booleanWord, REGION_PATTERN } from "./store/s3/s3-location.js";
import { MODES, type Mode } from "./steps/quiesce.js";

/**
 * Every setting, with its flag, its OWUI_BACKUP_* variable and its default, in one table. A flag wins
 * over the variable, the variable over the default. Invalid values are usage errors naming both.
 */
const wholeNumber = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, "expected a whole number")
    .transform(Number)
    .pipe(z.number().int().min(min, `expected at least ${min}`).max(max, `expected at most ${max}`));

/** A duration: a whole number of seconds, or with a unit: 500ms, 30s, 5m, 1h. Milliseconds out. */
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
const duration = (minMs: number) =>
  z
    .string()
    .trim()
    .transform((v, ctx) => {
      const match = /^(\d+)(ms|s|m|h)?$/.exec(v);
      if (!match) ctx.addIssue({ code: "custom", message: "expected a duration such as 30s, 5m or 300 (seconds)" });
      return match ? Number(match[1]) * UNIT_MS[(match[2] ?? "s") as keyof typeof UNIT_MS] : z.NEVER;
    })
    // Timers take at most 2^31-1 ms (24.8 days); longer would fire at once.
    .pipe(z.number().min(minMs, `expected at least ${minMs} ms`).max(20 * 86_400_000, "expected at most 20 days"));

/** A directory of this host that can hold files. */
const hostDirectorySchema = z.string().superRefine((dir, ctx) => {
  const problem = hostDirectoryProblem(path.resolve(dir));
  if (problem) ctx.addIssue({ code: "custom", message: `${problem}; pick another directory` });
});

const SETTINGS = {
  container: {
    flag: "--container",
    env: "OWUI_BACKUP_CONTAINER",
    schema: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, "expected a container name or id"),
    default: () => "open-webui",
  },
  store: {
    flag: "--store",
    env: "OWUI_BACKUP_STORE",
    schema: z.string().min(1, "expected a directory or URL"),
    default: () => defaultStorePath(),
  },
  copyTo: {
    flag: "--copy-to",
    env: "OWUI_BACKUP_COPY_TO",
    schema: z
      .string()
      .transform((s) => s.split(",").map((p) => p.trim()).filter(Boolean))
      .pipe(z.array(z.string()).min(1)),
    default: () => [] as string[],
  },
  s3Endpoint: {
    flag: "--s3-endpoint",
    env: "OWUI_BACKUP_S3_ENDPOINT",
    schema: z.string().trim().regex(/^https?:\/\/[^\s]+$/, "expected an http(s):// URL"),
    default: () => undefined as string | undefined,
  },
  s3Region: {
    flag: "--s3-region",
    env: "OWUI_BACKUP_S3_REGION",
    schema: z.string().trim().regex(REGION_PATTERN, "expected a region name such as us-east-1 or auto"),
    default: () => undefined as string | undefined,
  },
  s3ForcePathStyle: {
    flag: "--s3-force-path-style",
    env: "OWUI_BACKUP_S3_FORCE_PATH_STYLE",
    schema: z.string().transform((v, ctx) => {
      const parsed = booleanWord(v);
      if (parsed === undefined) ctx.addIssue({ code: "custom", message: "expected true or false" });
      return parsed ?? z.NEVER;
    }),
    default: () => undefined as boolean | undefined,
  },
  s3PartSize: {
    flag: "--s3-part-size",
    env: "OWUI_BACKUP_S3_PART_SIZE",
    schema: wholeNumber(5, 5120).transform((mib) => mib * 1024 * 1024),
    default: () => undefined as number | undefined,
  },
  mode: {
    flag: "--mode",
    env: "OWUI_BACKUP_MODE",
    schema: z.enum(MODES, { error: `expected one of ${MODES.join(", ")}` }),
    default: () => "auto" as Mode,
  },
  trigger: {
    flag: "--trigger",
    env: "OWUI_BACKUP_TRIGGER",
    schema: z.enum(TRIGGERS, { error: `expected one of ${TRIGGERS.join(", ")}` }),
    default: () => "manual" as Trigger,
  },
  paths: {
    flag: "--path",
    env: "OWUI_BACKUP_PATHS",
    schema: z
      .string()
      .transform((s) => s.split(",").map((p) => p.trim()).filter(Boolean))
      .pipe(z.array(z.string().regex(/^\/[^\0]*$/, "expected absolute paths inside the container")).min(1))
      // One spelling per path ("/app/backend/data/" and "/app/backend/data/." are "/app/backend/data"):
      // archive names, mounts and the reads planned inside the container all compare paths as text.
      .transform((paths) => paths.map((p) => posix.normalize(p).replace(/(.)\/+$/, "$1")))
      .superRefine((paths, ctx) => {
        for (const p of paths) {
          const problem = systemPathProblem(p);
          if (problem) ctx.addIssue({ code: "custom", message: `${problem}; back up Open WebUI's own paths, such as /app/backend/data` });
        }
      }),
    default: () => undefined as string[] | undefined,
  },
  keepLast: { flag: "--keep-last", env: "OWUI_BACKUP_KEEP_LAST", schema: wholeNumber(0, 100000), default: () => undefined as number | undefined },
  keepDaily: { flag: "--keep-daily", env: "OWUI_BACKUP_KEEP_DAILY", schema: wholeNumber(0, 100000), default: () => undefined as number | undefined },
  keepWeekly: { flag: "--keep-weekly", env: "OWUI_BACKUP_KEEP_WEEKLY", schema: wholeNumber(0, 100000), default: () => undefined as number | undefined },
  keepMonthly: { flag: "--keep-monthly", env: "OWUI_BACKUP_KEEP_MONTHLY", schema: wholeNumber(0, 100000), default: () => undefined as number | undefined },
  compressionLevel: {
    flag: "--compression-level",
    env: "OWUI_BACKUP_COMPRESSION_LEVEL",
    schema: wholeNumber(0, 9),
    // Unset: the codec's own (zstd 3, or gzip 1 where Node has no zstd; see chunks/codec.ts).
    default: () => undefined as number | undefined,
  },
  stopTimeout: { flag: "--stop-timeout", env: "OWUI_BACKUP_STOP_TIMEOUT", schema: wholeNumber(0, 3600), default: () => 30 },
  readyTimeout: { flag: "--ready-timeout", env: "OWUI_BACKUP_READY_TIMEOUT", schema: wholeNumber(1, 86400), default: () => 300 },
  // Watcher settings (watch, check).
  interval: { flag: "--interval", env: "OWUI_BACKUP_WATCH_INTERVAL", schema: duration(1000), default: () => 300_000 },
  debounce: { flag: "--debounce", env: "OWUI_BACKUP_WATCH_DEBOUNCE", schema: duration(0), default: () => 10_000 },
  minGap: { flag: "--min-gap", env: "OWUI_BACKUP_WATCH_MIN_GAP", schema: duration(0), default: () => 600_000 },
  growth: { flag: "--growth", env: "OWUI_BACKUP_WATCH_GROWTH", schema: wholeNumber(1, 100000), default: () => 20 },
  listen: {
    flag: "--listen",
    env: "OWUI_BACKUP_LISTEN",
    // HOST:PORT, or "off". Loopback by default: the page is read-only, but it is nobody else's business.
    schema: z
      .string()
      .trim()
      .regex(/^(off|(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5})$/, "expected HOST:PORT such as 127.0.0.1:9595, or off"),
    default: () => "127.0.0.1:9595",
  },
  healthyWithin: { flag: "--healthy-within", env: "OWUI_BACKUP_HEALTHY_WITHIN", schema: duration(60_000), default: () => 26 * 3_600_000 },
  stateDir: { flag: "--state-dir", env: "OWUI_BACKUP_STATE_DIR", schema: hostDirectorySchema, default: () => undefined as string | undefined },
  logDir: { flag: "--log-dir", env: "OWUI_BACKUP_LOG_DIR", schema: hostDirectorySchema, default: () => undefined as string | undefined },
  logLevel: {
    flag: "--log-level",
    env: "OWUI_BACKUP_LOG_LEVEL",
    schema: z.enum(["debug", "info", "warn", "error"], { error: "expected debug, info, warn or error" }),
    // Unset: info, but warn for scheduled runs (see stderrLevel).
    default: () => undefined as "debug" | "info" | "warn" | "error" | undefined,
  },
  notify: {
    flag: "--notify",
    env: "OWUI_BACKUP_NOTIFY",
    // Space-separated: a mailto URL may hold commas (?to=a@x,b@y). Checked in report/notify/targets.ts,
    // whose errors name the scheme, never the URL (it holds tokens and passwords).
    schema: z.string().transform((s) => s.split(/\s+/).filter(Boolean)),
    default: () => [] as string[],
    separator: " ",
    secret: true,
  },
  notifyOn: {
    flag: "--notify-on",
    env: "OWUI_BACKUP_NOTIFY_ON",
    schema: z.enum(["failure", "always"], { error: "expected failure or always" }),
    default: () => "failure" as "failure" | "always",
  },
  metricsFile: {
    flag: "--metrics-file",
    env: "OWUI_BACKUP_METRICS_FILE",
    schema: z.string().min(1).transform((p) => path.resolve(p)),
    default: () => undefined as string | undefined,
  },
} as const;

type Settings = typeof SETTINGS;
export type Config = { [K in keyof Settings]: ReturnType<Settings[K]["default"]> | z.output<Settings[K]["schema"]> } & {
  /** The flag or variable each set value came from, for messages that tell the user what to check. */
  sources: Partial<Record<keyof Settings, string>>;
};

/** Flags as commander hands them over: camelCase keys, string values (arrays for repeatable flags). */
export type Flags = Record<string, unknown>;

export function loadConfig(flags: Flags, env: NodeJS.ProcessEnv = process.env): Config {
  const sources: Record<string, string> = {};
  const out: Record<string, unknown> = { sources };
  for (const [key, setting] of Object.entries(SETTINGS)) {
    const fromFlag = flags[key];
    const separator = "separator" in setting ? setting.separator : ",";
    const raw = Array.isArray(fromFlag) ? fromFlag.join(separator) : fromFlag !== undefined ? String(fromFlag) : env[setting.env];
    // An empty variable means unset (as shells use them); an empty flag is a mistake, never "the default".
    if (fromFlag !== undefined && raw !== undefined && raw.trim() === "") {
      throw new UsageError(`${setting.flag} is empty: give a value, or leave the flag out for the default`);
    }
    if (raw === undefined || raw === "") {
      out[key] = setting.default();
      continue;
    }
    const parsed = (setting.schema as z.ZodType).safeParse(raw);
    if (!parsed.success) {
      const source = fromFlag !== undefined ? setting.flag : setting.env;
      // URLs may carry a user:secret@ part by mistake; never echo it.
      const shown = "secret" in setting ? "" : ` "${withoutUserInfo(raw)}"`;
      throw new UsageError(`invalid ${source}${shown}: ${parsed.error.issues[0]?.message ?? "invalid value"}`);
    }
    out[key] = parsed.data;
    sources[key] = fromFlag !== undefined ? setting.flag : setting.env;
  }
  return out as Config;
}

export function retentionPolicy(config: Config): RetentionPolicy {
  return { keepLast: config.keepLast, keepDaily: config.keepDaily, keepWeekly: config.keepWeekly, keepMonthly: config.keepMonthly };
}

/**
 * What reaches stderr when --log-level is not set: scheduled runs are quiet unless something is wrong,
 * because cron mails whatever a job prints; the JSON log file keeps every line either way.
 */
export function stderrLevel(config: Config): "debug" | "info" | "warn" | "error" {
  return config.logLevel ?? (config.trigger === "schedule" ? "warn" : "info");
}

/** How to open stores named by URL: the S3 settings shared by --store and --copy-to. */
export function storeSettings(config: Config): StoreSettings {
  return {
    s3: { endpoint: config.s3Endpoint, endpointFrom: config.sources.s3Endpoint, region: config.s3Region, forcePathStyle: config.s3ForcePathStyle },
    s3PartSize: config.s3PartSize,
  };
}

/** Where the watcher keeps its state: the configured directory, else state/ in a local store, else on this host. */
export function stateDirectory(config: Config, storeDirectory: string | undefined): string {
  return hostDirectory(config.stateDir, storeDirectory, "state");
}

/**
 * Where JSON log lines go: the configured directory, else logs/ inside a local store, else (a remote
 * store) logs/ in the per-user data directory of this host.
 */
export function logDirectory(config: Config, storeDirectory: string | undefined): string {
  return hostDirectory(config.logDir, storeDirectory, "logs");
}

/** A directory the user named, else `name` inside a local store, else inside the default store location on this host. */
function hostDirectory(configured: string | undefined, storeDirectory: string | undefined, name: string): string {
  return configured ? path.resolve(configured) : path.join(storeDirectory ?? defaultStorePath(), name);
}
