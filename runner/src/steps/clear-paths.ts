import type Docker from "dockerode";
import { execInContainer } from "../docker/exec.js";
import { runHelperContainer } from "../docker/helper-container.js";
import { FailureError } from "../errors.js";

/**
 * Empties directories, keeping the directories themselves (they may be mount points). Mount points
 * inside them (listed one per line in $KEEP) are kept too, and emptied rather than removed: removing
 * one fails (EBUSY), and a file mount point cannot be emptied at all, so it is left as it is.
 * Plain POSIX sh: it runs in Open WebUI's image, or in whatever image the container uses.
 */
const EMPTY_DIRECTORIES = String.raw`
nl='
'
is_kept() { case "$nl$KEEP$nl" in *"$nl$1$nl"*) return 0;; esac; return 1; }
holds_kept() { printf '%s\n' "$KEEP" | while IFS= read -r k; do case "$k" in "$1"/*) exit 3;; esac; done; [ $? -eq 3 ]; }
empty() {
  for e in "$1"/* "$1"/.[!.]* "$1"/..?*; do
    [ -e "$e" ] || [ -L "$e" ] || continue
    if is_kept "$e" || holds_kept "$e"; then
      if [ -d "$e" ] && [ ! -L "$e" ]; then empty "$e" || return 1; fi
    else
      rm -rf -- "$e" || return 1
    fi
  done
}
for d in "$@"; do
  if [ -d "$d" ] && [ ! -L "$d" ]; then empty "$d" || exit 1; fi
done
`;

/** Mount points strictly inside `directory` (as the container's Mounts list them). */
export function mountsInside(mountPoints: string[], directory: string): string[] {
  const prefix = directory.replace(/\/+$/, "") + "/";
  return mountPoints.filter((m) => m.startsWith(prefix));
}

/**
 * Empties directories that live on volumes or bind mounts of a stopped container, through a helper
 * container that mounts the same volumes. Restoring into an emptied directory makes it equal to the
 * snapshot: files added since, and stale SQLite -wal/-shm files, are gone.
 */
export async function emptyMountedDirectories(
  docker: Docker,
  containerId: string,
  image: string,
  directories: string[],
  keep: string[],
): Promise<void> {
  if (directories.length === 0) return;
  await runHelperContainer(docker, { image, volumesFrom: containerId, script: EMPTY_DIRECTORIES, args: directories, env: [`KEEP=${keep.join("\n")}`] }).catch(
    (err) => {
      throw new FailureError(`could not empty ${directories.join(", ")} before restoring: ${(err as Error).message}`, { cause: err });
    },
  );
}

/** Empties directories on the container's own layer, from inside the running container. */
export async function emptyDirectoriesInside(docker: Docker, containerId: string, directories: string[], keep: string[]): Promise<void> {
  if (directories.length === 0) return;
  const result = await execInContainer(docker, containerId, ["/bin/sh", "-c", EMPTY_DIRECTORIES, "sh", ...directories], {
    user: "0",
    env: [`KEEP=${keep.join("\n")}`],
  });
  if (result.exitCode !== 0) {
    throw new FailureError(`could not empty ${directories.join(", ")} before restoring: ${result.stderr.trim().split("\n").pop()}`);
  }
}
