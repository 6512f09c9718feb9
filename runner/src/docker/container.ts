import type Docker from "dockerode";
import { ContainerNotFoundError, FailureError } from "../errors.js";
import { dockerUnreachable, statusOf } from "./client.js";

export type ContainerInfo = Docker.ContainerInspectInfo;

/** The container's inspect data, or undefined when no container has that name or id. */
export async function findContainer(docker: Docker, name: string): Promise<ContainerInfo | undefined> {
  try {
    return await docker.getContainer(name).inspect();
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw dockerUnreachable(err) ?? err;
  }
}

export async function requireContainer(docker: Docker, name: string): Promise<ContainerInfo> {
  const info = await findContainer(docker, name);
  if (!info) {
    throw new ContainerNotFoundError(`container ${name} not found: check \`docker ps -a\`, or pass --container / OWUI_BACKUP_CONTAINER`);
  }
  return info;
}

export function containerName(info: ContainerInfo): string {
  return info.Name.replace(/^\//, "");
}

/** The state a run must leave the container in: what it was when the run began. */
export type RunState = "running" | "paused" | "stopped";

export function runStateOf(info: ContainerInfo): RunState {
  if (info.State.Paused) return "paused";
  if (info.State.Running || info.State.Restarting) return "running";
  return "stopped";
}

/** Where the container's volumes and bind mounts are mounted. */
export function mountPoints(info: ContainerInfo): string[] {
  return (info.Mounts ?? []).map((m) => m.Destination);
}

/** True when `path` is a mount point in the container or lies inside one (volume or bind). */
export function isMounted(info: ContainerInfo, path: string): boolean {
  return mountPoints(info).some((d) => path === d || path.startsWith(d.replace(/\/$/, "") + "/"));
}

/** Waits until the container runs, and is healthy when it has a healthcheck. */
export async function waitUntilRunning(
  docker: Docker,
  name: string,
  timeoutSeconds: number,
  signal?: AbortSignal,
  pollMs = 500,
): Promise<void> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  let last = "unknown";
  while (Date.now() < deadline) {
    signal?.throwIfAborted();
    const info = await requireContainer(docker, name);
    const health = info.State.Health?.Status;
    last = health ? `${info.State.Status}, ${health}` : info.State.Status;
    if (info.State.Running && !info.State.Restarting && (!health || health === "healthy")) return;
    if (!info.State.Running && !info.State.Restarting && info.State.Status !== "created") {
      throw new FailureError(`container ${name} stopped after start (${last}, exit code ${info.State.ExitCode}); see \`docker logs ${name}\``);
    }
    if (health === "unhealthy") {
      throw new FailureError(`container ${name} is unhealthy after start; see \`docker logs ${name}\``);
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
  throw new FailureError(`container ${name} did not become ready within ${timeoutSeconds}s (${last}); see \`docker logs ${name}\``);
}
