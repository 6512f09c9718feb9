import { STATUS_PORT_IN_RUNNER } from "./runner-container.js";
import path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "./config.js";

/**
 * What the runner container needs from the stack: the OWUI_BACKUP_* settings the CLI reads
 * (runner/src/config.ts; only the names are shared) and the host directories it mounts. Credentials are
 * not here: index.ts passes them to the container separately, as secrets.
 */

/** Where the Docker socket appears inside the runner (dockerode's default). */
export const SOCKET_IN_RUNNER = "/var/run/docker.sock";

/** The bucket an `aws` stack made (known once it exists). */
export interface BucketRef {
  bucket: pulumi.Input<string>;
  region: pulumi.Input<string>;
}

export interface RunnerSettings {
  storeUrl: pulumi.Input<string>;
  env: Record<string, pulumi.Input<string>>;
  /** Bind mounts: host path → path inside the runner; the Docker socket first. */
  mounts: { source: string; target: string }[];
  /** The mounted host directories (not the socket), to create before Docker would as root. */
  directories: string[];
}

const RETENTION_ENV = {
  keepLast: "OWUI_BACKUP_KEEP_LAST",
  keepDaily: "OWUI_BACKUP_KEEP_DAILY",
  keepWeekly: "OWUI_BACKUP_KEEP_WEEKLY",
  keepMonthly: "OWUI_BACKUP_KEEP_MONTHLY",
} as const;

const isWindowsPath = (p: string) => /^[A-Za-z]:[\\/]/.test(p);

/** Inside the runner a local store keeps its host path (so paths it prints work on the host), except on Windows hosts. */
export function storePathInRunner(hostPath: string): string {
  return isWindowsPath(hostPath) ? "/store" : hostPath;
}

export function runnerSettings(config: StackConfig, bucket?: BucketRef): RunnerSettings {
  const retention: Record<string, string> = {};
  for (const [key, name] of Object.entries(RETENTION_ENV)) {
    const value = config.retention[key as keyof typeof RETENTION_ENV];
    if (value !== undefined) retention[name] = String(value);
  }
  const common = {
    OWUI_BACKUP_CONTAINER: config.container,
    // No passwd entry exists for the host uid the runner runs as; Node still wants a home.
    HOME: "/tmp",
    OWUI_BACKUP_NOTIFY_ON: config.notifyOn,
    // Inside the runner on every interface, so that the port Docker publishes (on the host's loopback) reaches it.
    OWUI_BACKUP_LISTEN: config.statusPort ? `0.0.0.0:${STATUS_PORT_IN_RUNNER}` : "off",
    ...retention,
  };
  const socket = { source: config.dockerSocket, target: SOCKET_IN_RUNNER };
  const s = config.storage;
  if (s.kind === "local") {
    const target = storePathInRunner(s.path);
    return {
      storeUrl: s.path,
      env: { ...common, OWUI_BACKUP_STORE: target },
      mounts: [socket, { source: s.path, target }],
      directories: [s.path],
    };
  }
  if (s.kind === "aws" && !bucket) throw new Error("an aws stack's runner needs its bucket");
  const where = s.kind === "aws" ? bucket! : { bucket: s.bucket, region: s.region };
  const storeUrl = typeof where.bucket === "string" ? `s3://${where.bucket}/${s.prefix}` : pulumi.interpolate`s3://${where.bucket}/${s.prefix}`;
  // Logs and the watcher's state of a remote store stay on this host, where the CLI keeps them too
  // (<data dir>/logs, <data dir>/state).
  const dataDir = storePathInRunner(config.hostDataDir);
  const env: Record<string, pulumi.Input<string>> = {
    ...common,
    OWUI_BACKUP_STORE: storeUrl,
    OWUI_BACKUP_LOG_DIR: path.posix.join(dataDir, "logs"),
    OWUI_BACKUP_STATE_DIR: path.posix.join(dataDir, "state"),
  };
  if (where.region) env.OWUI_BACKUP_S3_REGION = where.region;
  if (s.kind === "s3") {
    env.OWUI_BACKUP_S3_ENDPOINT = s.endpoint;
    if (s.forcePathStyle !== undefined) env.OWUI_BACKUP_S3_FORCE_PATH_STYLE = String(s.forcePathStyle);
  }
  return { storeUrl, env, mounts: [socket, { source: config.hostDataDir, target: dataDir }], directories: [config.hostDataDir] };
}

/** The restore commands the stack prints: through the runner, and with the CLI on the host. */
export function restoreCommands(config: StackConfig, storeUrl: string, region?: string): { viaRunner: string; onHost: string } {
  const docker = config.dockerHost ? `docker -H ${config.dockerHost}` : "docker";
  const credentials = config.storage.kind === "local" ? "" : "AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=… ";
  const s3 = [
    config.storage.kind === "s3" ? ` --s3-endpoint ${config.storage.endpoint}` : "",
    config.storage.kind !== "local" && region ? ` --s3-region ${region}` : "",
  ].join("");
  const quote = (text: string) => (/\s/.test(text) ? `"${text}"` : text);
  // The clone's own CLI by its path: a bare package name run through npm would ask the registry for it.
  return {
    viaRunner: `${docker} exec -it ${config.runnerName} owui-backup restore latest`,
    onHost: `${credentials}node ${quote(config.hostCli)} --container ${config.container} --store ${quote(storeUrl)}${s3} restore latest`,
  };
}
