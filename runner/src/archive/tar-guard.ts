import path from "node:path/posix";
import type { Header } from "tar-stream";

export class UnsafeEntryError extends Error {
  override name = "UnsafeEntryError";
}

/**
 * Checks, entry by entry, that an archive only writes below its root directory `root` (the base name
 * of the backed-up path): no absolute names, no `..`, no hard link out of the root, and no entry that
 * would be written through a symbolic link the archive itself created.
 */
export function createEntryGuard(root: string): (header: Header) => void {
  const symlinks = new Set<string>();
  const inside = (name: string) => name === root || name.startsWith(`${root}/`);
  return (header) => {
    const raw = header.name;
    const name = raw.replace(/\/+$/, "");
    if (raw.startsWith("/") || name.split("/").some((p) => p === "..")) {
      throw new UnsafeEntryError(`archive entry ${JSON.stringify(raw)} escapes the archive root`);
    }
    const normal = path.normalize(name);
    if (!inside(normal)) {
      throw new UnsafeEntryError(`archive entry ${JSON.stringify(raw)} is outside ${root}/`);
    }
    for (let dir = path.dirname(normal); dir !== "." && dir !== "/"; dir = path.dirname(dir)) {
      if (symlinks.has(dir)) {
        throw new UnsafeEntryError(`archive entry ${JSON.stringify(raw)} would be written through the symbolic link ${dir}`);
      }
    }
    if (header.type === "link") {
      const target = path.normalize(header.linkname ?? "");
      if (target.startsWith("/") || target.split("/").includes("..") || !inside(target)) {
        throw new UnsafeEntryError(`hard link ${JSON.stringify(raw)} points outside ${root}/`);
      }
    }
    if (header.type === "symlink") symlinks.add(normal);
  };
}
