import type Docker from "dockerode";
import { execInContainer } from "../docker/exec.js";
import { createHash } from "node:crypto";
import { FailureError } from "../errors.js";
import { isDeadOwner, type Owner } from "../util/owner.js";

/**
 * Runs inside the container (Open WebUI's image has python3 and sqlite3): finds SQLite databases under
 * the given paths by their header, and copies each with SQLite's online backup API into a private
 * staging directory. The backup API copies a consistent snapshot while the application keeps writing
 * (in WAL mode writers are not even blocked). A database whose file and journals have the stat the
 * last snapshot recorded is not copied at all. Each staging directory names the run that made it
 * (owner.json); leftovers of runs killed outright are removed first when they belong to this store
 * (this run holds its lock, so their run is over) or are older than 6 hours, and reported otherwise.
 */
const STAGE_SCRIPT = String.raw`
import json, os, shutil, sqlite3, sys, tempfile, time
MAGIC = b"SQLite format 3\x00"
SIDECARS = ("-wal", "-shm", "-journal")
KEY_TABLES = ("user", "auth", "chat", "message", "file", "knowledge", "knowledge_file", "prompt", "model", "tool", "function", "folder", "memory", "config")
mine = json.loads(sys.argv[1])
previous = json.loads(sys.argv[2])
tmp = tempfile.gettempdir()
leftovers = []
for n in sorted(os.listdir(tmp)):
    p = os.path.join(tmp, n)
    if not n.startswith("owui-backup-") or not os.path.isdir(p) or os.path.islink(p):
        continue
    try:
        with open(os.path.join(p, "owner.json")) as f:
            owner = json.load(f)
    except (OSError, ValueError):
        owner = None
    try:
        old = time.time() - os.stat(p).st_mtime > 6 * 3600
    except OSError:
        continue
    if old or (isinstance(owner, dict) and owner.get("store") == mine["store"]):
        shutil.rmtree(p, ignore_errors=True)
    else:
        leftovers.append({"dir": p, "owner": owner})
def is_db(p):
    try:
        with open(p, "rb") as f:
            return f.read(16) == MAGIC
    except OSError:
        return False
def find(roots):
    for root in roots:
        if os.path.isfile(root):
            if not os.path.islink(root) and is_db(root):
                yield root
            continue
        for d, dirs, files in os.walk(root):
            dirs.sort()
            for n in sorted(files):
                p = os.path.join(d, n)
                if n.endswith(SIDECARS) or os.path.islink(p) or not os.path.isfile(p):
                    continue
                if is_db(p):
                    yield p
def fingerprint(p):
    # The database and its journals as they lie; "settled" when none changed in the last 2 s (a change
    # within a timestamp's resolution could not be told apart later).
    out, now = [], time.time_ns()
    for s in ("", "-wal", "-journal"):
        try:
            st = os.stat(p + s)
        except FileNotFoundError:
            out.append(None)
            continue
        # SQLite running as root fchown()s a -wal or -journal each time it opens it, which moves its
        # ctime though nothing was written: their ctime is left out (any write moves the mtime).
        ctime = st.st_ctime_ns if s == "" else None
        if now - st.st_mtime_ns < 2_000_000_000 or (ctime is not None and now - ctime < 2_000_000_000):
            return None
        out.append([st.st_size, st.st_mtime_ns, ctime, st.st_ino])
    return json.dumps(out)
staging = tempfile.mkdtemp(prefix="owui-backup-")
with open(os.path.join(staging, "owner.json"), "w") as f:
    json.dump(mine, f)
copies = []
sources = []
src = None
try:
    for i, src in enumerate(find(sys.argv[3:])):
        # Taken before the copy: a write during it changes the files, and the next backup copies again.
        source = fingerprint(src)
        if source is not None and previous.get(src) == source:
            copies.append({"path": src, "unchanged": True, "source": source, "staged": "", "size": 0, "ms": 0})
            continue
        dst = os.path.join(staging, "%d.sqlite" % i)
        t0 = time.time()
        had_wal = os.path.exists(src + "-wal")
        s = sqlite3.connect(src, timeout=60)
        try:
            d = sqlite3.connect(dst)
            s.backup(d)
            d.close()
        finally:
            if had_wal:
                # Never closed: the last connection to a WAL database to close checkpoints it and
                # deletes the -wal, which would change the files this copy's stat was taken from, and
                # every backup would copy it again. The process ends with os._exit below, which closes
                # nothing (as a crash would; the WAL stays valid and the OS drops the locks).
                sources.append(s)
            else:
                # No -wal before: closing removes the -wal and -shm this connection made and writes
                # nothing to the database (an empty WAL has nothing to checkpoint): the files are as found.
                s.close()
        copy = {"path": src, "staged": dst, "size": os.path.getsize(dst), "ms": int((time.time() - t0) * 1000)}
        if source is not None:
            copy["source"] = source
        # Open WebUI's schema revision and row counts, read from the consistent copy (cheap SQL).
        d = sqlite3.connect(dst)
        try:
            tables = {r[0] for r in d.execute("select name from sqlite_master where type = 'table'")}
            if "alembic_version" in tables:
                row = d.execute("select version_num from alembic_version").fetchone()
                if row:
                    copy["alembic"] = row[0]
                copy["rows"] = {t: d.execute('select count(*) from "%s"' % t).fetchone()[0] for t in KEY_TABLES if t in tables}
        except sqlite3.Error:
            pass
        finally:
            d.close()
        copies.append(copy)
except Exception as e:
    shutil.rmtree(staging, ignore_errors=True)
    sys.stderr.write("%s: %s\n" % (src, e))
    sys.exit(1)
print(json.dumps({"staging": staging, "copies": copies, "leftovers": leftovers}))
sys.stdout.flush()
os._exit(0)
`;

const REMOVE_SCRIPT = `import shutil, sys
for p in sys.argv[1:]:
    shutil.rmtree(p, ignore_errors=True)`;

/** A consistent copy of a live database, and what it says about Open WebUI's schema when it is Open WebUI's. */
export interface StagedCopy {
  /**
   * The database and its -wal and -journal have the stat the last snapshot recorded (`previous`): not
   * copied; its chunks are the last snapshot's. `staged` is empty then.
   */
  unchanged?: boolean;
  /** The stat of the database and its journals before the copy, when none had changed within 2 s. */
  source?: string;
  staged: string;
  size: number;
  ms: number;
  /** Alembic revision (`alembic_version`): the database's schema generation. */
  alembic?: string;
  /** Row counts of the key tables present. */
  rows?: Record<string, number>;
}

export interface StagedCopies {
  staging: string;
  /** Container path of each live database → its consistent copy. */
  copies: Map<string, StagedCopy>;
  /** Staging directories of runs that are gone (killed outright), removed with this run's own. */
  deadLeftovers: string[];
}

/** What a staging directory says about the run that made it (owner.json). */
interface StagingOwner extends Owner {
  /** Hash of the store's identity: a run of this store and container holding the lock means that run is over. */
  store: string;
}

export async function stageSqliteCopies(
  docker: Docker,
  container: string,
  roots: string[],
  owner: Owner,
  storeIdentity: string,
  /** Container path → the `source` the last snapshot recorded, for databases whose chunks are all still stored. */
  previous: ReadonlyMap<string, string> = new Map(),
): Promise<StagedCopies> {
  const mine: StagingOwner = { ...owner, store: createHash("sha256").update(storeIdentity).digest("hex").slice(0, 16) };
  const result = await execInContainer(docker, container, ["python3", "-c", STAGE_SCRIPT, JSON.stringify(mine), JSON.stringify(Object.fromEntries(previous)), ...roots]);
  if (result.exitCode !== 0) {
    throw new FailureError(
      `online SQLite backup inside the container failed: ${result.stderr.trim().split("\n").pop()}; try --mode pause`,
    );
  }
  const parsed = JSON.parse(result.stdout) as {
    staging: string;
    copies: ({ path: string } & StagedCopy)[];
    leftovers: { dir: string; owner: Partial<Owner> | null }[];
  };
  const dead = parsed.leftovers.filter((l) => typeof l.owner?.pid === "number" && typeof l.owner.host === "string" && isDeadOwner(l.owner as Owner));
  return {
    staging: parsed.staging,
    copies: new Map(parsed.copies.map(({ path, ...copy }) => [path, copy])),
    deadLeftovers: dead.map((l) => l.dir),
  };
}

export async function removeStaging(docker: Docker, container: string, directories: string[]): Promise<void> {
  await execInContainer(docker, container, ["python3", "-c", REMOVE_SCRIPT, ...directories]);
}
