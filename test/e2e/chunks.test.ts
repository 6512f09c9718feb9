import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import zlib from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireDockerOrSkip } from "../docker-available.js";
import { lastLine, runCli } from "../helpers/cli.js";
import { docker, inspect, py, removeFixture, startFixture, tree, type Fixture } from "./fixture.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** A database of a few MB, a model-like random blob, a text upload and small files. */
const POPULATE = String.raw`
import os, sqlite3, json
d = "/app/backend/data"
db = sqlite3.connect(f"{d}/webui.db", isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
db.execute("CREATE TABLE chat (id INTEGER PRIMARY KEY, title TEXT, chat TEXT)")
db.executemany("INSERT INTO chat (title, chat) VALUES (?, ?)", [(f"chat {i}", json.dumps({"m": os.urandom(600).hex()})) for i in range(4000)])
db.close()
os.makedirs(f"{d}/models/blobs", exist_ok=True)
with open(f"{d}/models/blobs/sha256-model", "wb") as f: f.write(os.urandom(12 << 20))
os.makedirs(f"{d}/uploads/Отчёты «2025»", exist_ok=True)
with open(f"{d}/uploads/Отчёты «2025»/notes.txt", "w") as f: f.write("words of a document " * 120000)
with open(f"{d}/uploads/small.txt", "w") as f: f.write("small\n")
os.chmod(f"{d}/uploads/small.txt", 0o640)
os.utime(f"{d}/models/blobs/sha256-model", (981173045, 981173045))
os.link(f"{d}/models/blobs/sha256-model", f"{d}/models/blobs/hardlink")
`;
const EDIT_TWO_ROWS = `import sqlite3
db = sqlite3.connect("/app/backend/data/webui.db")
db.execute("UPDATE chat SET title = title || ' (edited)' WHERE id IN (10, 3000)")
db.commit()`;

interface Summary {
  id: string;
  sizeBytes: number;
  newBytes: number;
}
/** Chunks stored on their own and packs (not the pack index, whose objects differ between stores). */
const chunkFiles = (store: string) => {
  const dir = path.join(store, "chunks");
  return fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true }).map(String).filter((f) => /[0-9a-f]{64}(\.gz|\.zst|\.pack)?$/.test(f)) : [];
};

describe.skipIf(requireDockerOrSkip())("content-addressed chunks (format 3)", () => {
  let fixture: Fixture;
  let list: () => Promise<Summary[]>;

  beforeAll(async () => {
    fixture = await startFixture({ writeMs: 0 });
    py(fixture.name, POPULATE);
    list = async () => JSON.parse((await runCli(["list", "--json"], fixture.env)).stdout) as Summary[];
  });
  afterAll(() => fixture && removeFixture(fixture));

  it("a second backup with two rows changed writes a few chunks, and restores exactly", async () => {
    const first = await runCli(["backup"], fixture.env);
    expect(first.code, first.stderr).toBe(0);
    py(fixture.name, EDIT_TWO_ROWS);
    const expected = tree(fixture.name, "/app/backend/data");
    const second = await runCli(["backup"], fixture.env);
    expect(second.code, second.stderr).toBe(0);
    const [latest, earlier] = await list();
    const manifest = JSON.parse(fs.readFileSync(path.join(fixture.store, "snapshots", latest!.id, "manifest.json"), "utf8"));
    expect(manifest.format).toBe(3);
    expect(manifest.chunkStore).toMatchObject({ prefix: `chunks/${fixture.name}/`, chunkSize: 1 << 20 });
    // ~19 MB referenced; the first run wrote all of it, the second the changed database pages' chunks.
    expect(earlier!.newBytes).toBeGreaterThan(13 << 20);
    expect(manifest.chunkStore.newChunks).toBeLessThanOrEqual(3);
    expect(latest!.newBytes).toBeLessThan(earlier!.newBytes * 0.1);
    expect(latest!.sizeBytes).toBeGreaterThan(13 << 20);
    // The archive keeps only placeholders for chunked files: far smaller than the data.
    const archive = fs.statSync(path.join(fixture.store, "snapshots", latest!.id, "paths/app_backend_data.tar.gz")).size;
    expect(archive).toBeLessThan(64 << 10);

    // Progress and summaries count every byte read, chunks included (they used to count the archive alone).
    const verify = await runCli(["verify", latest!.id, "--json"], fixture.env);
    expect(verify.code, verify.stderr).toBe(0);
    expect(JSON.parse(verify.stdout)[0].bytesRead).toBe(manifest.sizeBytes);
    expect((await runCli(["verify", latest!.id], fixture.env)).stderr).toMatch(new RegExp(`${latest!.id} ok: \\d+ objects and their chunks, 1\\d(\\.\\d)? MB read, \\d+ SQLite databases checked, in \\d+\\.\\d s`));
    expect(second.stderr).toMatch(/^backed up \d+ files \(\d+(\.\d)? MB(, \d+ unchanged and not read again)?\) in \d+\.\d s: \d+(\.\d)? [KM]B new in the store, 1\d(\.\d)? MB stored/m);

    py(fixture.name, `import os, shutil; shutil.rmtree("/app/backend/data/uploads"); os.remove("/app/backend/data/models/blobs/sha256-model")`);
    const restore = await runCli(["restore", latest!.id, "--yes", "--no-safety-snapshot", "--json"], fixture.env);
    expect(restore.code, restore.stderr).toBe(0);
    // Everything but the small container.json, env.json and chunk index.
    const ownSmall = manifest.objects.filter((o: { name: string }) => !o.name.endsWith(".tar.gz")).reduce((sum: number, o: { size: number }) => sum + o.size, 0);
    expect(JSON.parse(restore.stdout).bytesRead).toBe(manifest.sizeBytes - ownSmall);
    // --json keeps stderr to warnings: the summary line is in the log file.
    const logs = path.join(fixture.store, "logs");
    const logText = fs.readdirSync(logs).map((f) => fs.readFileSync(path.join(logs, f), "utf8")).join("");
    expect(logText).toMatch(new RegExp(`restored ${latest!.id} into ${fixture.name}: \\d paths, 1\\d(\\.\\d)? MB read from the store, in \\d+\\.\\d s`));
    const restored = tree(fixture.name, "/app/backend/data");
    expect({ ...restored, data: { ...restored.data!, mtime: 0 } }).toEqual({ ...expected, data: { ...expected.data!, mtime: 0 } });
    expect(py(fixture.name, `import os; a = os.stat("/app/backend/data/models/blobs/sha256-model"); b = os.stat("/app/backend/data/models/blobs/hardlink"); print(a.st_ino == b.st_ino, int(a.st_mtime))`)).toBe(
      "True 981173045",
    );
  });

  it("docs/manual-restore.py puts a snapshot back together with Python alone", async () => {
    const [latest] = await list();
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "owui-manual-"));
    execFileSync("python3", [path.join(root, "docs/manual-restore.py"), fixture.store, latest!.id, out], { stdio: "pipe" });
    const inContainer = tree(fixture.name, "/app/backend/data");
    // The same tree script, run on this host over the unpacked copy.
    const unpacked = JSON.parse(
      execFileSync("python3", ["-c", treeScript(), path.join(out, "data")], { encoding: "utf8" }),
    ) as typeof inContainer;
    const files = (t: typeof inContainer) =>
      Object.fromEntries(Object.entries(t).filter(([, e]) => e.sha256 || e.dump).map(([k, e]) => [k, { sha256: e.sha256, dump: e.dump, mode: e.mode, mtime: e.mtime }]));
    expect(files(unpacked)).toEqual(files(inContainer));
    expect(Object.keys(files(unpacked))).toContain("data/models/blobs/sha256-model");
    const usage = (() => {
      try {
        execFileSync("python3", [path.join(root, "docs/manual-restore.py")], { stdio: "pipe" });
        return 0;
      } catch (err) {
        return (err as { status: number }).status;
      }
    })();
    expect(usage).toBe(2);
  });

  it("verify names a damaged chunk, and restore refuses the snapshot and changes nothing", async () => {
    const [latest] = await list();
    const model = chunkFiles(fixture.store).find((f) => /[0-9a-f]$/.test(f))!;
    const file = path.join(fixture.store, "chunks", model);
    const original = fs.readFileSync(file);
    const damaged = Buffer.from(original);
    damaged[100] = damaged[100]! ^ 0x55;
    fs.writeFileSync(file, damaged);
    try {
      const verify = await runCli(["verify", latest!.id], fixture.env);
      expect(verify.code).toBe(1);
      expect(verify.stdout + verify.stderr).toMatch(new RegExp(`chunk chunks/${model.replace(/\./g, "\\.")} does not match its sha256`));
      const startedAt = inspect(fixture.name, "{{.State.StartedAt}}");
      const restore = await runCli(["restore", latest!.id, "--yes"], { ...fixture.env, OWUI_BACKUP_COPY_TO: "/mnt/nas/owui-backups" });
      expect(restore.code).not.toBe(0);
      // The way out is named: the copy the backups go to.
      expect(lastLine(restore.stderr)).toMatch(/; nothing was changed: restore it from a copy \(--store \/mnt\/nas\/owui-backups\) or pick another snapshot$/);
      expect(inspect(fixture.name, "{{.State.StartedAt}}")).toBe(startedAt);
      expect((await list()).length).toBe(2); // no safety snapshot was taken either
    } finally {
      fs.writeFileSync(file, original);
    }
    expect((await runCli(["verify", latest!.id], fixture.env)).code).toBe(0);
  });

  it("copy sends the chunks the other store lacks; prune deletes the chunks only removed snapshots used", async () => {
    const target = fs.mkdtempSync(path.join(os.tmpdir(), "owui-copy-target-"));
    const [latest, earlier] = await list();
    expect((await runCli(["copy", earlier!.id, "--to", target], fixture.env)).code).toBe(0);
    const afterFirst = chunkFiles(target).length;
    expect((await runCli(["copy", latest!.id, "--to", target], fixture.env)).code).toBe(0);
    expect(chunkFiles(target).length - afterFirst).toBeLessThanOrEqual(3);
    expect(chunkFiles(target).sort()).toEqual(chunkFiles(fixture.store).sort());
    const verify = await runCli(["verify", "--all"], { ...fixture.env, OWUI_BACKUP_STORE: target });
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);

    // The copy gets damaged: one chunk lost, one with a flipped bit (both snapshots share them).
    const [lost, flipped] = chunkFiles(target).filter((f) => /[0-9a-f]$/.test(f));
    fs.rmSync(path.join(target, "chunks", lost!));
    const bytes = fs.readFileSync(path.join(target, "chunks", flipped!));
    bytes[10]! ^= 0x01;
    fs.writeFileSync(path.join(target, "chunks", flipped!), bytes);
    const targetEnv = { ...fixture.env, OWUI_BACKUP_STORE: target };
    expect((await runCli(["verify", "--all"], targetEnv)).code).toBe(1);
    // A plain copy finds what is missing (by listing) and writes it again; a flipped bit needs --verify.
    const mend = await runCli(["copy", "--all", "--to", target, "--json"], fixture.env);
    expect(mend.code, mend.stderr).toBe(0);
    const mended = JSON.parse(mend.stdout) as { id: string; status: string; replaced?: string[] }[];
    // Written again once, by the first snapshot (oldest first) that needs it.
    expect(mended.flatMap((r) => r.replaced ?? [])).toEqual([`chunks/${lost}`]);
    expect(mended.map((r) => r.status)).toContain("repaired");
    expect(fs.existsSync(path.join(target, "chunks", lost!))).toBe(true);
    expect((await runCli(["verify", "--all"], targetEnv)).code).toBe(1);
    const full = await runCli(["copy", "--all", "--to", target, "--verify", "--json"], fixture.env);
    expect(full.code, full.stderr).toBe(0);
    expect((JSON.parse(full.stdout) as { replaced?: string[] }[]).flatMap((r) => r.replaced ?? [])).toEqual([`chunks/${flipped}`]);
    expect((await runCli(["verify", "--all"], targetEnv)).code).toBe(0);
    const again = await runCli(["copy", "--all", "--to", target, "--verify", "--json"], fixture.env);
    expect((JSON.parse(again.stdout) as { status: string }[]).map((r) => r.status)).toEqual(["present", "present"]);

    // A third snapshot after the blob is replaced: the old blob's 12 chunks are used by the first two only.
    py(fixture.name, `import os\nwith open("/app/backend/data/models/blobs/sha256-model", "wb") as f: f.write(os.urandom(12 << 20))`);
    expect((await runCli(["backup"], fixture.env)).code).toBe(0);
    const before = chunkFiles(fixture.store).length;
    const prune = await runCli(["prune", "--yes", "--keep-last", "1"], fixture.env);
    expect(prune.code, prune.stderr).toBe(0);
    expect(prune.stdout).toMatch(/removed \d+ unused chunks/);
    const after = chunkFiles(fixture.store).length;
    expect(before - after).toBeGreaterThanOrEqual(12);
    const [only] = await list();
    const check = await runCli(["verify", only!.id], fixture.env);
    expect(check.code, check.stdout).toBe(0);
    // Nothing left to collect: a second prune removes no chunk.
    expect((await runCli(["prune", "--yes", "--keep-last", "1"], fixture.env)).stdout).not.toMatch(/unused chunks/);
    expect(chunkFiles(fixture.store)).toHaveLength(after);
  });

  it("unchanged large files are not read again; one rewritten in place with its old size and mtime is", async () => {
    const manifestOf = (id: string) => JSON.parse(fs.readFileSync(path.join(fixture.store, "snapshots", id, "manifest.json"), "utf8"));
    const dataRecord = (id: string) => manifestOf(id).paths.find((p: { path: string }) => p.path === "/app/backend/data");
    // A file's stat is trusted only once it is 2 s old: give the blob written by the last test that long.
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const takes = async () => {
      const result = await runCli(["backup"], fixture.env);
      expect(result.code, result.stderr).toBe(0);
      return lastLine(result.stdout);
    };
    await takes(); // records the stats
    const quiet = await takes();
    // The model blob, the two uploads and the database (not even copied): not hashed or stored again,
    // all referenced. The blob has a second name (a hard link), so the path is read whole and their
    // bytes are drained.
    expect(dataRecord(quiet).unchanged).toBe(4);
    expect(manifestOf(quiet).chunkStore.newChunks).toBeLessThanOrEqual(2);

    // Without hard links the reads go around them: same outcome, and the files are not read at all.
    py(fixture.name, `import os; os.remove("/app/backend/data/models/blobs/hardlink")`);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    await takes();
    const around = await takes();
    expect(dataRecord(around).unchanged).toBe(4);

    // Same size, same mtime, new bytes: only the ctime (and the content) tell.
    py(
      fixture.name,
      `import os\np = "/app/backend/data/models/blobs/sha256-model"\nst = os.stat(p)\nwith open(p, "r+b") as f: f.seek(5 << 20); f.write(b"rewritten in place")\nos.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))`,
    );
    const expected = tree(fixture.name, "/app/backend/data")["data/models/blobs/sha256-model"]!;
    // Past the 2 s in which a fresh change is never trusted: from here only the ctime can tell.
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const rewritten = await takes();
    expect(dataRecord(rewritten).unchanged).toBe(3);
    py(fixture.name, `import os; os.remove("/app/backend/data/models/blobs/sha256-model")`);
    const restore = await runCli(["restore", rewritten, "--yes", "--no-safety-snapshot"], fixture.env);
    expect(restore.code, restore.stderr).toBe(0);
    expect(tree(fixture.name, "/app/backend/data")["data/models/blobs/sha256-model"]).toEqual(expected);
  });
});

/** 200 small uploads and a DELETE-mode database with an Alembic revision, as Open WebUI keeps them. */
const POPULATE_SMALL = String.raw`
import os, random, sqlite3, uuid
d = "/app/backend/data"
rnd = random.Random(3)
os.makedirs(f"{d}/uploads", exist_ok=True)
for i in range(200):
    with open(f"{d}/uploads/{uuid.UUID(int=rnd.getrandbits(128))}_doc{i}.md", "wb") as f:
        f.write(rnd.randbytes(rnd.randint(1000, 50000)) if i % 2 else (b"words of a note %d " % i) * rnd.randint(50, 3000))
db = sqlite3.connect(f"{d}/webui.db", isolation_level=None)
db.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
db.execute("INSERT INTO alembic_version VALUES ('3781e22d8b01')")
db.execute("CREATE TABLE chat (id VARCHAR(255) PRIMARY KEY, title TEXT, chat TEXT)")
db.executemany("INSERT INTO chat VALUES (?, ?, ?)", [(str(uuid.UUID(int=rnd.getrandbits(128))), f"chat {i}", "x" * rnd.randint(200, 4000)) for i in range(3000)])
db.close()
`;

describe.skipIf(requireDockerOrSkip())("format 3: every file deduplicated, databases not copied when unchanged", () => {
  let fixture: Fixture;
  const manifestOf = (id: string) => JSON.parse(fs.readFileSync(path.join(fixture.store, "snapshots", id, "manifest.json"), "utf8"));
  const indexOf = (id: string) => {
    const record = manifestOf(id).paths.find((p: { path: string }) => p.path === "/app/backend/data");
    return JSON.parse(zlib.gunzipSync(fs.readFileSync(path.join(fixture.store, "snapshots", id, record.index))).toString()) as {
      files: { name: string; size: number; chunks: { id: string; packed?: boolean }[]; source?: string }[];
    };
  };
  const backUp = async () => {
    const result = await runCli(["backup", "--log-level", "debug"], fixture.env);
    expect(result.code, result.stderr).toBe(0);
    return { id: lastLine(result.stdout), stderr: result.stderr };
  };
  beforeAll(async () => {
    fixture = await startFixture({ writeMs: 0 });
    py(fixture.name, POPULATE_SMALL);
    // A WAL database whose writer ended without a checkpoint: its -wal holds the rows.
    py(
      fixture.name,
      `import os, sqlite3\ndb = sqlite3.connect("/app/backend/data/wal.db", isolation_level=None)\ndb.execute("PRAGMA journal_mode=WAL")\ndb.execute("CREATE TABLE t (x)")\ndb.executemany("INSERT INTO t VALUES (?)", [("row %d" % i,) for i in range(2000)])\nos._exit(0)`,
    );
  });
  afterAll(() => fixture && removeFixture(fixture));

  it("small files go into a few packs; an unchanged second backup reads no file, copies no database and stores no chunk", async () => {
    // Files changed in the last 2 s record no stat: let the fresh data settle first.
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const first = await backUp();
    const packs = fs.readdirSync(path.join(fixture.store, "chunks", fixture.name, "packs"), { recursive: true }).filter((f) => String(f).endsWith(".pack"));
    expect(packs.length).toBeGreaterThan(0);
    expect(packs.length).toBeLessThan(10);
    const db = indexOf(first.id).files.find((f) => f.name === "data/webui.db")!;
    expect(db.source).toBeDefined(); // the database had settled: its stat is recorded with the copy
    expect(db.chunks.length).toBe(Math.ceil(db.size / 65536));
    expect(manifestOf(first.id).database).toMatchObject({ path: "/app/backend/data/webui.db", alembicRevision: "3781e22d8b01" });

    await new Promise((resolve) => setTimeout(resolve, 2100));
    const second = await backUp();
    expect(second.stderr).toMatch(/webui\.db unchanged since the last snapshot: not copied/);
    // Copying a WAL database does not checkpoint it (that would change its files, and every backup would copy it again).
    expect(second.stderr).toMatch(/wal\.db unchanged since the last snapshot: not copied/);
    const manifest = manifestOf(second.id);
    expect(manifest.chunkStore).toMatchObject({ newChunks: 0, newBytes: 0 });
    const record = manifest.paths.find((p: { path: string }) => p.path === "/app/backend/data");
    expect(record.unchanged).toBe(indexOf(second.id).files.length);
    expect(indexOf(second.id).files.find((f) => f.name === "data/webui.db")).toEqual(db);
    // What Open WebUI's database said is carried over from the snapshot it was not copied again since.
    expect(manifest.database).toEqual(manifestOf(first.id).database);
    const verify = await runCli(["verify", second.id], fixture.env);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  });

  it("after a churn the next backup stores only what changed, and restoring the snapshot before it puts every file back", async () => {
    const [before] = JSON.parse((await runCli(["list", "--json"], fixture.env)).stdout) as Summary[];
    const expected = tree(fixture.name, "/app/backend/data");
    py(
      fixture.name,
      String.raw`
import os, sqlite3
d = "/app/backend/data/uploads"
names = sorted(os.listdir(d))
os.remove(os.path.join(d, names[0]))
with open(os.path.join(d, names[1]), "ab") as f: f.write(b"appended")
for i in range(2):
    with open(os.path.join(d, "new-%d.md" % i), "wb") as f: f.write(os.urandom(30000))
db = sqlite3.connect("/app/backend/data/webui.db")
db.execute("UPDATE chat SET title = 'edited' WHERE rowid IN (7, 2900)")
db.commit()
`,
    );
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const churn = await backUp();
    const manifest = manifestOf(churn.id);
    // Three changed or new uploads and a few database pages, nothing else.
    expect(manifest.chunkStore.newChunks).toBeLessThanOrEqual(3 + 6);
    expect(manifest.chunkStore.newBytes).toBeLessThan(200_000);
    const restore = await runCli(["restore", before!.id, "--yes", "--no-safety-snapshot"], fixture.env);
    expect(restore.code, restore.stderr).toBe(0);
    // A restore puts back each database as its consistent copy: wal.db with its WAL's rows inside and
    // no -wal or -shm (the tree reads databases without their WAL, so it is compared by its rows).
    const withoutWalDb = (t: typeof expected) => Object.fromEntries(Object.entries(t).filter(([k]) => !k.startsWith("data/wal.db")));
    const restored = tree(fixture.name, "/app/backend/data");
    expect(withoutWalDb({ ...restored, data: { ...restored.data!, mtime: 0 } })).toEqual(withoutWalDb({ ...expected, data: { ...expected.data!, mtime: 0 } }));
    expect(py(fixture.name, `import sqlite3; print(sqlite3.connect("/app/backend/data/wal.db").execute("select count(*) from t").fetchone()[0])`)).toBe("2000");
    // With Python alone, packs and zstd included.
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "owui-manual-"));
    execFileSync("python3", [path.join(root, "docs/manual-restore.py"), fixture.store, churn.id, out], { stdio: "pipe" });
    expect(fs.readFileSync(path.join(out, "data/uploads/new-1.md")).length).toBe(30000);
  });
  it("prune deletes a pack once none of its chunks is referenced, and the pack index follows", async () => {
    const packsNow = () =>
      new Set(fs.readdirSync(path.join(fixture.store, "chunks", fixture.name, "packs"), { recursive: true }).map(String).filter((f) => f.endsWith(".pack")));
    const [churn] = JSON.parse((await runCli(["list", "--json"], fixture.env)).stdout) as Summary[];
    const before = packsNow();
    // The container holds the state from before the churn again (the last test restored it): a backup
    // of it finds every chunk stored, and the churn's pack is left to the churn's snapshot alone.
    await new Promise((resolve) => setTimeout(resolve, 2100));
    await backUp();
    expect([...packsNow()].filter((p) => !before.has(p))).toEqual([]);
    const churnPacks = [...before].filter((p) => fs.statSync(path.join(fixture.store, "chunks", fixture.name, "packs", p)).mtimeMs >= Date.parse(manifestOf(churn!.id).startedAt));
    expect(churnPacks.length).toBeGreaterThan(0);
    const prune = await runCli(["prune", "--yes", "--keep-last", "1"], fixture.env);
    expect(prune.code, prune.stderr).toBe(0);
    expect(prune.stdout).toMatch(/removed \d+ unused chunks/);
    const after = packsNow();
    for (const pack of churnPacks) expect(after.has(pack), pack).toBe(false);
    expect(after.size).toBe(before.size - churnPacks.length);
    // Every pack the index lists is there, and every pack there is listed.
    const listed = new Set<string>();
    for (const f of fs.readdirSync(path.join(fixture.store, "chunks", fixture.name, "index"))) {
      const index = JSON.parse(zlib.gunzipSync(fs.readFileSync(path.join(fixture.store, "chunks", fixture.name, "index", f))).toString()) as { packs: { id: string }[] };
      for (const pack of index.packs) listed.add(`${pack.id.slice(0, 2)}/${pack.id}.pack`);
    }
    expect([...listed].sort()).toEqual([...after].sort());
    const verify = await runCli(["verify", "--all"], fixture.env);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  });
});

// Written by the release before each format change (test/fixtures/format-N/README.md).
describe.skipIf(requireDockerOrSkip()).each([1, 2])("a format-%i snapshot", (format) => {
  const fixtureDir = path.join(root, `test/fixtures/format-${format}`);
  let fixture: Fixture;
  beforeAll(async () => {
    fixture = await startFixture({ writeMs: 0 });
    fs.cpSync(path.join(fixtureDir, "store"), fixture.store, { recursive: true });
  });
  afterAll(() => fixture && removeFixture(fixture));

  it("written by an earlier release verifies, restores, and is copied and read by hand", async () => {
    const id = fs.readdirSync(path.join(fixture.store, "snapshots"))[0]!;
    const manifest = JSON.parse(fs.readFileSync(path.join(fixture.store, "snapshots", id, "manifest.json"), "utf8"));
    expect(manifest.format).toBe(format);
    // Format 1 had no chunks; format 2 chunked its large files.
    expect(manifest.chunkStore !== undefined).toBe(format === 2);
    const verify = await runCli(["verify", id], fixture.env);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    const restore = await runCli(["restore", id, "--yes", "--no-safety-snapshot"], fixture.env);
    expect(restore.code, restore.stderr).toBe(0);
    expect(lastLine(restore.stdout + restore.stderr)).not.toMatch(/error/);
    const expected = JSON.parse(fs.readFileSync(path.join(fixtureDir, "expected.json"), "utf8")) as Record<string, string>;
    const files = tree(fixture.name, "/app/backend/data");
    for (const [name, sha256] of Object.entries(expected)) expect(files[`data/${name}`]?.sha256, name).toBe(sha256);
    expect(py(fixture.name, `import sqlite3; print(sqlite3.connect("/app/backend/data/webui.db").execute("SELECT count(*) FROM chat WHERE title LIKE 'format-${format} chat %'").fetchone()[0])`)).toBe("300");
    expect(docker("exec", fixture.name, "readlink", "/app/backend/data/latest.txt")).toBe("uploads/small.txt");
    // A copy carries its chunks; the copy verifies on its own.
    const target = fs.mkdtempSync(path.join(os.tmpdir(), `owui-copy-f${format}-`));
    expect((await runCli(["copy", id, "--to", target], fixture.env)).code).toBe(0);
    expect((await runCli(["verify", id], { ...fixture.env, OWUI_BACKUP_STORE: target })).code).toBe(0);
    const out = fs.mkdtempSync(path.join(os.tmpdir(), `owui-manual-f${format}-`));
    execFileSync("python3", [path.join(root, "docs/manual-restore.py"), fixture.store, id, out], { stdio: "pipe" });
    for (const [name, sha256] of Object.entries(expected)) {
      expect(createHash("sha256").update(fs.readFileSync(path.join(out, "data", name))).digest("hex"), name).toBe(sha256);
    }
  });
});

/** The fixture's tree script, to run on this host. */
function treeScript(): string {
  const source = fs.readFileSync(path.join(root, "test/e2e/fixture.ts"), "utf8");
  return /const TREE_SCRIPT = String\.raw`([\s\S]*?)`;/.exec(source)![1]!;
}
