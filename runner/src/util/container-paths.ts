import { posix } from "node:path";

/** Kernel filesystems: nothing under them is a file a backup could hold. */
const KERNEL_FILESYSTEMS = ["/proc", "/sys", "/dev", "/run"];
/** The operating system's own trees: nothing under them is Open WebUI's data. */
const SYSTEM_TREES = ["/etc", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/boot"];
/**
 * Directories that hold software or other things besides data: only paths below them may be backed
 * up and restored (/root/.ollama, /app/backend/data), never the directory itself, since a restore makes
 * a path equal to the snapshot and deletes whatever the snapshot lacks.
 */
const SHARED_DIRECTORIES = ["/", "/var", "/tmp", "/opt", "/home", "/root", "/srv", "/mnt", "/media", "/app", "/app/backend", "/app/backend/open_webui"];

const under = (path: string, tree: string) => path === tree || path.startsWith(`${tree}/`);

/** Why a container path may not be backed up or restored, or undefined when it may. */
export function systemPathProblem(path: string): string | undefined {
  const normal = posix.normalize(path).replace(/(.)\/+$/, "$1");
  if (KERNEL_FILESYSTEMS.some((k) => under(normal, k))) return `${normal} is in a kernel filesystem, not data`;
  if (SYSTEM_TREES.some((t) => under(normal, t))) return `${normal} is part of the container's operating system, not data`;
  if (SHARED_DIRECTORIES.includes(normal)) return `${normal} holds software as well as data, and restoring it would replace that software`;
  return undefined;
}

/** Why a directory of this host cannot hold a store, logs or state, or undefined when it can. */
export function hostDirectoryProblem(dir: string): string | undefined {
  const normal = posix.normalize(dir.replace(/\\/g, "/"));
  const kernel = ["/proc", "/sys", "/dev"].find((k) => under(normal, k));
  return kernel ? `${dir} is in a kernel filesystem (${kernel}), where nothing can be stored` : undefined;
}
