import { execFileSync } from "node:child_process";
import Database from "better-sqlite3";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireDockerOrSkip } from "../docker-available.js";
import { lastLine, runCli } from "../helpers/cli.js";
import { chatIds, docker, inspect, integrityCheck, py, removeFixture, startFixture, type Fixture } from "./fixture.js";

const MANUAL_RESTORE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../docs/manual-restore.py");

/**
 * Unpacks a snapshot without owui-backup (docs/manual-restore.py: stock tar plus its chunks) and opens
 * its webui.db (with its WAL, if archived).
 */
function snapshotDatabase(store: string, id: string): { ids: number[]; integrity: string; files: string[]; rows: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "owui-snapdb-"));
  execFileSync("python3", [MANUAL_RESTORE, store, id, dir], { stdio: "pipe" });
  // Listed before SQLite opens the database and makes its own -wal/-shm files.
  const files = fs.readdirSync(path.join(dir, "data")).sort();
  const db = new Database(path.join(dir, "data/webui.db"));
  try {
    return {
      ids: (db.prepare("select id from chat order by id").all() as { id: number }[]).map((r) => r.id),
      integrity: (db.pragma("integrity_check") as { integrity_check: string }[])[0]!.integrity_check,
      files,
      rows: JSON.stringify(db.prepare("select id, title, created_at from chat order by id").raw().all()),
    };
  } finally {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const contiguous = (ids: number[]) => ids.every((id, i) => id === i + 1);

describe.skipIf(requireDockerOrSkip())("consistent copies of SQLite under continuous writes", () => {
  let fixture: Fixture;

  beforeAll(async () => {
    // 200 inserts a second into a WAL-mode webui.db, plus a rollback-journal chroma.sqlite3.
    fixture = await startFixture({ writeMs: 5 });
    await new Promise((r) => setTimeout(r, 1500));
  });
  afterAll(() => fixture && removeFixture(fixture));

  it.each([
    ["online", "online", ["uploads", "vector_db", "webui.db"]],
    ["pause", "pause", ["uploads", "vector_db", "webui.db", "webui.db-wal"]],
    ["stop", "stop", ["uploads", "vector_db", "webui.db"]],
  ])("--mode %s: the snapshot's databases pass integrity_check and hold a gapless prefix of the rows", async (mode, consistency, files) => {
    const rowsBefore = chatIds(fixture.name).length;
    const startedAt = inspect(fixture.name, "{{.State.StartedAt}}");
    const result = await runCli(["backup", "--mode", mode, "--json"], fixture.env);
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as { id: string; consistency: string };
    expect(summary.consistency).toBe(consistency);
    const rowsAfter = chatIds(fixture.name).length;
    const snap = snapshotDatabase(fixture.store, summary.id);
    expect(snap.integrity).toBe("ok");
    expect(contiguous(snap.ids)).toBe(true);
    expect(snap.ids.length).toBeGreaterThanOrEqual(rowsBefore);
    expect(snap.ids.length).toBeLessThanOrEqual(rowsAfter);
    // No -shm in any mode; a -wal only where it was read in the same frozen instant as its database.
    expect(snap.files).toEqual(files);
    // The container is running again and, but for --mode stop, was never restarted.
    expect(inspect(fixture.name, "{{.State.Running}} {{.State.Paused}}")).toBe("true false");
    if (mode !== "stop") expect(inspect(fixture.name, "{{.State.StartedAt}}")).toBe(startedAt);
    const verify = await runCli(["verify", summary.id], fixture.env);
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.stderr).toMatch(/2 SQLite databases checked/);
  });

  it("leaves no staging copies in the container after an online backup", () => {
    expect(docker("exec", fixture.name, "sh", "-c", "ls /tmp | grep owui-backup- || true")).toBe("");
  });

  it("restores the rows the snapshot held, intact, while the app goes on writing after the restore", async () => {
    const backup = await runCli(["backup"], fixture.env);
    expect(backup.code, backup.stderr).toBe(0);
    const id = lastLine(backup.stdout);
    const snap = snapshotDatabase(fixture.store, id);
    await new Promise((r) => setTimeout(r, 1000));
    expect(chatIds(fixture.name).length).toBeGreaterThan(snap.ids.length);
    const restore = await runCli(["restore", id, "--yes"], fixture.env);
    expect(restore.code, restore.stderr).toBe(0);
    expect(integrityCheck(fixture.name)).toBe("ok");
    expect(integrityCheck(fixture.name, "/app/backend/data/vector_db/chroma.sqlite3")).toBe("ok");
    const ids = chatIds(fixture.name);
    // The app resumed writing after the restore: its new rows continue right after the snapshot's.
    expect(contiguous(ids)).toBe(true);
    expect(ids.length).toBeGreaterThanOrEqual(snap.ids.length);
    const firstNew = JSON.parse(
      py(fixture.name, "import sqlite3,json; c=sqlite3.connect('/app/backend/data/webui.db'); print(json.dumps(c.execute('select min(created_at) from chat where id > ?', (int(__import__('sys').argv[1]),)).fetchone()[0]))", String(snap.ids.length)),
    ) as number | null;
    const lastSnapshotted = JSON.parse(
      py(fixture.name, "import sqlite3,json,sys; c=sqlite3.connect('/app/backend/data/webui.db'); print(json.dumps(c.execute('select created_at from chat where id = ?', (int(sys.argv[1]),)).fetchone()[0]))", String(snap.ids.length)),
    ) as number;
    if (firstNew !== null) expect(firstNew - lastSnapshotted).toBeGreaterThan(500);
    const restoredRows = py(
      fixture.name,
      "import sqlite3,json,sys; c=sqlite3.connect('/app/backend/data/webui.db'); print(json.dumps(c.execute('select id, title, created_at from chat where id <= ? order by id', (int(sys.argv[1]),)).fetchall(), separators=(',', ':')))",
      String(snap.ids.length),
    );
    expect(restoredRows).toBe(snap.rows);
  });

  it("backs up a stopped container as it is and leaves it stopped", async () => {
    docker("stop", fixture.name);
    const result = await runCli(["backup", "--json"], fixture.env);
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as { id: string; consistency: string };
    expect(summary.consistency).toBe("offline");
    expect(inspect(fixture.name, "{{.State.Status}}")).toBe("exited");
    expect(snapshotDatabase(fixture.store, summary.id).integrity).toBe("ok");
    docker("start", fixture.name);
  });
});
