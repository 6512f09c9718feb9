// The Open WebUI-shaped benchmark (npm run bench runs it after bench.mjs; alone:
// node bench/instance.mjs [MB, default 900] [--journal delete|wal|both, default both]).
//
// A data set shaped like a real instance: webui.db with UUID text keys and chat JSON rewritten in place
// (DELETE journal mode, and WAL as a second case), hundreds of uploads under 256 KiB plus a few large
// ones, a Chroma-like vector store, a model blob. On it, side by side in one run: seed 004's pipeline
// (stop, sqlite3 .backup, tar czf, start), owui-backup into a local directory, and restic (Debian's
// package) on the volume's host directory; restic reads the files as they lie, with no consistent
// database copy and no container to stop. Then a churn between backups (1 % of chats updated, 50 new
// chats, 20 new uploads, one deleted), the restore of the snapshot before the churn into the churned
// container, and a full restore into an empty volume.
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as lib from "./lib.mjs";

const { docker, now, dirBytes, log } = lib;
const IMAGE = "owui-backup-test/open-webui:0.6.5";

const GENERATE = String.raw`
import json, os, random, sqlite3, sys, uuid
f, journal = float(sys.argv[1]), sys.argv[2]
d = "/app/backend/data"
rnd = random.Random(7)
words = ("the quick brown fox jumps over a lazy dog while open webui answers questions about rag retrieval "
         "embeddings vector store model prompt context window token python docker backup restore").split()
def text(n): return " ".join(rnd.choices(words, k=n))
def chat_json(cid, n):
    msgs = []
    parent = None
    for i in range(n):
        mid = str(uuid.UUID(int=rnd.getrandbits(128)))
        msgs.append({"id": mid, "parentId": parent, "role": "user" if i % 2 == 0 else "assistant",
                     "content": text(rnd.randint(40, 300)), "timestamp": 1700000000 + i, "models": ["llama3.1:8b"]})
        parent = mid
    return json.dumps({"id": cid, "title": text(5), "models": ["llama3.1:8b"], "messages": msgs,
                       "history": {"currentId": parent, "messages": {m["id"]: m for m in msgs}}})
db = sqlite3.connect(f"{d}/webui.db", isolation_level=None)
db.execute("PRAGMA journal_mode=" + journal)
db.execute("CREATE TABLE user (id VARCHAR(255) PRIMARY KEY, name TEXT, email TEXT, role TEXT, settings JSON)")
db.execute("CREATE TABLE chat (id VARCHAR(255) NOT NULL PRIMARY KEY, user_id VARCHAR(255), title TEXT, chat JSON,"
           " created_at BIGINT, updated_at BIGINT, share_id VARCHAR(255) UNIQUE, archived BOOLEAN, pinned BOOLEAN, meta JSON DEFAULT '{}', folder_id TEXT)")
db.execute("CREATE INDEX user_id_idx ON chat (user_id)")
db.execute("CREATE INDEX updated_at_idx ON chat (updated_at)")
db.execute("CREATE TABLE file (id VARCHAR(255) PRIMARY KEY, user_id VARCHAR(255), filename TEXT, meta JSON, created_at BIGINT)")
users = [str(uuid.UUID(int=rnd.getrandbits(128))) for _ in range(20)]
db.execute("BEGIN")
for u in users:
    db.execute("INSERT INTO user VALUES (?, ?, ?, 'user', '{}')", (u, text(2), u[:8] + "@example.com"))
for i in range(int(6800 * f)):
    cid = str(uuid.UUID(int=rnd.getrandbits(128)))
    db.execute("INSERT INTO chat (id, user_id, title, chat, created_at, updated_at, archived, pinned) VALUES (?, ?, ?, ?, ?, ?, 0, 0)",
               (cid, rnd.choice(users), text(5), chat_json(cid, rnd.randint(2, 24)), 1700000000 + i, 1700000000 + i))
db.execute("COMMIT")
os.makedirs(f"{d}/uploads", exist_ok=True)
def upload(size):
    fid = str(uuid.UUID(int=rnd.getrandbits(128)))
    pdf = rnd.random() < 0.5
    name = f"{fid}_{text(2).replace(' ', '-')}.{'pdf' if pdf else 'md'}"
    with open(f"{d}/uploads/{name}", "wb") as out:
        out.write(rnd.randbytes(size) if pdf else text(size // 5).encode()[:size])
    db.execute("INSERT INTO file VALUES (?, ?, ?, '{}', 1700000000)", (fid, rnd.choice(users), name))
for i in range(int(300 * f)):
    upload(rnd.randint(100_000, 200_000))
for i in range(3):
    upload(8 << 20)
os.makedirs(f"{d}/vector_db/seg-0001", exist_ok=True)
vec = sqlite3.connect(f"{d}/vector_db/chroma.sqlite3")
vec.execute("CREATE TABLE embeddings (id INTEGER PRIMARY KEY, segment_id TEXT, embedding_id TEXT, seq_id BLOB, created_at TIMESTAMP)")
vec.execute("CREATE TABLE embedding_metadata (id INTEGER, key TEXT, string_value TEXT)")
for i in range(int(60000 * f)):
    vec.execute("INSERT INTO embeddings VALUES (?, 'seg-0001', ?, ?, 0)", (i, str(uuid.UUID(int=rnd.getrandbits(128))), rnd.randbytes(8)))
    vec.execute("INSERT INTO embedding_metadata VALUES (?, 'chroma:document', ?)", (i, text(100)))
vec.commit(); vec.close()
with open(f"{d}/vector_db/seg-0001/data_level0.bin", "wb") as out:
    out.write(rnd.randbytes(int(38 * f) << 20))
os.makedirs(f"{d}/models/blobs", exist_ok=True)
with open(f"{d}/models/blobs/sha256-" + "ab" * 32, "wb") as out:
    for _ in range(int(512 * f)):
        out.write(os.urandom(1 << 20))
db.close()
`;

// 1 % of chats get a new message (rewritten in place), 50 new chats, 20 new uploads, one deleted.
const CHURN = String.raw`
import json, os, random, sqlite3, uuid
d = "/app/backend/data"
rnd = random.Random()
words = "follow up question about the answer above please explain in more detail with an example".split()
db = sqlite3.connect(f"{d}/webui.db", isolation_level=None, timeout=60)
ids = [r[0] for r in db.execute("SELECT id FROM chat")]
db.execute("BEGIN")
for cid in rnd.sample(ids, max(1, len(ids) // 100)):
    chat = json.loads(db.execute("SELECT chat FROM chat WHERE id = ?", (cid,)).fetchone()[0])
    m = {"id": str(uuid.uuid4()), "parentId": chat["history"]["currentId"], "role": "user", "content": " ".join(rnd.choices(words, k=60))}
    chat["messages"].append(m); chat["history"]["messages"][m["id"]] = m; chat["history"]["currentId"] = m["id"]
    db.execute("UPDATE chat SET chat = ?, updated_at = updated_at + 1 WHERE id = ?", (json.dumps(chat), cid))
for i in range(50):
    cid = str(uuid.uuid4())
    body = json.dumps({"id": cid, "messages": [{"role": "user", "content": " ".join(rnd.choices(words, k=200))}] * 6})
    db.execute("INSERT INTO chat (id, user_id, title, chat, created_at, updated_at, archived, pinned) VALUES (?, 'u', 'new', ?, 0, 0, 0, 0)", (cid, body))
for i in range(20):
    fid = str(uuid.uuid4())
    with open(f"{d}/uploads/{fid}_new.pdf", "wb") as out:
        out.write(os.urandom(150_000))
    db.execute("INSERT INTO file VALUES (?, 'u', ?, '{}', 0)", (fid, f"{fid}_new.pdf"))
gone = sorted(n for n in os.listdir(f"{d}/uploads") if not n.endswith("_new.pdf"))[0]
os.remove(f"{d}/uploads/{gone}")
db.execute("DELETE FROM file WHERE filename = ?", (gone,))
db.execute("COMMIT")
`;

/**
 * What the churn costs in new chunk bytes for webui.db at each chunk size (plain bytes of chunks the
 * database after the churn has and the one before has not), plus the index entries (about 150 bytes
 * each, before gzip): what DATABASE_CHUNK_BYTES was chosen by.
 */
function churnBytesByChunkSize(before, after) {
  const a = fs.readFileSync(before);
  const b = fs.readFileSync(after);
  const out = {};
  for (const kib of [16, 32, 64, 128, 256, 1024]) {
    const size = kib * 1024;
    const ids = (buf) => {
      const set = new Set();
      for (let at = 0; at < buf.length; at += size) set.add(createHash("sha256").update(buf.subarray(at, at + size)).digest("hex"));
      return set;
    };
    const old = ids(a);
    let fresh = 0;
    for (let at = 0; at < b.length; at += size) {
      const piece = b.subarray(at, at + size);
      if (!old.has(createHash("sha256").update(piece).digest("hex"))) fresh += piece.length;
    }
    out[kib] = { newBytes: fresh, indexEntries: Math.ceil(b.length / size) };
  }
  return out;
}

/** One case (a journal mode) of the instance benchmark; returns its measurements. */
export async function instanceCase({ sizeMb, journal, work }) {
  const name = `owui-instance-${journal}-${process.pid}`;
  const volume = `${name}-data`;
  const store = path.join(work, `store-${journal}`);
  const repo = path.join(work, `restic-${journal}`);
  const env = { OWUI_BACKUP_CONTAINER: name, OWUI_BACKUP_STORE: store, OWUI_BACKUP_LOG_DIR: path.join(work, "logs"), OWUI_BACKUP_KEEP_LAST: "10" };
  const resticEnv = { ...process.env, RESTIC_PASSWORD: "bench", RESTIC_REPOSITORY: repo, RESTIC_CACHE_DIR: path.join(work, "restic-cache") };
  const restic = (...a) => lib.timed("restic", ["--no-lock", "-q", ...a], { env: resticEnv });
  const owui = (argv) => lib.owui(argv, env, work);
  const r = { journal };
  try {
    docker("run", "-d", "--name", name, "--network", "none", "-v", `${volume}:/app/backend/data`, "-e", "FIXTURE_WRITE_MS=0", IMAGE);
    await lib.waitHealthy(name);
    log(`${journal}: generating about ${sizeMb} MB …`);
    docker("exec", name, "python3", "-c", GENERATE, String(sizeMb / 900), journal);
    const data = docker("volume", "inspect", "-f", "{{.Mountpoint}}", volume);
    r.dataMb = dirBytes(data) / 1048576;
    r.uploads = fs.readdirSync(path.join(data, "uploads")).length;
    log(`${journal}: ${r.dataMb.toFixed(0)} MB, ${r.uploads} uploads`);
    // An instance's files are at rest when its nightly backup runs: a file changed in the last 2 s
    // records no stat (its time could not tell a later change apart) and would be read again next time.
    await new Promise((resolve) => setTimeout(resolve, 2500));

    log(`${journal}: first backups (baseline, owui-backup, restic) …`);
    const outDir = path.join(work, `baseline-${journal}`);
    let t0 = now();
    const baseBytes = await lib.baselineArchive({ container: name, volume, image: IMAGE, outDir });
    r.baseline = { backupS: now() - t0, bytes: baseBytes };
    lib.startProbe(name);
    let before = dirBytes(store);
    t0 = now();
    const first = owui(["backup"]);
    r.first = { s: first.wall, bytes: dirBytes(store) - before, rssMb: first.rssMb, stallS: lib.longestGap(name, t0, now()) };
    lib.stopProbe(name);
    restic("init");
    r.resticFirst = { s: restic("backup", data).wall, bytes: dirBytes(repo) };
    const firstId = JSON.parse(owui(["list", "--json"]).stdout)[0].id;

    // The probe wrote to webui.db during the first backup, so the next one copies it again: one
    // backup to take that in, then the one of an instance where nothing changed (past the 2 s within
    // which a file's times cannot prove it unchanged).
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const settle = owui(["backup"]);
    r.afterProbe = { s: settle.wall };
    await new Promise((resolve) => setTimeout(resolve, 2500));
    log(`${journal}: unchanged re-backups …`);
    before = dirBytes(store);
    const unchanged = owui(["backup"]);
    r.unchanged = { s: unchanged.wall, bytes: dirBytes(store) - before, rssMb: unchanged.rssMb };
    before = dirBytes(repo);
    r.resticUnchanged = { s: restic("backup", data).wall, bytes: dirBytes(repo) - before };

    log(`${journal}: churn, then re-backups …`);
    const dbBefore = path.join(work, "webui-before.db");
    fs.copyFileSync(path.join(data, "webui.db"), dbBefore);
    docker("exec", name, "python3", "-c", CHURN);
    r.chunkSizes = churnBytesByChunkSize(dbBefore, path.join(data, "webui.db"));
    fs.rmSync(dbBefore);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    lib.startProbe(name);
    before = dirBytes(store);
    t0 = now();
    const churn = owui(["backup"]);
    r.churn = { s: churn.wall, bytes: dirBytes(store) - before, rssMb: churn.rssMb, stallS: lib.longestGap(name, t0, now()) };
    lib.stopProbe(name);
    before = dirBytes(repo);
    r.resticChurn = { s: restic("backup", data).wall, bytes: dirBytes(repo) - before };

    log(`${journal}: restores …`);
    t0 = now();
    await lib.baselineUnpack({ container: name, image: IMAGE, outDir });
    r.baseline.restoreS = now() - t0;
    // The container now holds the baseline's state (before the churn); bring the churn back first.
    owui(["restore", "latest", "--yes", "--no-safety-snapshot"]);
    const churnRestore = owui(["restore", firstId, "--yes", "--no-safety-snapshot"]);
    r.churnRestore = { s: churnRestore.wall, rssMb: churnRestore.rssMb };
    docker("run", "--rm", "--network", "none", "-v", `${volume}:/d`, "--entrypoint", "sh", IMAGE, "-c", "find /d -mindepth 1 -delete");
    const full = owui(["restore", "latest", "--yes", "--no-safety-snapshot"]);
    r.fullRestore = { s: full.wall, rssMb: full.rssMb };
    const target = path.join(work, `restic-out-${journal}`);
    r.resticRestore = { s: restic("restore", "latest", "--target", target).wall };
    fs.rmSync(target, { recursive: true, force: true });
    return r;
  } finally {
    lib.stopProbe(name);
    docker("rm", "-f", "-v", name);
    docker("volume", "rm", "-f", volume);
  }
}

/** Both journal modes (or one), printed as a table of ratios, one run. */
export async function instanceBench({ sizeMb = 900, journals = ["delete", "wal"], work }) {
  const results = [];
  for (const journal of journals) results.push(await instanceCase({ sizeMb, journal, work }));
  const mb = (b) => (b / 1048576).toFixed(1);
  const x = (a, b) => (b > 0 ? `${(a / b).toFixed(3)}×` : "—");
  const pct = (a, b) => (b > 0 ? `${((100 * a) / b).toFixed(2)} %` : "—");
  const rows = [["Open WebUI-shaped instance", "owui-backup", "restic 0.14", "seed 004 baseline", "ratios (targets)"]];
  for (const r of results) {
    const j = r.journal.toUpperCase();
    rows.push([`${j}: data`, `${r.dataMb.toFixed(0)} MB, ${r.uploads} uploads`, "", "", ""]);
    rows.push([`${j}: first backup`, `${r.first.s.toFixed(1)} s, ${mb(r.first.bytes)} MB, ${r.first.rssMb.toFixed(0)} MB RSS`, `${r.resticFirst.s.toFixed(1)} s, ${mb(r.resticFirst.bytes)} MB`, `${r.baseline.backupS.toFixed(1)} s, ${mb(r.baseline.bytes)} MB`, `${x(r.first.s, r.baseline.backupS)} baseline (≤ 0.2), ${x(r.first.s, r.resticFirst.s)} restic (≤ 1.2)`]);
    rows.push([`${j}: write stall, first backup`, `${r.first.stallS.toFixed(2)} s`, "", "", ""]);
    rows.push([`${j}: re-backup after the probe's writes (databases copied again)`, `${r.afterProbe.s.toFixed(1)} s`, "", "", ""]);
    rows.push([`${j}: unchanged re-backup`, `${r.unchanged.s.toFixed(1)} s, ${mb(r.unchanged.bytes)} MB`, `${r.resticUnchanged.s.toFixed(1)} s, ${mb(r.resticUnchanged.bytes)} MB`, "", `${x(r.unchanged.s, r.resticUnchanged.s)} restic's time (≤ 1.5), ${pct(r.unchanged.bytes, r.first.bytes)} of the first's bytes (≤ 0.2 %)`]);
    rows.push([`${j}: churn re-backup`, `${r.churn.s.toFixed(1)} s, ${mb(r.churn.bytes)} MB, stall ${r.churn.stallS.toFixed(2)} s`, `${r.resticChurn.s.toFixed(1)} s, ${mb(r.resticChurn.bytes)} MB`, "", `${pct(r.churn.bytes, r.first.bytes)} of the first's bytes (≤ 2 %)`]);
    rows.push([`${j}: restore before-churn snapshot into the churned container`, `${r.churnRestore.s.toFixed(1)} s, ${r.churnRestore.rssMb.toFixed(0)} MB RSS`, "", `${r.baseline.restoreS.toFixed(1)} s`, `${x(r.churnRestore.s, r.baseline.restoreS)} baseline (≤ 0.15)`]);
    rows.push([`${j}: full restore into an empty volume`, `${r.fullRestore.s.toFixed(1)} s, ${r.fullRestore.rssMb.toFixed(0)} MB RSS`, `${r.resticRestore.s.toFixed(1)} s (into a directory)`, `${r.baseline.restoreS.toFixed(1)} s`, `${x(r.fullRestore.s, r.baseline.restoreS)} baseline (≤ 0.5)`]);
  }
  lib.printTable(rows);
  for (const r of results) {
    const sizes = Object.entries(r.chunkSizes).map(([kib, c]) => `${kib} KiB: ${(c.newBytes / 1048576).toFixed(1)} MB new, ${c.indexEntries} index entries`);
    process.stdout.write(`${r.journal.toUpperCase()}: webui.db churn by chunk size — ${sizes.join("; ")}\n`);
  }
  return results;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const sizeMb = Number(args.find((a) => /^\d+$/.test(a)) ?? 900);
  const journal = args.includes("--journal") ? args[args.indexOf("--journal") + 1] : "both";
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "owui-instance-"));
  try {
    const results = await instanceBench({ sizeMb, journals: journal === "both" ? ["delete", "wal"] : [journal], work });
    const dir = path.join(lib.root, "bench-results");
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `instance-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
    fs.writeFileSync(file, JSON.stringify({ sizeMb, host: { cpus: os.cpus().length, node: process.version }, results }, null, 2) + "\n");
    process.stdout.write(`results: ${path.relative(lib.root, file)}\n`);
  } catch (err) {
    process.stderr.write(`bench: ${err.message}\n`);
    process.exitCode = 1;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
