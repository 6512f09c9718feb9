import path from "node:path";
import { z } from "zod";
import { cronExpressionProblem } from "./schedule/cron.js";
import { WEEKDAYS, type Weekday } from "./schedule/scheduled-backup.js";

/**
 * The stack's configuration: simple keys typed in Pulumi.yaml, structured values (storage, schedule,
 * retention) read as objects and validated here, so a bad value stops `pulumi up` before any resource
 * exists, with one message naming the key. Facts about this machine come in as an argument so the
 * rules are testable without touching it.
 */

export const SCHEDULE_KINDS = ["cron", "systemd", "windows", "none"] as const;
export type ScheduleKind = (typeof SCHEDULE_KINDS)[number];

const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const TIME = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** S3's bucket naming rules (the runner checks the same ones before any request). */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return "must be 3 to 63 characters long";
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name)) return "may hold only lowercase letters, digits, dots and hyphens, and must start and end with a letter or digit";
  if (name.includes("..")) return "must not contain two dots in a row";
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return "must not look like an IP address";
  if (/^(xn--|sthree-|amzn-s3-demo-)/.test(name)) return "must not start with a prefix S3 reserves (xn--, sthree-, amzn-s3-demo-)";
  if (/(-s3alias|--ol-s3|\.mrap|--x-s3|--table-s3)$/.test(name)) return "must not end with a suffix S3 reserves (-s3alias, --ol-s3, …)";
  return undefined;
}

const bucketName = z.string().superRefine((name, ctx) => {
  const problem = bucketNameProblem(name);
  if (problem) ctx.addIssue({ code: "custom", message: `"${name}" is not a valid bucket name: it ${problem}` });
});
// No * or ?: the prefix goes into IAM policies, where they are wildcards.
const prefix = z
  .string()
  .regex(/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/, "expected key segments of letters, digits, _ . - such as host-a or backups/host-a (no leading or trailing slash)");
const wholeNumber = (min: number, max: number) => z.number().int(`expected a whole number`).min(min).max(max);

const localStorage = z.strictObject({
  kind: z.literal("local"),
  /** A directory on the Docker host; ~ is this user's home. */
  path: z.string().min(1).optional(),
});

const awsStorage = z.strictObject({
  kind: z.literal("aws"),
  /** Physical name; omitted, Pulumi names it owui-backup-<stack>-<random>. */
  bucketName: bucketName.optional(),
  prefix: prefix.default("open-webui"),
  /** SSE-KMS with this key (its ARN: the runner's IAM policy names it); omitted, SSE-S3 (AES256). */
  kmsKeyArn: z.string().regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/, "expected a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)").optional(),
  /** Old versions (overwritten or pruned objects) are deleted this many days after they stop being current. */
  noncurrentVersionDays: wholeNumber(1, 36500).default(30),
  transition: z
    .strictObject({
      days: wholeNumber(1, 36500),
      // Only classes read at once: GLACIER and DEEP_ARCHIVE need a restore request before restore can read them.
      storageClass: z.enum(["STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR"], {
        error: "expected STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING or GLACIER_IR (classes restore can read at once)",
      }),
    })
    .refine((t) => t.days >= 30 || !t.storageClass.endsWith("_IA"), { message: "S3 moves objects to STANDARD_IA or ONEZONE_IA after 30 days at the earliest", path: ["days"] })
    .optional(),
  objectLock: z
    .strictObject({
      mode: z.enum(["GOVERNANCE", "COMPLIANCE"], { error: "expected GOVERNANCE or COMPLIANCE" }),
      days: wholeNumber(1, 36500),
    })
    .optional(),
  /** false (default): `pulumi destroy` leaves the bucket and every snapshot in it. */
  destroyBucket: z.boolean().default(false),
  /** The bucket (bucketName) exists already, e.g. kept by an earlier `pulumi destroy`: adopt it instead of creating it. */
  existing: z.boolean().default(false),
});

const s3Storage = z.strictObject({
  kind: z.literal("s3"),
  // No user:password@: credentials go into secrets, never into a URL that lands in plain settings.
  endpoint: z.string().regex(/^https?:\/\/[^\s/@]+(\/[^\s@]*)?$/, "expected an http(s):// URL without credentials, such as https://s3.us-west-004.backblazeb2.com"),
  bucket: bucketName,
  prefix: prefix.default("open-webui"),
  region: z.string().regex(/^[a-z0-9-]{2,32}$/, "expected a region name such as us-west-004 or auto").optional(),
  forcePathStyle: z.boolean().optional(),
});

const storage = z.discriminatedUnion("kind", [localStorage, awsStorage, s3Storage], {
  error: (issue) => (issue.code === "invalid_union" ? 'expected kind: local, aws or s3' : undefined),
});

const schedule = z
  .strictObject({
    kind: z.enum(SCHEDULE_KINDS, { error: `expected one of ${SCHEDULE_KINDS.join(", ")}` }).optional(),
    /** Daily at this local time. */
    time: z.string().regex(TIME, 'expected a time of day as HH:MM, such as "02:00"').default("02:00"),
    /** cron only: a five-field expression instead of the daily time. */
    cron: z
      .string()
      .superRefine((expr, ctx) => {
        const problem = cronExpressionProblem(expr);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
      })
      .optional(),
    /** Also back up this many minutes after the machine starts (seed 000: 5); false turns it off. */
    atBoot: z.boolean().default(true),
    bootDelayMinutes: wholeNumber(0, 1440).default(5),
    /** systemd only: system units (root) or user units; default from who runs `pulumi up`. */
    systemdScope: z.enum(["system", "user"], { error: "expected system or user" }).optional(),
    /** A weekly restore rehearsal of the latest snapshot (`owui-backup drill`). */
    drill: z
      .strictObject({
        weekday: z.enum(WEEKDAYS, { error: `expected one of ${WEEKDAYS.join(", ")}` }),
        time: z.string().regex(TIME, 'expected a time of day as HH:MM, such as "03:30"'),
      })
      .optional(),
  })
  .default({ time: "02:00", atBoot: true, bootDelayMinutes: 5 });

const retention = z
  .strictObject({
    keepLast: wholeNumber(0, 100000).optional(),
    keepDaily: wholeNumber(0, 100000).optional(),
    keepWeekly: wholeNumber(0, 100000).optional(),
    keepMonthly: wholeNumber(0, 100000).optional(),
  })
  .default({ keepLast: 7, keepDaily: 7, keepWeekly: 4, keepMonthly: 6 });

export type StorageConfig =
  | (z.output<typeof localStorage> & { path: string })
  | z.output<typeof awsStorage>
  | z.output<typeof s3Storage>;
export type RetentionConfig = z.output<typeof retention>;

export interface ScheduleConfig {
  kind: ScheduleKind;
  time: string;
  cron?: string;
  atBoot: boolean;
  bootDelayMinutes: number;
  systemdScope: "system" | "user";
  drill?: { weekday: Weekday; time: string };
}

export interface StackConfig {
  project: string;
  stack: string;
  /** The Open WebUI container to back up. */
  container: string;
  /** The runner container's name. */
  runnerName: string;
  /** DOCKER_HOST for the provider and for `docker exec` in the schedule; undefined = the local default. */
  dockerHost?: string;
  /** The Docker socket on the Docker host, mounted into the runner. */
  dockerSocket: string;
  /** This machine's owui-backup data directory (the CLI's default store; logs of remote stores). */
  hostDataDir: string;
  /** Base image of the runner (a Node LTS slim image). */
  nodeImage: string;
  /** The platform to build the runner image for (os/arch): configured, else the engine's own. */
  platform: string;
  storage: StorageConfig;
  schedule: ScheduleConfig;
  retention: RetentionConfig;
  /** uid:gid the runner runs as and the socket's group, when the engine is local (snapshot files then belong to you). */
  runAs?: { user: string; groups: string[] };
  /** The CLI of this clone (runner/bin/owui-backup.js): what the printed host commands run, never a registry package. */
  hostCli: string;
  /** When notifications go out (the URLs are the secret `owui-backup:notify`). */
  notifyOn: "failure" | "always";
  /** Host port (127.0.0.1) of the watcher's status page, /metrics and /healthz; 0: not published. */
  statusPort: number;
}

/** What this machine is; index.ts reads it, tests make it up. */
export interface HostFacts {
  platform: NodeJS.Platform;
  homedir: string;
  env: NodeJS.ProcessEnv;
  uid?: number;
  gid?: number;
  /** Owner and group of a local socket file, when it can be read. */
  socketOwner?: (socket: string) => { uid: number; gid: number } | undefined;
  /** The directory of Pulumi.yaml: relative paths in the stack's configuration are relative to it. */
  projectRoot: string;
  /** The docker CLI's current context's endpoint (Colima, Docker Desktop contexts); undefined when the CLI cannot be asked. */
  dockerContextHost: () => string | undefined;
  /** The engine's os/arch (`docker version`); undefined when it cannot be asked. */
  enginePlatform: (dockerHost: string | undefined) => string | undefined;
}

/** The raw values, as `pulumi.Config` gives them: strings for simple keys, parsed objects for structured ones. */
export interface RawConfig {
  project: string;
  stack: string;
  /** The docker provider's own `docker:host`, when set. */
  dockerProviderHost?: string;
  get(key: string): string | undefined;
  getObject(key: string): unknown;
}

/** A configuration value that cannot work; the message names the key (`owui-backup:<key>`). */
export class ConfigError extends Error {}

function parse<T extends z.ZodType>(namespace: string, key: string, schema: T, value: unknown): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = [key, ...(issue?.path ?? []).map(String)].join(".");
  throw new ConfigError(`${namespace}:${where}: ${issue?.message ?? "invalid value"}`);
}

export function defaultScheduleKind(platform: NodeJS.Platform): ScheduleKind {
  return platform === "win32" ? "windows" : "cron";
}

/** The runner's own default store directory (runner/src/store/open-store.ts defaultStorePath), on this machine. */
export function defaultLocalStore(facts: HostFacts): string {
  if (facts.platform === "win32") return path.win32.join(facts.env.LOCALAPPDATA ?? path.win32.join(facts.homedir, "AppData", "Local"), "owui-backup");
  if (facts.platform === "darwin") return path.posix.join(facts.homedir, "Library", "Application Support", "owui-backup");
  return path.posix.join(facts.env.XDG_DATA_HOME || path.posix.join(facts.homedir, ".local", "share"), "owui-backup");
}

function expandHome(p: string, facts: HostFacts): string {
  if (p === "~" || p.startsWith("~/")) return path.join(facts.homedir, p.slice(1));
  return p;
}

/**
 * The engine's socket as the engine's host sees it (it is mounted into the runner from there). On
 * Linux the engine runs here, so a unix:// address is that path; on macOS and Windows it runs in a VM
 * (Docker Desktop, Colima), whose socket is /var/run/docker.sock whatever the address on this side.
 */
function socketOf(dockerHost: string | undefined, platform: NodeJS.Platform): string {
  return dockerHost?.startsWith("unix://") && platform === "linux" ? dockerHost.slice("unix://".length) : "/var/run/docker.sock";
}

/** Context endpoints that are the engine's default address anyway (the provider's default reaches them). */
const DEFAULT_ENGINE = (host: string) => host === "unix:///var/run/docker.sock" || host.startsWith("npipe://");

export function readStackConfig(raw: RawConfig, facts: HostFacts): StackConfig {
  const ns = raw.project;
  const text = (key: string, schema: z.ZodType<string>, fallback: string) => parse(ns, key, schema, raw.get(key) ?? fallback);

  const container = text("container", z.string().regex(CONTAINER_NAME, "expected a container name such as open-webui"), "open-webui");
  const runnerName = text("runnerName", z.string().regex(CONTAINER_NAME, "expected a container name"), `owui-backup-runner-${raw.stack}`);
  // One engine for the provider and the schedule: ours, else the provider's, else the environment's, else
  // the docker CLI's current context (the schedule's `docker exec` would follow it; the provider would
  // not). Asked on every run, so a run that cannot ask must not quietly pick another engine.
  const contextHost = () => {
    const host = facts.dockerContextHost();
    if (host === undefined) {
      throw new ConfigError(`${ns}:dockerHost: the docker CLI cannot be asked for its current context (is docker on PATH?); set owui-backup:dockerHost, e.g. unix:///var/run/docker.sock`);
    }
    return DEFAULT_ENGINE(host) ? undefined : host;
  };
  const dockerHostRaw = raw.get("dockerHost") || raw.dockerProviderHost || facts.env.DOCKER_HOST || contextHost();
  const dockerHost = dockerHostRaw
    ? parse(ns, "dockerHost", z.string().regex(/^(unix|tcp|ssh|npipe):\/\/[^\s%'"]+$/, "expected unix://, tcp://, ssh:// or npipe:// followed by an address (no quotes or %)"), dockerHostRaw)
    : undefined;
  const dockerSocket = text("dockerSocket", z.string().regex(/^\/\S*$/, "expected an absolute path on the Docker host"), socketOf(dockerHost, facts.platform));
  const nodeImage = text("nodeImage", z.string().regex(/^[a-z0-9][\w./:@-]*$/, "expected an image reference such as node:24-slim"), "node:24-slim");
  const platformRaw = raw.get("platform");
  // The image runs on the engine, not here: a Mac building for an amd64 NAS needs linux/amd64.
  const platform = platformRaw
    ? parse(ns, "platform", z.string().regex(/^[a-z0-9]+\/[a-z0-9]+(\/[a-z0-9]+)?$/, "expected os/arch such as linux/amd64 or linux/arm64"), platformRaw)
    : facts.enginePlatform(dockerHost);
  // Asked on every run: a run that cannot ask would change the image's platform and replace the runner.
  if (!platform) throw new ConfigError(`${ns}:platform: the Docker engine cannot be asked for its platform (docker version failed); set owui-backup:platform, e.g. linux/amd64`);

  const storageValue = raw.getObject("storage") ?? { kind: "local" };
  const parsedStorage = parse(ns, "storage", storage, storageValue);
  // Relative to the project (Pulumi.yaml), not to where the engine runs the program (infra/).
  const resolvedStorage =
    parsedStorage.kind === "local"
      ? { ...parsedStorage, path: path.resolve(facts.projectRoot, expandHome(parsedStorage.path ?? defaultLocalStore(facts), facts)) }
      : parsedStorage;
  if (resolvedStorage.kind === "aws" && resolvedStorage.objectLock && resolvedStorage.destroyBucket) {
    throw new ConfigError(
      `${ns}:storage.destroyBucket: cannot be true with storage.objectLock: S3 keeps locked versions until their retention ends (COMPLIANCE: for anyone), so destroy could never delete the bucket; drop one of the two`,
    );
  }
  if (resolvedStorage.kind === "aws" && resolvedStorage.existing && !resolvedStorage.bucketName) {
    throw new ConfigError(`${ns}:storage.existing: needs storage.bucketName, the bucket to adopt`);
  }
  if (resolvedStorage.kind === "aws" && resolvedStorage.existing && resolvedStorage.destroyBucket) {
    throw new ConfigError(`${ns}:storage.existing: an adopted bucket is not deleted by destroy; drop storage.destroyBucket, or delete the bucket yourself`);
  }

  const parsedSchedule = parse(ns, "schedule", schedule, raw.getObject("schedule"));
  const kind = parsedSchedule.kind ?? defaultScheduleKind(facts.platform);
  if (parsedSchedule.cron !== undefined && kind !== "cron") {
    throw new ConfigError(`${ns}:schedule.cron: only the cron schedule takes an expression; use schedule.time (HH:MM) with ${kind}`);
  }
  const isRoot = facts.uid === 0;

  // A local rootful engine (socket owned by root): run as the user so the snapshots are theirs. A rootless
  // engine already maps container root to the user; a remote one has other users.
  const local = !dockerHost || dockerHost.startsWith("unix://");
  const socket = local && facts.platform === "linux" ? facts.socketOwner?.(dockerSocket) : undefined;
  const runAs =
    socket?.uid === 0 && facts.uid !== undefined && facts.gid !== undefined
      ? { user: `${facts.uid}:${facts.gid}`, groups: [String(socket.gid)] }
      : undefined;

  return {
    project: raw.project,
    stack: raw.stack,
    container,
    runnerName,
    dockerHost,
    dockerSocket,
    hostDataDir: defaultLocalStore(facts),
    nodeImage,
    platform,
    storage: resolvedStorage,
    schedule: {
      kind,
      time: parsedSchedule.time,
      cron: parsedSchedule.cron,
      atBoot: parsedSchedule.atBoot,
      bootDelayMinutes: parsedSchedule.bootDelayMinutes,
      systemdScope: parsedSchedule.systemdScope ?? (isRoot ? "system" : "user"),
      ...(parsedSchedule.drill ? { drill: parsedSchedule.drill } : {}),
    },
    retention: parse(ns, "retention", retention, raw.getObject("retention")),
    runAs,
    hostCli: (facts.platform === "win32" ? path.win32 : path.posix).join(facts.projectRoot, "runner", "bin", "owui-backup.js"),
    notifyOn: parse(ns, "notifyOn", z.enum(["failure", "always"], { error: "expected failure or always" }), raw.get("notifyOn") ?? "failure"),
    statusPort: parse(ns, "statusPort", z.coerce.number().int("expected a port number, or 0 for none").min(0).max(65535, "expected a port number, or 0 for none"), raw.get("statusPort") ?? "9595"),
  };
}

/** Schemes the runner's --notify understands (runner/src/report/notify/targets.ts). */
const NOTIFY_SCHEMES = ["json", "jsons", "ntfy", "ntfys", "discord", "slack", "gotify", "gotifys", "mailto", "mailtos", "hc", "hcs", "http", "https"];

/**
 * The secret `owui-backup:notify` (space-separated URLs) checked for schemes the runner knows: a typo
 * stops `pulumi up` instead of every nightly run. The message names the scheme, never the URL.
 */
export function checkNotifyUrls(value: string): string {
  for (const url of value.split(/\s+/).filter(Boolean)) {
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
    if (!scheme) throw new ConfigError("owui-backup:notify: a value is not a URL (scheme://…); see the README, \"Monitoring and notifications\"");
    if (!NOTIFY_SCHEMES.includes(scheme)) throw new ConfigError(`owui-backup:notify: scheme ${scheme} is not supported; use ${NOTIFY_SCHEMES.filter((x) => !x.startsWith("http")).join(", ")}`);
  }
  return value;
}
