import type Docker from "dockerode";
import path from "node:path/posix";
import type { TarHeader } from "../archive/tar-rewrite.js";
import { execInContainer } from "../docker/exec.js";

/**
 * What makes up one path's archive: a directory entry to write as it is, or a read of a container path
 * from the engine whose entries are renamed to sit under `prefix`.
 */
export type ArchivePiece = { kind: "entry"; header: TarHeader } | { kind: "read"; path: string; prefix: string };

/**
 * Runs inside the container (online mode has python3): for the directories on the way from ROOT to the
 * live databases, their own stat and their children, leaving out the databases and their journals.
 * Names that are not UTF-8 cannot be asked for by name through the engine: then it prints null.
 */
const LIST_SCRIPT = String.raw`
import json, os, sys
root, dbs = sys.argv[1], sys.argv[2:]
skip = {d + s for d in dbs for s in ("", "-wal", "-shm", "-journal")}
split = set()
for d in dbs:
    p = os.path.dirname(d)
    while p.startswith(root) and p not in split:
        split.add(p)
        if p == root:
            break
        p = os.path.dirname(p)
out = []
try:
    for d in sorted(split):
        st = os.lstat(d)
        names = sorted(os.listdir(d))
        for n in names:
            n.encode("utf-8")
        out.append({"path": d, "mode": st.st_mode & 0o7777, "uid": st.st_uid, "gid": st.st_gid, "mtime": st.st_mtime,
                    "children": [n for n in names if os.path.join(d, n) not in split and os.path.join(d, n) not in skip]})
    live = []
    for d in dbs:
        st = os.stat(d)
        live.append({"path": d, "mode": st.st_mode & 0o7777, "uid": st.st_uid, "gid": st.st_gid, "mtime": st.st_mtime, "children": []})
    print(json.dumps({"directories": out, "databases": live}))
except (UnicodeEncodeError, OSError):
    print("null")
`;

interface ListedItem {
  path: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  children: string[];
}

interface Listing {
  directories: ListedItem[];
  databases: ListedItem[];
}

export interface ReadPlan {
  pieces: ArchivePiece[];
  /** Headers (name, mode, owner, time) of the live databases left out: their staged copies take their place. */
  leftOut: TarHeader[];
}

/**
 * The reads for a directory path whose live databases are replaced by staged copies. Reading the whole
 * directory would stream every live database and its WAL through the engine only to drop them (in
 * online mode that is the largest part of a typical instance, read twice); instead each child of the
 * directories on the way to them is read on its own, and those directories' entries are written from
 * their stat. Falls back to one read of the whole path when the listing cannot be made.
 */
export async function planReads(docker: Docker, containerId: string, root: string, databases: string[]): Promise<ReadPlan> {
  const whole: ReadPlan = { pieces: [{ kind: "read", path: root, prefix: "" }], leftOut: [] };
  const inside = databases.filter((d) => d.startsWith(`${root}/`));
  if (inside.length === 0) return whole;
  const result = await execInContainer(docker, containerId, ["python3", "-c", LIST_SCRIPT, root, ...inside]);
  const listed = result.exitCode === 0 ? (JSON.parse(result.stdout.trim() || "null") as Listing | null) : null;
  if (!listed || listed.directories[0]?.path !== root) return whole;
  const parent = path.dirname(root);
  const header = (item: ListedItem, type: "directory" | "file"): TarHeader =>
    ({
      name: path.relative(parent, item.path) + (type === "directory" ? "/" : ""),
      type,
      size: 0,
      mode: item.mode,
      uid: item.uid,
      gid: item.gid,
      uname: "",
      gname: "",
      linkname: "",
      mtime: new Date(item.mtime * 1000),
    }) as TarHeader;
  const pieces: ArchivePiece[] = [];
  for (const dir of listed.directories) {
    pieces.push({ kind: "entry", header: header(dir, "directory") });
    const prefix = `${path.relative(parent, dir.path)}/`;
    for (const child of dir.children) pieces.push({ kind: "read", path: path.join(dir.path, child), prefix });
  }
  return { pieces, leftOut: listed.databases.map((db) => header(db, "file")) };
}
