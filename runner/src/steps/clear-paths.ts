import type Docker from "dockerode";
import { execInContainer } from "../docker/exec.js";
import { runHelperContainer } from "../docker/helper-container.js";
import { FailureError } from "../errors.js";

/** Empties directories (keeping the directories, which may be mount points). Plain POSIX sh and find. */
const EMPTY_DIRECTORIES = `for d in "$@"; do if [ -d "$d" ] && [ ! -L "$d" ]; then find "$d" -mindepth 1 -maxdepth 1 -exec rm -rf -- {} + || exit 1; fi; done`;

/**
 * Empties directories that live on volumes or bind mounts of a stopped container, through a helper
 * container that mounts the same volumes. Restoring into an emptied directory makes it equal to the
 * snapshot: files added since, and stale SQLite -wal/-shm files, are gone.
 */
export async function emptyMountedDirectories(docker: Docker, containerId: string, image: string, directories: string[]): Promise<void> {
  if (directories.length === 0) return;
  await runHelperContainer(docker, { image, volumesFrom: containerId, script: EMPTY_DIRECTORIES, args: directories }).catch((err) => {
    throw new FailureError(`could not empty ${directories.join(", ")} before restoring: ${(err as Error).message}`, { cause: err });
  });
}

/** Empties directories on the container's own layer, from inside the running container. */
export async function emptyDirectoriesInside(docker: Docker, containerId: string, directories: string[]): Promise<void> {
  if (directories.length === 0) return;
  const result = await execInContainer(docker, containerId, ["/bin/sh", "-c", EMPTY_DIRECTORIES, "sh", ...directories], { user: "0" });
  if (result.exitCode !== 0) {
    throw new FailureError(`could not empty ${directories.join(", ")} before restoring: ${result.stderr.trim().split("\n").pop()}`);
  }
}
