import path from "node:path/posix";
import type { Header } from "tar-stream";

export class UnsafeEntryError extends Error {
  override name = "UnsafeEntryError";
}

/** Entry types a backup of Open WebUI can hold; device files never belong in one. */
const ALLOWED_TYPES = new Set(["file", "contiguous-file", "directory", "symlink", "link", "fifo"]);

/**
 * Checks, entry by entry, that an archive only writes below its root directory `root` (the base name
 * of the backed-up path): no absolute names, no `..`, no device files, no hard link out of the root,
 * and nothing written through a symbolic link the archive itself created (nor through a hard link to
 * one).
 */
export function createEntryGuard(root: string): (header: Header) => void {
  const symlinks = new Set<string>();
  const inside = (name: string) => name === root || name.startsWith(`${root}/`);
  const throughSymlink = (name: string) => {
    for (let dir = path.dirname(name); dir !== "." && dir !== "/"; dir = path.dirname(dir)) {
      if (symlinks.has(dir)) return dir;
    }
    return undefined;
  };
  return (header) => {
    const raw = header.name;
    const name = raw.replace(/\/+$/, "");
    if (!ALLOWED_TYPES.has(header.type ?? "file")) {
      throw new UnsafeEntryError(`archive entry ${JSON.stringify(raw)} is a ${header.type}, which a backup never holds`);
    }
    if (raw.startsWith("/") || name.split("/").some((p) => p === "..")) {
      throw new UnsafeEntryError(`archive entry ${JSON.stringify(raw)} escapes the archive root`);
    }
    const normal = path.normalize(name);
    if (!inside(normal)) {
      throw new UnsafeEntryError(`archive entry ${JSON.stringify(raw)} is outside ${root}/`);
    }
    const via = throughSymlink(normal);
    if (via) throw new UnsafeEntryError(`archive entry ${JSON.stringify(raw)} would be written through the symbolic link ${via}`);
    if (header.type === "link") {
      const target = path.normalize(header.linkname ?? "");
      if (target.startsWith("/") || target.split("/").includes("..") || !inside(target)) {
        throw new UnsafeEntryError(`hard link ${JSON.stringify(raw)} points outside ${root}/`);
      }
      const targetVia = throughSymlink(target);
      if (targetVia) throw new UnsafeEntryError(`hard link ${JSON.stringify(raw)} points through the symbolic link ${targetVia}`);
      // A hard link to a symlink is a symlink too.
      if (symlinks.has(target)) symlinks.add(normal);
    }
    if (header.type === "symlink") symlinks.add(normal);
  };
}
