import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireDockerOrSkip } from "../docker-available.js";
import { lastLine, runCli } from "../helpers/cli.js";
import { CHATS_PY, docker, inspect, py, removeFixture, startFixture, tree, type Fixture, type TreeEntry } from "./fixture.js";

/** Files of every awkward kind, written inside the container's data volume and its own layer. */
const POPULATE = String.raw`
${CHATS_PY}
os.makedirs(f"{d}/vector_db", exist_ok=True)
vec = sqlite3.connect(f"{d}/vector_db/chroma.sqlite3")
vec.execute("CREATE TABLE embeddings (id INTEGER PRIMARY KEY, vector BLOB)")
vec.executemany("INSERT INTO embeddings (vector) VALUES (?)", [(os.urandom(384),) for i in range(200)])
vec.commit()
vec.close()
os.makedirs(f"{d}/uploads/пустой каталог", exist_ok=True)
os.makedirs(f"{d}/private", mode=0o700, exist_ok=True)
os.chmod(f"{d}/private", 0o700)
with open(f"{d}/uploads/report.pdf", "wb") as f: f.write(os.urandom(3 << 20))
with open(f"{d}/uploads/emoji 🤖 «файл».txt", "w") as f: f.write("unicode name\n")
with open(f"{d}/uploads/quote's & spaces.txt", "w") as f: f.write("odd name\n")
with open(f"{d}/empty", "w") as f: pass
long = f"{d}/cache/" + "x" * 70 + "/" + "y" * 70
os.makedirs(long, exist_ok=True)
with open(long + "/model-weights-with-a-long-name.bin", "wb") as f: f.write(os.urandom(4096))
with open(f"{d}/private/owned.json", "w") as f: f.write('{"owner": 1000}')
os.chown(f"{d}/private/owned.json", 1000, 1000)
os.chmod(f"{d}/private/owned.json", 0o600)
with open(f"{d}/tool.sh", "w") as f: f.write("#!/bin/sh\necho hi\n")
os.chmod(f"{d}/tool.sh", 0o4755)
os.chown(f"{d}/tool.sh", 123, 456)
os.symlink("uploads/report.pdf", f"{d}/latest.pdf")
os.symlink("/app/backend/static", f"{d}/static-link")
os.symlink("does-not-exist", f"{d}/dangling")
os.link(f"{d}/uploads/report.pdf", f"{d}/uploads/hardlink.pdf")
for p in [f"{d}/uploads/report.pdf", f"{d}/empty", f"{d}/tool.sh"]:
    os.utime(p, (981173045, 981173045))
with open("/app/backend/static/custom-logo.svg", "w") as f: f.write("<svg/>")
`;

const MUTATE = String.raw`
import os, shutil
d = "/app/backend/data"
os.remove(f"{d}/uploads/report.pdf")
shutil.rmtree(f"{d}/uploads/пустой каталог")
with open(f"{d}/tool.sh", "a") as f: f.write("changed\n")
os.chmod(f"{d}/private/owned.json", 0o644)
with open(f"{d}/added-later.txt", "w") as f: f.write("should vanish")
with open(f"{d}/webui.db-wal", "wb") as f: f.write(b"stale wal")
with open(f"{d}/webui.db-shm", "wb") as f: f.write(b"stale shm")
os.remove(f"{d}/latest.pdf")
os.symlink("elsewhere", f"{d}/latest.pdf")
with open("/app/backend/static/added-later.css", "w") as f: f.write("x")
with open("/app/backend/.webui_secret_key", "w") as f: f.write("a-different-key")
`;

function snapshotOfTrees(name: string): Record<string, TreeEntry> {
  return {
    ...tree(name, "/app/backend/data"),
    ...tree(name, "/app/backend/static"),
    ...tree(name, "/app/backend/.webui_secret_key"),
  };
}

function withoutRootMtime(entries: Record<string, TreeEntry>): Record<string, TreeEntry> {
  return { ...entries, data: { ...entries.data!, mtime: 0 } };
}

describe.skipIf(requireDockerOrSkip())("round trip through a snapshot", () => {
  let fixture: Fixture;
  let before: Record<string, TreeEntry>;
  let id: string;

  beforeAll(async () => {
    fixture = await startFixture({ writeMs: 0 });
    py(fixture.name, POPULATE);
    const beforeBackup = snapshotOfTrees(fixture.name);
    const backup = await runCli(["backup"], fixture.env);
    expect(backup.code, backup.stderr).toBe(0);
    id = lastLine(backup.stdout);
    before = snapshotOfTrees(fixture.name);
    // Reading changes nothing but the data directory's mtime: SQLite's backup API opens webui.db, and
    // with no other connection open that creates and removes its -wal/-shm beside it.
    expect(withoutRootMtime(before)).toEqual(withoutRootMtime(beforeBackup));
  });
  afterAll(() => fixture && removeFixture(fixture));

  it("prints the id last and writes a manifest-backed snapshot with private env and inspect files", () => {
    expect(id).toMatch(/^\d{8}_\d{6}$/);
    const dir = path.join(fixture.store, "snapshots", id);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8"));
    expect(manifest).toMatchObject({ id, trigger: "manual", consistency: "online", container: { name: fixture.name }, image: { openWebuiVersion: "0.6.5" } });
    expect(manifest.paths.map((p: { path: string; present: boolean }) => [p.path, p.present])).toEqual([
      ["/app/backend/data", true],
      ["/root/.ollama", false],
      ["/app/backend/static", true],
      ["/app/backend/open_webui/static", false],
      ["/app/backend/.webui_secret_key", true],
    ]);
    for (const f of ["env.json", "container.json", "manifest.json"]) expect(fs.statSync(path.join(dir, f)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(fs.readFileSync(path.join(dir, "env.json"), "utf8"))).toMatchObject({ FIXTURE_WRITE_MS: "0" });
  });

  it("status reports the snapshot, its size and no failure", async () => {
    const result = await runCli(["status", "--json"], fixture.env);
    expect(result.code).toBe(0);
    const status = JSON.parse(result.stdout);
    expect(status).toMatchObject({ container: fixture.name, snapshots: 1, last: { id, trigger: "manual" }, lastFailure: null, healthy: true });
    expect(status.last.sizeBytes).toBeGreaterThan(3 << 20);
    expect(status.storeBytes).toBeGreaterThanOrEqual(status.last.sizeBytes);
  });

  it("can be unpacked with stock tar, and each archive's entry count matches the manifest", () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(fixture.store, "snapshots", id, "manifest.json"), "utf8"));
    for (const p of manifest.paths.filter((p: { present: boolean }) => p.present)) {
      const listing = execFileSync("tar", ["-tzf", path.join(fixture.store, "snapshots", id, p.archive)], { encoding: "utf8" });
      expect(listing.trim().split("\n")).toHaveLength(p.entries);
    }
  });

  it("restores every path equal to the snapshot: content, modes, owners, times, links, empty dirs, odd names", async () => {
    py(fixture.name, MUTATE);
    const restore = await runCli(["restore", id, "--yes"], fixture.env);
    expect(restore.code, restore.stderr).toBe(0);
    expect(lastLine(restore.stdout)).toBe(id);
    expect(snapshotOfTrees(fixture.name)).toEqual(before);
    expect(inspect(fixture.name, "{{.State.Health.Status}}")).toBe("healthy");
  });

  it("kept a pre-restore safety snapshot holding the state it replaced", async () => {
    const list = JSON.parse((await runCli(["list", "--json"], fixture.env)).stdout) as { id: string; trigger: string }[];
    expect(list.map((s) => s.trigger)).toEqual(["pre-restore", "manual"]);
    const safety = list[0]!.id;
    const restore = await runCli(["restore", safety, "--yes", "--no-safety-snapshot"], fixture.env);
    expect(restore.code, restore.stderr).toBe(0);
    expect(docker("exec", fixture.name, "cat", "/app/backend/data/added-later.txt")).toBe("should vanish");
    expect(docker("exec", fixture.name, "cat", "/app/backend/.webui_secret_key")).toBe("a-different-key");
    // "latest" skips pre-restore snapshots: it brings back the manual one.
    const latest = await runCli(["restore", "latest", "--yes"], fixture.env);
    expect(latest.code, latest.stderr).toBe(0);
    expect(lastLine(latest.stdout)).toBe(id);
  });
});
