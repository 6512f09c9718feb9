import type Docker from "dockerode";
import { execInContainer } from "../docker/exec.js";
import type { Migrations } from "../docker/image-migrations.js";
import type { Manifest } from "../snapshot/manifest.js";

/**
 * Runs inside the drill container once it is healthy: PRAGMA integrity_check of every SQLite file
 * under the data directory, Open WebUI's Alembic revision and key tables' row counts, the files the
 * `file` table references (present under the data directory, with their recorded size), and /health.
 */
const CHECK_SCRIPT = String.raw`
import json, os, sqlite3, sys, urllib.request
data, db_path, tables = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
MAGIC = b"SQLite format 3\x00"
out = {"sqlite": {}, "alembic": None, "rows": {}, "files": {"checked": 0, "missing": [], "wrongSize": []}, "health": None}
for d, dirs, files in os.walk(data):
    for n in files:
        p = os.path.join(d, n)
        try:
            with open(p, "rb") as f:
                if f.read(16) != MAGIC:
                    continue
            c = sqlite3.connect("file:" + p + "?mode=ro", uri=True)
            out["sqlite"][p] = "; ".join(r[0] for r in c.execute("pragma integrity_check"))
            c.close()
        except Exception as e:
            out["sqlite"][p] = str(e)
if os.path.exists(db_path):
    c = sqlite3.connect("file:" + db_path + "?mode=ro", uri=True)
    present = {r[0] for r in c.execute("select name from sqlite_master where type = 'table'")}
    if "alembic_version" in present:
        row = c.execute("select version_num from alembic_version").fetchone()
        out["alembic"] = row[0] if row else None
    out["rows"] = {t: c.execute('select count(*) from "%s"' % t).fetchone()[0] for t in tables if t in present}
    if "file" in present:
        for fid, path, meta in c.execute("select id, path, meta from file"):
            if not path:
                continue
            out["files"]["checked"] += 1
            full = path if os.path.isabs(path) else os.path.join(data, path)
            if not os.path.isfile(full):
                out["files"]["missing"].append(fid)
                continue
            try:
                size = (json.loads(meta) if isinstance(meta, str) else (meta or {})).get("size")
            except ValueError:
                size = None
            if isinstance(size, int) and os.path.getsize(full) != size:
                out["files"]["wrongSize"].append(fid)
    c.close()
host = os.environ.get("HOST", "0.0.0.0")
host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
try:
    with urllib.request.urlopen("http://%s:%s/health" % (host, os.environ.get("PORT", "8080")), timeout=5) as r:
        out["health"] = r.status
except Exception as e:
    out["health"] = str(e)
print(json.dumps(out))
`;

export interface DrillChecks {
  /** One line per check, with whether it passed. */
  results: { check: string; ok: boolean; detail: string }[];
  ok: boolean;
}

/**
 * What the drill container shows, compared with what the snapshot recorded at backup time and with
 * the image's migrations. A check that cannot be made (a snapshot without recorded counts) is reported
 * as skipped, not failed.
 */
export async function runDrillChecks(
  docker: Docker,
  container: string,
  manifest: Manifest,
  dataDir: string,
  migrations: Migrations | undefined,
): Promise<DrillChecks> {
  const dbPath = manifest.database?.path ?? `${dataDir}/webui.db`;
  const recorded = manifest.database?.rows ?? {};
  const result = await execInContainer(docker, container, ["python3", "-c", CHECK_SCRIPT, dataDir, dbPath, JSON.stringify(Object.keys(recorded))]);
  if (result.exitCode !== 0) {
    return { ok: false, results: [{ check: "checks", ok: false, detail: `the checks could not run in the drill container: ${result.stderr.trim().split("\n").pop()}` }] };
  }
  const seen = JSON.parse(result.stdout) as {
    sqlite: Record<string, string>;
    alembic: string | null;
    rows: Record<string, number>;
    files: { checked: number; missing: string[]; wrongSize: string[] };
    health: number | string | null;
  };
  const results: DrillChecks["results"] = [];
  const damaged = Object.entries(seen.sqlite).filter(([, r]) => r !== "ok");
  results.push({
    check: "sqlite integrity",
    ok: damaged.length === 0 && Object.keys(seen.sqlite).length > 0,
    detail: damaged.length > 0 ? damaged.map(([p, r]) => `${p}: ${r}`).join("; ") : `${Object.keys(seen.sqlite).length} databases ok`,
  });
  if (migrations && seen.alembic) {
    const migrated = migrations.heads.includes(seen.alembic);
    results.push({ check: "migrated", ok: migrated, detail: migrated ? `at the image's head ${seen.alembic}` : `at ${seen.alembic}, the image's head is ${migrations.heads.join("/")}` });
  } else {
    results.push({ check: "migrated", ok: Boolean(seen.alembic) || !manifest.database, detail: seen.alembic ? `at ${seen.alembic} (the image's migrations could not be listed)` : "no Alembic revision found" });
  }
  if (Object.keys(recorded).length > 0) {
    const differ = Object.entries(recorded).filter(([t, n]) => seen.rows[t] !== n);
    results.push({
      check: "row counts",
      ok: differ.length === 0,
      detail: differ.length > 0 ? differ.map(([t, n]) => `table ${t} has ${seen.rows[t] ?? "no"} rows, the snapshot recorded ${n}`).join("; ") : `${Object.keys(recorded).length} tables as recorded`,
    });
  } else {
    results.push({ check: "row counts", ok: true, detail: "skipped: the snapshot recorded none (not an online backup)" });
  }
  const lost = [...seen.files.missing.map((id) => `${id} missing`), ...seen.files.wrongSize.map((id) => `${id} has another size`)];
  results.push({ check: "uploaded files", ok: lost.length === 0, detail: lost.length > 0 ? lost.join("; ") : `${seen.files.checked} files present with their sizes` });
  results.push({ check: "/health", ok: seen.health === 200, detail: seen.health === 200 ? "answers 200" : `does not answer: ${seen.health}` });
  return { ok: results.every((r) => r.ok), results };
}
