import { posix } from "node:path";

/**
 * The container's own system: restoring one of these replaces the operating system Open WebUI runs
 * on (a restore makes a path equal to the snapshot, deleting what the snapshot lacks), and the kernel
 * filesystems are not files at all. Backups and restores refuse them.
 */
const SYSTEM_DIRECTORIES = ["/", "/bin", "/boot", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/sbin", "/usr", "/var", "/tmp", "/opt", "/home", "/root", "/app", "/app/backend"];
/** Nothing under these is a file a backup could hold. */
const KERNEL_FILESYSTEMS = ["/proc", "/sys", "/dev", "/run"];

/** Why a container path may not be backed up or restored, or undefined when it may. */
export function systemPathProblem(path: string): string | undefined {
  const normal = posix.normalize(path).replace(/(.)\/+$/, "$1");
  if (KERNEL_FILESYSTEMS.some((k) => normal === k || normal.startsWith(`${k}/`))) return `${normal} is a kernel filesystem, not data`;
  if (SYSTEM_DIRECTORIES.includes(normal)) {
    return `${normal} is a system or application directory of the container: restoring it would replace software, not data`;
  }
  return undefined;
}

/** Why a directory of this host cannot hold a store, logs or state, or undefined when it can. */
export function hostDirectoryProblem(dir: string): string | undefined {
  const normal = posix.normalize(dir.replace(/\\/g, "/"));
  if (KERNEL_FILESYSTEMS.filter((k) => k !== "/run").some((k) => normal === k || normal.startsWith(`${k}/`))) {
    return `${dir} is in a kernel filesystem (${normal.split("/").slice(0, 2).join("/")}), where nothing can be stored`;
  }
  return undefined;
}
