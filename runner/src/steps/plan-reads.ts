import type Docker from "dockerode";
import path from "node:path/posix";
import type { TarHeader } from "../archive/tar-rewrite.js";
import { CHUNKED_MIN_BYTES, type IndexedFile } from "../chunks/chunk-index.js";
import type { ChunkRef } from "../chunks/chunk-store.js";
import { execInContainer } from "../docker/exec.js";

/**
 * What makes up one path's archive: an entry written from its listed stat (a directory, or a large file
 * whose chunks are reused), or a read of a container path from the engine whose entries are renamed
 * to sit under `prefix`.
 */
export type ArchivePiece = { kind: "entry"; header: TarHeader } | { kind: "read"; path: string; prefix: string };

/**
 * Runs inside the container (online mode has python3): every directory under ROOT with its stat and
 * children, and the stat of every regular file of CHUNKED_MIN bytes or more (format 3: every file with
 * content) and of the live databases.
 * Names that are not UTF-8 cannot be asked for by name through the engine: then it prints null.
 */
const LIST_SCRIPT = String.raw`
import json, os, stat, sys, time
root, minimum, dbs = sys.argv[1], int(sys.argv[2]), set(sys.argv[3:])
def item(p, st):
    return {"path": p, "mode": st.st_mode & 0o7777, "uid": st.st_uid, "gid": st.st_gid, "mtime": st.st_mtime}
directories, files, linked = [], [], False
try:
    for d, subdirs, names in os.walk(root):
        subdirs.sort()
        children = sorted(subdirs + names)
        for n in children:
            n.encode("utf-8")
        directories.append(dict(item(d, os.lstat(d)), children=children))
        for n in names:
            p = os.path.join(d, n)
            st = os.lstat(p)
            linked = linked or (stat.S_ISREG(st.st_mode) and st.st_nlink > 1)
            if stat.S_ISREG(st.st_mode) and (st.st_size >= minimum or p in dbs):
                files.append(dict(item(p, st), size=st.st_size, mtimeNs=str(st.st_mtime_ns), ctimeNs=str(st.st_ctime_ns), ino=str(st.st_ino)))
    print(json.dumps({"now": str(time.time_ns()), "hardLinks": linked, "directories": directories, "files": files}))
except (UnicodeEncodeError, OSError):
    print("null")
`;

interface ListedItem {
  path: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
}

type ListedFile = ListedItem & { size: number; mtimeNs: string; ctimeNs: string; ino: string };

interface Listing {
  now: string;
  /** Some file has more than one name: reads split between its names would restore two files. */
  hardLinks: boolean;
  directories: (ListedItem & { children: string[] })[];
  files: ListedFile[];
}

export interface ReadPlan {
  pieces: ArchivePiece[];
  /** Headers (name, mode, owner, time) of the live databases left out: their staged copies take their place. */
  leftOut: TarHeader[];
  /**
   * Large files whose chunks (all still stored) are those of the last snapshot, by archive name: left out
   * of the reads, or, when the path is read whole, drained without hashing or storing anything.
   */
  reuse: Map<string, IndexedFile>;
  /** The stat to record for large files that are read, by archive name (see IndexedFile.stat). */
  stats: Map<string, NonNullable<IndexedFile["stat"]>>;
}

/** One read of the whole path, nothing left out or reused: what stop, pause and file paths do. */
export function wholeRead(root: string): ReadPlan {
  return { pieces: [{ kind: "read", path: root, prefix: "" }], leftOut: [], reuse: new Map(), stats: new Map() };
}

/** A file changed this recently may change again within its timestamps' resolution: its stat proves nothing. */
const RACY_NS = 2_000_000_000n;
/** More reads than this (a flat uploads folder split around one file) cost more in requests than they save. */
const MAX_READS = 256;

/**
 * The reads for a directory path in online mode. Reading the whole directory would stream every live
 * database and its WAL through the engine only to drop them (their staged copies take their place),
 * and every unchanged model and upload again. Instead the directories on the way to what is left out
 * are written from their stat and each of their other children is read on its own: the live
 * databases are left out, and so are large files whose size, mtime, ctime and inode are those recorded
 * by the last snapshot (`previous`) and whose chunks are all still stored (`stored`). Falls back to one
 * read of the whole path when the listing cannot be made.
 */
export async function planReads(
  docker: Docker,
  containerId: string,
  root: string,
  databases: string[],
  previous: Map<string, IndexedFile>,
  /** Whether a chunk is still stored as a reference names it. */
  holds: (ref: ChunkRef) => boolean,
): Promise<ReadPlan> {
  const whole = wholeRead(root);
  const inside = databases.filter((d) => d.startsWith(`${root}/`));
  const result = await execInContainer(docker, containerId, ["python3", "-c", LIST_SCRIPT, root, String(CHUNKED_MIN_BYTES), ...inside]);
  const listed = result.exitCode === 0 ? (JSON.parse(result.stdout.trim() || "null") as Listing | null) : null;
  if (!listed || listed.directories[0]?.path !== root) return whole;

  const parent = path.dirname(root);
  const nameOf = (p: string) => path.relative(parent, p);
  const header = (item: ListedItem, type: "directory" | "file", size = 0): TarHeader =>
    ({
      name: nameOf(item.path) + (type === "directory" ? "/" : ""),
      type,
      size,
      mode: item.mode,
      uid: item.uid,
      gid: item.gid,
      uname: "",
      gname: "",
      linkname: "",
      mtime: new Date(item.mtime * 1000),
    }) as TarHeader;

  const plan: ReadPlan = { pieces: [], leftOut: [], reuse: new Map(), stats: new Map() };
  const leftOut = new Set(inside.flatMap((d) => ["", "-wal", "-shm", "-journal"].map((s) => d + s)));
  const reused = new Map<string, ListedFile>();
  const now = BigInt(listed.now);
  for (const file of listed.files) {
    if (inside.includes(file.path)) {
      plan.leftOut.push(header(file, "file"));
      continue;
    }
    // A live database's WAL or journal: never archived in online mode, so never reused either.
    if (leftOut.has(file.path)) continue;
    const stat = { mtimeNs: file.mtimeNs, ctimeNs: file.ctimeNs, ino: file.ino };
    const racy = now - BigInt(file.mtimeNs) < RACY_NS || now - BigInt(file.ctimeNs) < RACY_NS;
    if (!racy) plan.stats.set(nameOf(file.path), stat);
    const before = previous.get(nameOf(file.path));
    const same =
      before?.stat &&
      before.size === file.size &&
      before.stat.mtimeNs === file.mtimeNs &&
      before.stat.ctimeNs === file.ctimeNs &&
      before.stat.ino === file.ino &&
      before.chunks.every(holds);
    if (same && before && !racy) {
      plan.reuse.set(nameOf(file.path), before);
      reused.set(file.path, file);
      leftOut.add(file.path);
    }
  }
  const readWhole: ReadPlan = { ...whole, reuse: plan.reuse, stats: plan.stats };
  if (leftOut.size === 0 || listed.hardLinks) return readWhole;

  // The directories holding something left out, and all their ancestors up to the root.
  const split = new Set<string>();
  for (const p of leftOut) {
    for (let dir = path.dirname(p); dir.startsWith(root) && !split.has(dir); dir = path.dirname(dir)) {
      split.add(dir);
      if (dir === root) break;
    }
  }
  // os.walk lists parents before their children, so every directory entry comes before its content.
  for (const dir of listed.directories.filter((d) => split.has(d.path))) {
    plan.pieces.push({ kind: "entry", header: header(dir, "directory") });
    for (const child of dir.children) {
      const p = path.join(dir.path, child);
      if (split.has(p)) continue;
      const file = reused.get(p);
      if (file) plan.pieces.push({ kind: "entry", header: header(file, "file", file.size) });
      else if (!leftOut.has(p)) plan.pieces.push({ kind: "read", path: p, prefix: `${nameOf(dir.path)}/` });
    }
  }
  const reads = plan.pieces.filter((p) => p.kind === "read").length;
  if (!split.has(root) || reads > MAX_READS) return readWhole;
  return plan;
}

