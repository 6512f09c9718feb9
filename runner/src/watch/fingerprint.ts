import { createHash } from "node:crypto";
import type { ContainerInfo } from "../docker/container.js";

/**
 * What the watcher compares (seed 000's .container_state.json, without secrets): image, configuration,
 * environment (a hash only: values are never stored or logged), mounts, restarts and the data size.
 */
export interface Fingerprint {
  containerId: string;
  image: { id: string; reference: string };
  /** sha256 of each configuration part, so a change can be named without storing the values. */
  config: Record<ConfigPart, string>;
  env: string;
  mounts: string[];
  startedAt: string;
  restartCount: number;
  /** Bytes under the backed-up paths; undefined when it could not be measured (container stopped). */
  dataBytes?: number | undefined;
}

const CONFIG_PARTS = ["cmd", "entrypoint", "labels", "ports", "restartPolicy"] as const;
type ConfigPart = (typeof CONFIG_PARTS)[number];

const hash = (value: unknown) => createHash("sha256").update(JSON.stringify(value ?? null)).digest("hex").slice(0, 16);
const sortedObject = (o: Record<string, unknown> | undefined | null) => Object.fromEntries(Object.entries(o ?? {}).sort(([a], [b]) => a.localeCompare(b)));

export function fingerprintOf(info: ContainerInfo, dataBytes?: number): Fingerprint {
  const parts: Record<ConfigPart, unknown> = {
    cmd: info.Config.Cmd,
    entrypoint: info.Config.Entrypoint,
    labels: sortedObject(info.Config.Labels),
    ports: { exposed: Object.keys(info.Config.ExposedPorts ?? {}).sort(), bound: sortedObject(info.HostConfig.PortBindings as Record<string, unknown>) },
    restartPolicy: info.HostConfig.RestartPolicy,
  };
  return {
    containerId: info.Id,
    image: { id: info.Image, reference: info.Config.Image },
    config: Object.fromEntries(CONFIG_PARTS.map((p) => [p, hash(parts[p])])) as Record<ConfigPart, string>,
    env: hash([...(info.Config.Env ?? [])].sort()),
    mounts: (info.Mounts ?? []).map((m) => `${m.Type}:${m.Name ?? m.Source}->${m.Destination}${m.RW ? "" : ":ro"}`).sort(),
    startedAt: info.State.StartedAt,
    restartCount: info.RestartCount ?? 0,
    dataBytes,
  };
}

export type ChangeKind = "image" | "config" | "env" | "mounts" | "restart" | "size";

export interface Change {
  kind: ChangeKind;
  /** True when it starts a backup. */
  critical: boolean;
  /** One line for people and logs; never a value of the environment. */
  detail: string;
}

/**
 * What differs between the saved fingerprint and now. A container created again (new id) is one change
 * of whatever differs in it, not also a restart. Size is information unless the data grew by at least
 * growthPercent since the last backup.
 */
export function compareFingerprints(before: Fingerprint, now: Fingerprint, options: { growthPercent: number; sizeReference?: number | undefined }): Change[] {
  const changes: Change[] = [];
  const recreated = before.containerId !== now.containerId;
  if (before.image.id !== now.image.id || before.image.reference !== now.image.reference) {
    changes.push({ kind: "image", critical: true, detail: `image ${before.image.reference} (${short(before.image.id)}) → ${now.image.reference} (${short(now.image.id)})` });
  }
  const parts = CONFIG_PARTS.filter((p) => before.config[p] !== now.config[p]);
  if (parts.length > 0) changes.push({ kind: "config", critical: true, detail: `configuration changed: ${parts.join(", ")}` });
  if (before.env !== now.env) changes.push({ kind: "env", critical: true, detail: "environment changed (values not shown)" });
  if (before.mounts.join("\n") !== now.mounts.join("\n")) {
    const added = now.mounts.filter((m) => !before.mounts.includes(m));
    const removed = before.mounts.filter((m) => !now.mounts.includes(m));
    changes.push({ kind: "mounts", critical: true, detail: `mounts changed: ${[...added.map((m) => `+${m}`), ...removed.map((m) => `-${m}`)].join(" ")}` });
  }
  if (!recreated && (before.startedAt !== now.startedAt || before.restartCount !== now.restartCount)) {
    changes.push({ kind: "restart", critical: true, detail: `restarted at ${now.startedAt}` });
  }
  if (recreated && changes.length === 0) changes.push({ kind: "restart", critical: true, detail: `created again (${short(now.containerId)}), same settings` });
  if (before.dataBytes !== undefined && now.dataBytes !== undefined && before.dataBytes !== now.dataBytes) {
    const base = options.sizeReference ?? before.dataBytes;
    const grown = base > 0 ? ((now.dataBytes - base) / base) * 100 : now.dataBytes > 0 ? Infinity : 0;
    changes.push({
      kind: "size",
      critical: grown >= options.growthPercent,
      detail: `data ${before.dataBytes} → ${now.dataBytes} bytes (${grown === Infinity ? "new" : `${grown >= 0 ? "+" : ""}${grown.toFixed(1)}%`} since the last backup)`,
    });
  }
  return changes;
}

/** The snapshot's reason: the critical kinds, e.g. "env" or "image, env". */
export function reasonOf(changes: Change[]): string {
  return [...new Set(changes.filter((c) => c.critical).map((c) => c.kind))].join(", ");
}

const short = (id: string) => id.replace(/^sha256:/, "").slice(0, 12);
