import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export const IMAGE = "owui-backup-test/open-webui:0.6.5";
export const NEWER_IMAGE = "owui-backup-test/open-webui:0.6.9";

export function docker(...args: string[]): string {
  return execFileSync("docker", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 << 20 }).trim();
}

export function inspect(name: string, format: string): string {
  return docker("inspect", "-f", format, name);
}

export interface Fixture {
  name: string;
  volume: string;
  store: string;
  /** Environment for the CLI: this container and a private store. */
  env: Record<string, string>;
  runArgs: string[];
}

export interface FixtureOptions {
  /** Milliseconds between chat inserts; 0 keeps the database still. */
  writeMs?: number;
  image?: string;
  env?: Record<string, string>;
}

/** Runs the Open WebUI stand-in with a named data volume, no network, and waits until it is healthy. */
export async function startFixture(options: FixtureOptions = {}): Promise<Fixture> {
  const name = `owui-e2e-${randomBytes(4).toString("hex")}`;
  const volume = `${name}-data`;
  const store = fs.mkdtempSync(path.join(os.tmpdir(), "owui-e2e-store-"));
  const envArgs = Object.entries({ FIXTURE_WRITE_MS: String(options.writeMs ?? 0), ...options.env }).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
  const runArgs = [
    "--name", name,
    "--network", "none",
    "--restart", "unless-stopped",
    "--label", "owui-backup-test=e2e",
    "-v", `${volume}:/app/backend/data`,
    ...envArgs,
    options.image ?? IMAGE,
  ];
  docker("run", "-d", ...runArgs);
  await waitHealthy(name);
  return { name, volume, store, env: { OWUI_BACKUP_CONTAINER: name, OWUI_BACKUP_STORE: store }, runArgs };
}

/** Runs the fixture again under the same name, settings and volume (after `docker rm -f`). */
export async function rerunFixture(fixture: Fixture, image?: string): Promise<void> {
  const args = image ? [...fixture.runArgs.slice(0, -1), image] : fixture.runArgs;
  docker("run", "-d", ...args);
  await waitHealthy(fixture.name);
}

export function removeFixture(fixture: Fixture): void {
  try {
    docker("rm", "-f", "-v", fixture.name);
  } catch {
    /* already gone */
  }
  for (const c of docker("ps", "-aq", "--filter", `name=${fixture.name}`).split("\n").filter(Boolean)) docker("rm", "-f", c);
  try {
    docker("volume", "rm", "-f", fixture.volume);
  } catch {
    /* already gone */
  }
  fs.rmSync(fixture.store, { recursive: true, force: true });
}

export async function waitFor(what: string, check: () => boolean, timeoutMs = 30_000, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if (check()) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export async function waitHealthy(name: string): Promise<void> {
  await waitFor(`${name} to be healthy`, () => inspect(name, "{{.State.Health.Status}}") === "healthy", 60_000, 200);
}

/** Python that creates a WAL-mode webui.db with 500 chats and sets `d` to the data directory. */
export const CHATS_PY = String.raw`import os, sqlite3
d = "/app/backend/data"
db = sqlite3.connect(f"{d}/webui.db", isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
db.execute("CREATE TABLE chat (id INTEGER PRIMARY KEY, title TEXT, chat TEXT)")
db.executemany("INSERT INTO chat (title, chat) VALUES (?, ?)", [(f"chat {i}", "{}" * i) for i in range(500)])
db.close()`;

/** Adds `megabytes` rows of 1 MiB random blobs to webui.db (a large, incompressible database). */
export function addBlobs(name: string, megabytes: number): void {
  py(
    name,
    String.raw`import os, sqlite3, sys
db = sqlite3.connect("/app/backend/data/webui.db", isolation_level=None)
db.execute("CREATE TABLE IF NOT EXISTS blobs (id INTEGER PRIMARY KEY, data BLOB)")
db.execute("BEGIN")
for i in range(int(sys.argv[1])):
    db.execute("INSERT INTO blobs (data) VALUES (?)", (os.urandom(1 << 20),))
db.execute("COMMIT")
db.close()`,
    String(megabytes),
  );
}

/** Runs python3 code inside the container; returns its stdout. */
export function py(name: string, code: string, ...args: string[]): string {
  return docker("exec", name, "python3", "-c", code, ...args);
}

export interface TreeEntry {
  mode: string;
  uid: number;
  gid: number;
  mtime: number;
  size?: number;
  sha256?: string;
  link?: string;
  /** For SQLite databases: a hash of their logical content (a consistent copy is not byte-identical). */
  dump?: string;
}

const TREE_SCRIPT = String.raw`
import hashlib, json, os, sqlite3, stat, sys
root = sys.argv[1]
def sha(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()
def is_db(p):
    with open(p, "rb") as f:
        return f.read(16) == b"SQLite format 3\x00"
out = {}
def add(p):
    st = os.lstat(p)
    e = {"mode": oct(st.st_mode), "uid": st.st_uid, "gid": st.st_gid, "mtime": int(st.st_mtime)}
    if stat.S_ISLNK(st.st_mode):
        e["link"] = os.readlink(p)
    elif stat.S_ISREG(st.st_mode):
        if is_db(p):
            # immutable: reading must not create -wal/-shm files (that would change the directory's mtime)
            c = sqlite3.connect("file:" + p + "?immutable=1", uri=True)
            e["dump"] = hashlib.sha256("\n".join(c.iterdump()).encode()).hexdigest()
            c.close()
        else:
            e["size"] = st.st_size
            e["sha256"] = sha(p)
    out[os.path.relpath(p, os.path.dirname(root))] = e
add(root)
if os.path.isdir(root) and not os.path.islink(root):
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            add(os.path.join(d, n))
print(json.dumps(out, sort_keys=True))
`;

/** Every entry under a container path with type, mode, owner, mtime, link target and content hash. */
export function tree(name: string, root: string): Record<string, TreeEntry> {
  return JSON.parse(py(name, TREE_SCRIPT, root)) as Record<string, TreeEntry>;
}

/** Chat rows as (id, title) pairs, from inside the container. */
export function chatIds(name: string): number[] {
  return JSON.parse(
    py(name, "import sqlite3,json; c=sqlite3.connect('/app/backend/data/webui.db'); print(json.dumps([r[0] for r in c.execute('select id from chat order by id')]))"),
  ) as number[];
}

export function integrityCheck(name: string, file = "/app/backend/data/webui.db"): string {
  return py(name, "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('pragma integrity_check').fetchone()[0])", file);
}
