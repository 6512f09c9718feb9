import type Docker from "dockerode";
import type { Logger } from "pino";
import { ignoreNotModified } from "../docker/client.js";
import { execInContainer } from "../docker/exec.js";
import type { ContainerInfo } from "../docker/container.js";
import { runStateOf } from "../docker/container.js";
import { UsageError } from "../errors.js";
import type { Consistency } from "../snapshot/manifest.js";

export const MODES = ["auto", "online", "pause", "stop"] as const;
export type Mode = (typeof MODES)[number];

/** True when the container can run SQLite's online backup itself (Open WebUI's image can). */
export async function hasPythonSqlite(docker: Docker, container: string): Promise<boolean> {
  try {
    const result = await execInContainer(docker, container, ["python3", "-c", "import sqlite3"]);
    return result.exitCode === 0;
  } catch {
    return false;
  }
}

/**
 * How this run makes SQLite copies consistent. A container that is not running (stopped, or paused by
 * its owner) is read as it is: nothing writes to it.
 */
export async function chooseConsistency(docker: Docker, info: ContainerInfo, mode: Mode): Promise<Consistency> {
  if (runStateOf(info) !== "running") return "offline";
  if (mode === "stop" || mode === "pause") return mode;
  const online = await hasPythonSqlite(docker, info.Id);
  if (mode === "online" && !online) {
    throw new UsageError("--mode online needs python3 with its sqlite3 module in the container; use --mode pause or --mode stop");
  }
  return online ? "online" : "pause";
}

/** Stops the container (seed 004's way); returns the undo that starts it again. */
export async function stopContainer(docker: Docker, id: string, timeoutSeconds: number, log: Logger): Promise<() => Promise<void>> {
  log.info({ container: id.slice(0, 12) }, "stopping the container for the backup (--mode stop)");
  await docker.getContainer(id).stop({ t: timeoutSeconds }).catch(ignoreNotModified);
  return async () => {
    log.info("starting the container again");
    await docker.getContainer(id).start().catch(ignoreNotModified);
  };
}

/** Freezes the container's processes; returns the undo that thaws them. */
export async function pauseContainer(docker: Docker, id: string, log: Logger): Promise<() => Promise<void>> {
  const started = Date.now();
  await docker.getContainer(id).pause();
  return async () => {
    await docker.getContainer(id).unpause();
    log.debug({ pausedMs: Date.now() - started }, "container unpaused");
  };
}
