import path from "node:path/posix";
import type { Header } from "tar-stream";

export class UnsafeEntryError extends Error {
  override name = "UnsafeEntryError";
}

/** The only kinds of entry a snapshot holds. Devices, sparse files and unknown typeflags never do. */
const KINDS = new Set(["file", "directory", "symlink", "link"]);
/** Old snapshots may hold these: a contiguous file is a regular file; a fifo holds no data and is left out. */
const LEGACY_FILE = "contiguous-file";
const LEFT_OUT = "fifo";
/** Owner ids above this do not fit the ustar header and travel in pax records, as Go's tar writer does. */
const USTAR_MAX_ID = 0o777777;

/** pax records that only restate header fields the tar reader has already taken in. */
const FIELD_RECORDS = new Set(["path", "linkpath", "size", "mtime", "atime", "ctime", "uid", "gid", "uname", "gname"]);
/**
 * Extended attributes (Docker's archives carry security.capability): read and dropped, never written,
 * since file capabilities taken from a snapshot would hand out privileges.
 */
const XATTR_RECORD = /^(SCHILY|LIBARCHIVE)\.xattr\./;

/** Permission bits written back: never setuid; setgid and sticky only on directories (shared-group folders). */
const FILE_MODE_BITS = 0o777;
const DIRECTORY_MODE_BITS = 0o3777;

/**
 * The rules for the entries of one path's archive, applied to every header a snapshot writes and
 * every header a restore sends to the engine (and checked by verify). It takes in a header as a tar
 * reader parsed it and returns one built from scratch from the fields it allows: a name under the
 * archive's root (the base name of the backed-up path), one of four types taken from the typeflag
 * alone, permission bits, owner ids, size, mtime and a link target. Nothing else survives (no device
 * numbers, no user or group names, no pax or GNU records but owner ids too large for the header), so
 * no record a later reader might honour can rename, retype or re-permission an entry. A fifo (old
 * snapshots may hold one) is left out: undefined. It refuses, with UnsafeEntryError:
 * - a typeflag that is not a file, directory, symlink or hard link (unknown ones included);
 * - a pax record other than those restating header fields and extended attributes;
 * - a name that is absolute, has `..`, is outside the root, or goes through a symlink the archive made;
 * - the root itself as anything but the path's own type (a file path may be a symlink);
 * - a symlink whose relative target leaves the directory the archive is written into (the engine
 *   refuses those half-way through a restore);
 * - a hard link to anything but a regular file met earlier in the archive (and still there), or
 *   through a symlink.
 * Stateful: one policy per archive, fed the entries in order. It keeps the names of the regular files
 * and symlinks it has seen (a hard link's target must be one of the first; a name that was a symlink
 * once stays one, even if an entry of the same name replaces it).
 */
export function createEntryPolicy(root: string, rootType?: "directory" | "file"): (header: Header) => Header | undefined {
  const files = new Set<string>();
  const symlinks = new Set<string>();
  const directories = new Set<string>();
  const inside = (name: string) => name === root || name.startsWith(`${root}/`);
  const throughSymlink = (name: string) => {
    for (let dir = path.dirname(name); dir !== "." && dir !== "/"; dir = path.dirname(dir)) {
      if (symlinks.has(dir)) return dir;
    }
    return undefined;
  };
  const refuse = (raw: string, why: string): never => {
    throw new UnsafeEntryError(`archive entry ${JSON.stringify(raw)} ${why}`);
  };

  return (header) => {
    const raw = header.name;
    if (header.type === LEFT_OUT) return undefined;
    const type = header.type === LEGACY_FILE ? "file" : header.type;
    if (!type || !KINDS.has(type)) {
      // tar-stream reports a typeflag it does not know as null.
      refuse(raw, type ? `is a ${type}, which a backup never holds` : "has an unknown typeflag, which a backup never holds");
    }
    for (const key of Object.keys(header.pax ?? {})) {
      if (!FIELD_RECORDS.has(key) && !XATTR_RECORD.test(key)) refuse(raw, `carries the pax record ${key}, which a backup never holds`);
    }
    if (raw.includes("\0")) refuse(raw, "has a NUL byte in its name");
    const trimmed = raw.replace(/\/+$/, "");
    if (raw.startsWith("/") || trimmed.split("/").includes("..")) refuse(raw, "escapes the archive root");
    const name = path.normalize(trimmed);
    if (!inside(name)) refuse(raw, `is outside ${root}/`);
    if (rootType === "file" && !(name === root && (type === "file" || type === "symlink"))) {
      refuse(raw, `does not belong: the backed-up path is the single file ${root}`);
    }
    if (rootType === "directory" && name === root && type !== "directory") refuse(raw, "must be a directory: the backed-up path is one");
    const via = throughSymlink(name);
    if (via) refuse(raw, `would be written through the symbolic link ${via}`);

    const pax = (header.pax ?? {}) as Record<string, string>;
    const uid = ownerId(pax.uid ?? header.uid, raw);
    const gid = ownerId(pax.gid ?? header.gid, raw);
    const out: Header = {
      name,
      type,
      mode: (header.mode ?? 0) & (type === "directory" ? DIRECTORY_MODE_BITS : FILE_MODE_BITS),
      uid,
      gid,
      mtime: header.mtime instanceof Date && !Number.isNaN(header.mtime.getTime()) ? header.mtime : new Date(0),
      size: 0,
      linkname: "",
      uname: "",
      gname: "",
      devmajor: 0,
      devminor: 0,
    };
    if (uid > USTAR_MAX_ID || gid > USTAR_MAX_ID) out.pax = { uid: String(uid), gid: String(gid) };
    // A directory replaced by anything else takes its files with it: a hard link to one would fail.
    if (type !== "directory" && directories.delete(name)) {
      for (const f of files) if (f.startsWith(`${name}/`)) files.delete(f);
      for (const d of directories) if (d.startsWith(`${name}/`)) directories.delete(d);
    }
    // Every entry's parents are directories by now, listed or not.
    for (let dir = path.dirname(name); dir !== "." && !directories.has(dir); dir = path.dirname(dir)) directories.add(dir);
    if (type === "file") {
      const size = header.size ?? 0;
      if (!Number.isSafeInteger(size) || size < 0) refuse(raw, "has an invalid size");
      out.size = size;
      files.add(name);
    } else if (type === "symlink") {
      const target = header.linkname ?? "";
      if (target === "" || target.includes("\0")) refuse(raw, "is a symbolic link without a valid target");
      if (!target.startsWith("/")) {
        const resolved = path.normalize(path.join(path.dirname(name), target));
        if (resolved === ".." || resolved.startsWith("../")) {
          refuse(raw, `is a symbolic link to ${JSON.stringify(target)}, outside the directory the path is restored into`);
        }
      }
      out.linkname = target;
      symlinks.add(name);
      files.delete(name);
    } else if (type === "link") {
      const target = path.normalize((header.linkname ?? "").replace(/\/+$/, ""));
      const targetVia = throughSymlink(target);
      if (targetVia) throw new UnsafeEntryError(`hard link ${JSON.stringify(raw)} points through the symbolic link ${targetVia}`);
      if (!files.has(target)) {
        throw new UnsafeEntryError(
          `hard link ${JSON.stringify(raw)} points to ${JSON.stringify(header.linkname ?? "")}, which is not a regular file earlier in the archive`,
        );
      }
      out.linkname = target;
      files.add(name);
    } else {
      files.delete(name);
      directories.add(name);
    }
    return out;
  };
}

function ownerId(value: number | string | undefined, raw: string): number {
  const id = typeof value === "string" ? (/^\d+$/.test(value) ? Number(value) : Number.NaN) : (value ?? 0);
  if (!Number.isSafeInteger(id) || id < 0 || id > 0x7fffffff) throw new UnsafeEntryError(`archive entry ${JSON.stringify(raw)} has an invalid owner id`);
  return id;
}
