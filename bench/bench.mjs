#!/usr/bin/env node
// npm run bench [-- <MB, default 1024>] [--no-s3] [--scale N, default 4] [--instance-mb MB, default 900]
//                 [--only classic|instance]
//
// The baseline of seed 004 (stop Open WebUI, sqlite3 .backup, tar czf everything, start, upload) and
// `owui-backup backup` side by side, on the same fixture container and the same local S3 server, with:
// wall time, the longest gap between writes of a probe that writes to webui.db every 10 ms inside the
// container (the write stall, or the downtime), bytes that reached the store, and the runner's peak RSS
// (GNU time). Then a second backup with a few chat rows changed, and restore both ways. Last, owui-backup
// alone at N× the size, to show its memory stays flat. Prints a table with the ratios ours/baseline and
// writes the numbers as JSON to bench-results/. Then the Open WebUI-shaped instance with restic beside
// it (bench/instance.mjs).
// Needs: the fixture images (test/fixtures/build-images.sh), GNU time (apt-get install time), a built
// runner (npm run build).
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import * as lib from "./lib.mjs";
import { instanceBench } from "./instance.mjs";

// The SDK's Node 20 support notice is not part of the results.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const sizeMb = Number(args.find((a, i) => /^\d+$/.test(a) && !["--scale", "--instance-mb"].includes(args[i - 1])) ?? 1024);
const only = args.includes("--only") ? args[args.indexOf("--only") + 1] : undefined;
const instanceMb = args.includes("--instance-mb") ? Number(args[args.indexOf("--instance-mb") + 1]) : 900;
const withS3 = !args.includes("--no-s3");
// The memory run: owui-backup alone at this multiple of the size (--scale 1 skips it).
const scale = args.includes("--scale") ? Number(args[args.indexOf("--scale") + 1]) : 4;
if (!(scale >= 1)) throw new Error("--scale takes a whole number of 1 or more");
const IMAGE = "owui-backup-test/open-webui:0.6.5";
const BIN = path.join(root, "runner/bin/owui-backup.js");
const work = fs.mkdtempSync(path.join(os.tmpdir(), "owui-bench-"));
const name = `owui-bench-${process.pid}`;
const volume = `${name}-data`;
const BUCKET = "owui-bench";

const { docker, now, dirBytes, log } = lib;
const py = (code, ...a) => docker("exec", name, "python3", "-c", code, ...a);
const waitHealthy = (container = name) => lib.waitHealthy(container);
// ---- the data set: chats in a WAL webui.db, uploads, a chroma-like vector_db, an Ollama-like blob, odd names
const GENERATE = String.raw`
import os, sqlite3, sys, json, random
mb = int(sys.argv[1]); d = "/app/backend/data"
words = "the quick brown fox jumps over a lazy dog while open webui answers questions about rag".split()
db = sqlite3.connect(f"{d}/webui.db", isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
db.execute("CREATE TABLE IF NOT EXISTS chat (id INTEGER PRIMARY KEY, user_id TEXT, title TEXT, chat TEXT, created_at INTEGER)")
body = lambda: json.dumps({"messages": [{"role": "user", "content": " ".join(random.choices(words, k=200))}] * 4})
row = len(body())
db.execute("BEGIN")
for i in range(mb * 25 // 100 * (1 << 20) // row):
    db.execute("INSERT INTO chat (user_id, title, chat, created_at) VALUES (?, ?, ?, ?)", ("u", f"chat {i}", body(), i))
db.execute("COMMIT")
db.close()
os.makedirs(f"{d}/uploads/Отчёты 2025", exist_ok=True)
for i in range(max(1, mb * 15 // 100 // 4)):
    with open(f"{d}/uploads/Отчёты 2025/doc {i} «scan» #{i}.pdf", "wb") as f:
        f.write(os.urandom(2 << 20)); f.write((" ".join(random.choices(words, k=100)) * 200).encode()[: 2 << 20])
os.makedirs(f"{d}/vector_db/seg-0001", exist_ok=True)
vec = sqlite3.connect(f"{d}/vector_db/chroma.sqlite3")
vec.execute("CREATE TABLE IF NOT EXISTS embeddings (id INTEGER PRIMARY KEY, segment TEXT, vector BLOB)")
vec.executemany("INSERT INTO embeddings (segment, vector) VALUES (?, ?)", [("seg-0001", os.urandom(1536)) for _ in range(mb * 5 // 100 * (1 << 20) // 1536)])
vec.commit(); vec.close()
for name in ["data_level0.bin", "header.bin", "length.bin", "link_lists.bin"]:
    with open(f"{d}/vector_db/seg-0001/{name}", "wb") as f: f.write(os.urandom(max(1, mb * 5 // 100 // 4) << 20))
os.makedirs(f"{d}/models/blobs", exist_ok=True)
with open(f"{d}/models/blobs/sha256-" + "ab" * 32, "wb") as f:
    for _ in range(mb // 2): f.write(os.urandom(1 << 20))
`;

const startProbe = () => lib.startProbe(name);
const longestGap = (a, b) => lib.longestGap(name, a, b);

// ---- the local S3 server (s3rver) and its ceiling
async function startS3() {
  const dir = path.join(work, "s3");
  const child = spawn(process.execPath, ["--openssl-legacy-provider", path.join(root, "test/helpers/s3-server.mjs"), dir, BUCKET], { stdio: ["ignore", "pipe", "inherit"] });
  const line = await new Promise((resolve) => child.stdout.once("data", (d) => resolve(d.toString())));
  const { endpoint } = JSON.parse(line);
  const client = new S3Client({ endpoint, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } });
  return { child, endpoint, client, dir };
}
async function uploadFile(client, key, file) {
  await new Upload({ client, params: { Bucket: BUCKET, Key: key, Body: fs.createReadStream(file) }, partSize: 8 << 20, queueSize: 2 }).done();
}
async function s3Ceiling(client) {
  const mb = 256;
  let sent = 0;
  const body = new Readable({ read() { if (sent >= mb) return this.push(null); sent++; this.push(randomBytes(1 << 20)); } });
  const t = now();
  await new Upload({ client, params: { Bucket: BUCKET, Key: "ceiling", Body: body }, partSize: 8 << 20, queueSize: 2 }).done();
  return mb / (now() - t);
}

const owui = (argv, env) => lib.owui(argv, env, work);

// ---- seed 004's pipeline: stop, sqlite3 .backup, tar czf, start, upload
async function baselineBackup(outDir, s3) {
  const t0 = now();
  await lib.baselineArchive({ container: name, volume, image: IMAGE, outDir });
  startProbe();
  const up = now();
  const file = path.join(outDir, "complete.tar.gz");
  if (s3) await uploadFile(s3.client, `baseline/complete_archive.tar.gz`, file);
  const t1 = now();
  return { wall: t1 - t0, stall: longestGap(t0, t1), bytes: fs.statSync(file).size, uploadS: t1 - up };
}
async function baselineRestore(outDir, s3) {
  const t0 = now();
  const file = path.join(outDir, "complete.tar.gz");
  if (s3) {
    const got = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: "baseline/complete_archive.tar.gz" }));
    await new Promise((resolve, reject) => got.Body.pipe(fs.createWriteStream(file)).on("finish", resolve).on("error", reject));
  }
  await lib.baselineUnpack({ container: name, image: IMAGE, outDir });
  startProbe();
  return { wall: now() - t0 };
}

async function main() {
  if (!fs.existsSync("/usr/bin/time")) throw new Error("GNU time is needed: apt-get install time");
  if (only === "instance") {
    try {
      return await instanceBench({ sizeMb: instanceMb, work });
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  }
  const s3 = withS3 ? await startS3() : undefined;
  try {
    docker("run", "-d", "--name", name, "--network", "none", "-v", `${volume}:/app/backend/data`, "-e", "FIXTURE_WRITE_MS=100", IMAGE);
    await waitHealthy();
    log(`generating ${sizeMb} MB …`);
    py(GENERATE, String(sizeMb));
    log(`data set: ${docker("exec", name, "du", "-sm", "/app/backend/data").split("\t")[0]} MB in /app/backend/data`);
    startProbe();

    const results = { sizeMb, host: { cpus: os.cpus().length, node: process.version }, runs: {} };
    const targets = [{ kind: "local" }, ...(s3 ? [{ kind: "s3" }] : [])];
    for (const target of targets) {
      const store = target.kind === "local" ? path.join(work, "store") : `s3://${BUCKET}/owui`;
      const env = {
        OWUI_BACKUP_CONTAINER: name,
        OWUI_BACKUP_STORE: store,
        OWUI_BACKUP_LOG_DIR: path.join(work, "logs"),
        OWUI_BACKUP_KEEP_LAST: "10",
        ...(target.kind === "s3" ? { OWUI_BACKUP_S3_ENDPOINT: s3.endpoint, AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER" } : {}),
      };
      const stored = () => (target.kind === "local" ? dirBytes(store) : dirBytes(path.join(s3.dir, BUCKET)));
      const outDir = path.join(work, `baseline-${target.kind}`);
      log(`${target.kind}: baseline backup …`);
      const base = await baselineBackup(outDir, target.kind === "s3" ? s3 : undefined);

      log(`${target.kind}: owui-backup backup …`);
      let before = stored();
      let t0 = now();
      const first = owui(["backup"], env);
      const firstStall = longestGap(t0, now());
      const firstBytes = stored() - before;

      py('import sqlite3; db = sqlite3.connect("/app/backend/data/webui.db", timeout=60); db.execute("UPDATE chat SET title = title || \' (edited)\' WHERE id IN (1, 2, 3, 4, 5)"); db.commit()');
      log(`${target.kind}: second backup, five rows changed …`);
      before = stored();
      t0 = now();
      const second = owui(["backup"], env);
      const secondStall = longestGap(t0, now());
      const secondBytes = stored() - before;

      log(`${target.kind}: restores …`);
      const baseRestore = await baselineRestore(outDir, target.kind === "s3" ? s3 : undefined);
      const ours = owui(["restore", "latest", "--yes", "--no-safety-snapshot"], env);
      startProbe();
      // As users run it: verify, safety snapshot of the state being replaced, restore.
      const withSafety = owui(["restore", "latest", "--yes"], env);
      startProbe();

      results.runs[target.kind] = {
        baseline: { backupS: base.wall, stallS: base.stall, bytes: base.bytes, restoreS: baseRestore.wall },
        ours: {
          backupS: first.wall,
          stallS: firstStall,
          bytes: firstBytes,
          rssMb: first.rssMb,
          restoreS: ours.wall,
          restoreRssMb: ours.rssMb,
          restoreWithSafetyS: withSafety.wall,
        },
        second: { backupS: second.wall, stallS: secondStall, bytes: secondBytes, rssMb: second.rssMb },
      };
    }
    if (s3) results.s3CeilingMBps = await s3Ceiling(s3.client);
    if (scale > 1) results.scaled = await scaledRun();
    report(results);
    if (only !== "classic") results.instance = await instanceBench({ sizeMb: instanceMb, work });
    writeResults(results);
  } finally {
    spawnSync("docker", ["rm", "-f", "-v", name], { stdio: "ignore" });
    spawnSync("docker", ["volume", "rm", "-f", volume], { stdio: "ignore" });
    s3?.child.kill();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

// ---- memory at scale× the size: owui-backup alone (backup into a directory, verify, restore), peak RSS of each
async function scaledRun() {
  const big = `${name}-x${scale}`;
  const bigVolume = `${big}-data`;
  const store = path.join(work, `store-x${scale}`);
  try {
    docker("run", "-d", "--name", big, "--network", "none", "-v", `${bigVolume}:/app/backend/data`, "-e", "FIXTURE_WRITE_MS=100", IMAGE);
    await waitHealthy(big);
    log(`generating ${sizeMb * scale} MB for the ${scale}× run …`);
    docker("exec", big, "python3", "-c", GENERATE, String(sizeMb * scale));
    const dataMb = Number(docker("exec", big, "du", "-sm", "/app/backend/data").split("\t")[0]);
    const env = { OWUI_BACKUP_CONTAINER: big, OWUI_BACKUP_STORE: store, OWUI_BACKUP_LOG_DIR: path.join(work, "logs") };
    log(`${scale}×: backup, verify, restore …`);
    const backup = owui(["backup"], env);
    const verify = owui(["verify", "latest"], env);
    const restore = owui(["restore", "latest", "--yes", "--no-safety-snapshot"], env);
    return { scale, dataMb, backup, verify, restore, storedBytes: dirBytes(store) };
  } finally {
    spawnSync("docker", ["rm", "-f", "-v", big], { stdio: "ignore" });
    spawnSync("docker", ["volume", "rm", "-f", bigVolume], { stdio: "ignore" });
  }
}

function report(r) {
  const mb = (b) => (b / 1048576).toFixed(1);
  const ratio = (a, b) => (b > 0 ? (a / b).toFixed(3) : "—");
  const rows = [["", "wall s", "longest write gap s", "MB stored", "peak RSS MB", "ours / baseline (wall)"]];
  for (const [kind, run] of Object.entries(r.runs)) {
    rows.push([`${kind}: baseline backup (stop, tar czf, start${kind === "s3" ? ", upload" : ""})`, run.baseline.backupS.toFixed(1), run.baseline.stallS.toFixed(2), mb(run.baseline.bytes), "", ""]);
    rows.push([`${kind}: owui-backup backup`, run.ours.backupS.toFixed(1), run.ours.stallS.toFixed(2), mb(run.ours.bytes), run.ours.rssMb.toFixed(0), ratio(run.ours.backupS, run.baseline.backupS)]);
    rows.push([`${kind}: second backup, 5 rows changed`, run.second.backupS.toFixed(1), run.second.stallS.toFixed(2), mb(run.second.bytes), run.second.rssMb.toFixed(0), `${ratio(run.second.backupS, run.ours.backupS)} of the first; bytes ${ratio(run.second.bytes, run.ours.bytes)}`]);
    rows.push([`${kind}: baseline restore`, run.baseline.restoreS.toFixed(1), "", "", "", ""]);
    rows.push([`${kind}: owui-backup restore (verify, restore)`, run.ours.restoreS.toFixed(1), "", "", run.ours.restoreRssMb.toFixed(0), ratio(run.ours.restoreS, run.baseline.restoreS)]);
    rows.push([`${kind}: owui-backup restore + safety snapshot`, run.ours.restoreWithSafetyS.toFixed(1), "", "", "", ratio(run.ours.restoreWithSafetyS, run.baseline.restoreS)]);
  }
  lib.printTable(rows);
  if (r.s3CeilingMBps) process.stdout.write(`local S3 server ceiling: ${r.s3CeilingMBps.toFixed(0)} MB/s (256 MB of random bytes, 8 MiB parts × 2)\n`);
  if (r.scaled) {
    const x = r.scaled;
    process.stdout.write(
      `${x.scale}× size (${x.dataMb} MB of data), owui-backup only: backup ${x.backup.wall.toFixed(1)} s / ${x.backup.rssMb.toFixed(0)} MB peak RSS, ` +
        `verify ${x.verify.wall.toFixed(1)} s / ${x.verify.rssMb.toFixed(0)} MB, restore ${x.restore.wall.toFixed(1)} s / ${x.restore.rssMb.toFixed(0)} MB; ` +
        `${mb(x.storedBytes)} MB stored\n`,
    );
  }
}

function writeResults(r) {
  const dir = path.join(root, "bench-results");
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `bench-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  fs.writeFileSync(file, JSON.stringify(r, null, 2) + "\n");
  process.stdout.write(`results: ${path.relative(root, file)}\n`);
}

await main().catch((err) => {
  process.stderr.write(`bench: ${err.message}\n`);
  process.exitCode = 1;
});
