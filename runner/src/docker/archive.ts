import type Docker from "dockerode";
import type { Readable } from "node:stream";
import { statusOf } from "./client.js";

/** What the engine reports about a path in a container (the X-Docker-Container-Path-Stat header). */
export interface PathStat {
  name: string;
  size: number;
  mode: number;
  linkTarget: string;
  isDirectory: boolean;
}

// Go's os.FileMode keeps the type in the high bits; ModeDir is the highest.
const GO_MODE_DIR = 0x80000000;

/** Stat of a path in a container, running or not; undefined when the path does not exist. */
export async function statPath(docker: Docker, container: string, path: string): Promise<PathStat | undefined> {
  try {
    const response = (await docker.getContainer(container).infoArchive({ path })) as unknown as {
      headers: Record<string, string>;
      resume?: () => void;
    };
    response.resume?.();
    const raw = response.headers["x-docker-container-path-stat"];
    if (!raw) return undefined;
    const stat = JSON.parse(Buffer.from(raw, "base64").toString("utf8")) as Omit<PathStat, "isDirectory">;
    return { ...stat, isDirectory: (stat.mode & GO_MODE_DIR) !== 0 };
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw err;
  }
}

/** A tar stream of `path` from the container (entries are rooted at the path's base name). */
export async function readArchive(docker: Docker, container: string, path: string, signal?: AbortSignal): Promise<Readable> {
  return (await docker.getContainer(container).getArchive({ path, ...(signal ? { abortSignal: signal } : {}) })) as unknown as Readable;
}

/** Unpacks a tar stream into `directory` of the container; works on stopped containers and into volumes. */
export async function writeArchive(
  docker: Docker,
  container: string,
  directory: string,
  tar: Readable,
  signal?: AbortSignal,
): Promise<void> {
  const response = (await docker
    .getContainer(container)
    .putArchive(tar, { path: directory, ...(signal ? { abortSignal: signal } : {}) })) as unknown as Readable | undefined;
  // Depending on the engine the response may be a stream; drain it so the request completes.
  if (response && typeof (response as Readable).resume === "function") {
    (response as Readable).resume();
  }
}
