// Helpers both benchmarks share: docker, timing, the write probe, one timed run of the CLI.
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const BIN = path.join(root, "runner/bin/owui-backup.js");

export const docker = (...a) => execFileSync("docker", a, { encoding: "utf8", maxBuffer: 64 << 20 }).trim();
export const now = () => Date.now() / 1000;
export const dirBytes = (dir) => (fs.existsSync(dir) ? Number(execFileSync("du", ["-sb", dir], { encoding: "utf8" }).split("\t")[0]) : 0);
export const log = (s) => process.stderr.write(`bench: ${s}\n`);

export async function waitHealthy(container) {
  for (let i = 0; i < 240; i++) {
    if (docker("inspect", "-f", "{{.State.Health.Status}}", container) === "healthy") return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${container} did not become healthy`);
}

// ---- the write probe: a row every 10 ms; the longest gap between rows in a window is the stall
const PROBE = String.raw`
import sqlite3, time
db = sqlite3.connect("/app/backend/data/webui.db", isolation_level=None, timeout=60)
db.execute("PRAGMA busy_timeout=60000")
db.execute("CREATE TABLE IF NOT EXISTS probe (t REAL)")
while True:
    db.execute("INSERT INTO probe (t) VALUES (?)", (time.time(),))
    time.sleep(0.01)
`;
// The window's edges count as rows: a probe that could not write from the start (stopped container)
// shows the whole downtime.
const GAP = String.raw`
import sqlite3, sys
a, b = float(sys.argv[1]), float(sys.argv[2])
db = sqlite3.connect("file:/app/backend/data/webui.db?mode=ro", uri=True, timeout=60)
ts = [a] + [r[0] for r in db.execute("SELECT t FROM probe WHERE t > ? AND t < ? ORDER BY t", (a, b))] + [b]
print(max(y - x for x, y in zip(ts, ts[1:])))
`;
export const startProbe = (container) => docker("exec", "-d", container, "python3", "-c", PROBE);
// The marker is split so that this command's own command line does not carry it.
const STOP_PROBE = String.raw`
import os, signal
marker = b"CREATE TABLE IF NOT EXISTS pro" + b"be"
for p in filter(str.isdigit, os.listdir("/proc")):
    try:
        if marker in open(f"/proc/{p}/cmdline", "rb").read():
            os.kill(int(p), signal.SIGKILL)
    except OSError:
        pass
`;
export const stopProbe = (container) => spawnSync("docker", ["exec", container, "python3", "-c", STOP_PROBE], { stdio: "ignore" });
export const longestGap = (container, a, b) => Number(docker("exec", container, "python3", "-c", GAP, String(a), String(b)));

/** One timed run of the CLI (GNU time): wall seconds and peak RSS. */
export function owui(argv, env, work) {
  const timeFile = path.join(work, "time.txt");
  const r = spawnSync("/usr/bin/time", ["-f", "%e %M", "-o", timeFile, process.execPath, BIN, ...argv], { env: { ...process.env, ...env }, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`owui-backup ${argv.join(" ")} failed: ${r.stderr.trim().split("\n").at(-1)}`);
  const [wall, kb] = fs.readFileSync(timeFile, "utf8").trim().split(/\s+/).map(Number);
  return { wall, rssMb: kb / 1024, stdout: r.stdout };
}

/** A command's wall time (and its output). */
export function timed(command, args, options = {}) {
  const t0 = now();
  const r = spawnSync(command, args, { encoding: "utf8", maxBuffer: 64 << 20, ...options });
  if (r.status !== 0) throw new Error(`${command} ${args.join(" ")} failed: ${(r.stderr || "").trim().split("\n").at(-1)}`);
  return { wall: now() - t0, stdout: r.stdout };
}

/** Prints rows as an aligned table. */
export function printTable(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => String(row[i] ?? "").length)));
  for (const row of rows) process.stdout.write(row.map((c, i) => String(c ?? "").padEnd(widths[i])).join("  ").trimEnd() + "\n");
}

// ---- seed 004's pipeline: stop, sqlite3 .backup, tar czf, start (the upload is the caller's)
const ARCHIVE = String.raw`python3 -c 'import sqlite3; s = sqlite3.connect("/data/webui.db"); d = sqlite3.connect("/out/webui-backup.db"); s.backup(d)' && tar czf /out/complete.tar.gz -C /data . -C /out webui-backup.db`;
export async function baselineArchive({ container, volume, image, outDir }) {
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(outDir, { recursive: true });
  docker("stop", "-t", "30", container);
  docker("run", "--rm", "--network", "none", "-v", `${volume}:/data`, "-v", `${outDir}:/out`, "--entrypoint", "sh", image, "-c", ARCHIVE);
  docker("start", container);
  await waitHealthy(container);
  return fs.statSync(path.join(outDir, "complete.tar.gz")).size;
}
/** The script's restore: stop, empty the data, unpack, start. */
export async function baselineUnpack({ container, image, outDir }) {
  docker("stop", "-t", "30", container);
  docker("run", "--rm", "--network", "none", "--volumes-from", container, "-v", `${outDir}:/out:ro`, "--entrypoint", "sh", image, "-c",
    "find /app/backend/data -mindepth 1 -delete && tar xzf /out/complete.tar.gz -C /app/backend/data --exclude=webui-backup.db");
  docker("start", container);
  await waitHealthy(container);
}
