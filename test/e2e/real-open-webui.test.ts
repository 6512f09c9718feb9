import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { crc32, deflateSync, gunzipSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { ChunkStore, type ChunkRef } from "../../runner/src/chunks/chunk-store.js";
import { LocalStore } from "../../runner/src/store/local/local-store.js";
import { requireDockerOrSkip } from "../docker-available.js";
import { lastLine, runCli, startCli } from "../helpers/cli.js";
import { docker, inspect, waitFor } from "./fixture.js";
import { OpenWebUi } from "./open-webui-api.js";

/**
 * The real Open WebUI (from PyPI, built by test/fixtures/build-open-webui.sh) as the subject: seeded
 * through its own API, backed up while a client keeps writing chats, its volume wiped, restored, and
 * checked through its API alone — users log in with their passwords, a token issued before the backup
 * still works (the secret key came back), chats, files byte for byte, the knowledge base and its query
 * results, a setting and a prompt are all there. In both of SQLite's journal modes.
 */
const VERSION = "0.12.4";
const repo = path.resolve(import.meta.dirname, "../..");

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** A PNG of random pixels (incompressible: well over 256 KiB stays so), made by hand. */
function png(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body) >>> 0, 8 + data.length);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  const rows = Buffer.concat(Array.from({ length: height }, () => Buffer.concat([Buffer.from([0]), randomBytes(width * 3)])));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", header), chunk("IDAT", deflateSync(rows)), chunk("IEND", Buffer.alloc(0))]);
}

/** A minimal PDF with one page of text, padded to `bytes` with a binary comment. */
function pdf(text: string, bytes: number): Buffer {
  const stream = `BT /F1 12 Tf 72 720 Td (${text}) Tj ET`;
  const objects = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
    `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`,
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
  ];
  let body = "%PDF-1.4\n";
  const offsets: number[] = [];
  for (const [i, o] of objects.entries()) {
    offsets.push(body.length);
    body += `${i + 1} 0 obj\n${o}\nendobj\n`;
  }
  const xref = body.length;
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, "0")} 00000 n \n`).join("")}`;
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  const pad = Math.max(0, bytes - body.length - 2);
  return Buffer.concat([Buffer.from(body, "latin1"), Buffer.from("%"), randomBytes(pad).map((b) => (b === 10 || b === 13 ? 32 : b)), Buffer.from("\n")]);
}

interface Seeded {
  users: { email: string; password: string; token: string }[];
  chats: Map<string, { owner: number; title: string; last: string }>;
  files: { id: string; bytes: Buffer; owner: number }[];
  knowledge: string;
  answers: string[];
  prompt: string;
  /** A setting changed from its default. */
  sharing: boolean;
}

const QUERY = "Which city is the capital of Freedonia?";

async function seed(api: OpenWebUi): Promise<Seeded> {
  const users = [
    { email: "ada@example.com", password: "ada-Pass-1", name: "Ada" },
    { email: "bob@example.com", password: "bob-Pass-2", name: "Bob" },
    { email: "cyd@example.com", password: "cyd-Pass-3", name: "Cyd" },
  ];
  const admin = await api.signup(users[0]!.name, users[0]!.email, users[0]!.password);
  for (const u of users.slice(1)) await api.addUser(admin, u);
  const tokens = [admin, ...(await Promise.all(users.slice(1).map((u) => api.signin(u.email, u.password))))];

  const chats = new Map<string, { owner: number; title: string; last: string }>();
  for (let i = 0; i < 200; i++) {
    const owner = i % 3;
    const title = `chat ${i} of ${users[owner]!.name} — ünïcödé ✓`;
    const turns: [string, string][] = Array.from({ length: 2 + (i % 4) }, (_, t) => [`question ${t} in chat ${i}`, `answer ${t}: ${"words ".repeat(20 + i)}`]);
    const { id } = await api.newChat(tokens[owner]!, title, turns);
    chats.set(id, { owner, title, last: turns.at(-1)![1] });
  }

  const files: Seeded["files"] = [];
  const uploads: [string, Buffer, string][] = [
    ["notes.txt", Buffer.from("meeting notes\n".repeat(40)), "text/plain"],
    ["big-notes.txt", Buffer.from(Array.from({ length: 9000 }, (_, i) => `line ${i}: ${randomBytes(12).toString("hex")}`).join("\n")), "text/plain"],
    ["report.pdf", pdf("Quarterly report", 300 * 1024), "application/pdf"],
    ["small.pdf", pdf("One page", 2000), "application/pdf"],
    ["photo.png", png(320, 320), "image/png"],
    ["icon.png", png(16, 16), "image/png"],
  ];
  for (const [i, [name, bytes, type]] of uploads.entries()) {
    const owner = i % 2;
    files.push({ id: (await api.uploadFile(tokens[owner]!, name, bytes, type)).id, bytes, owner });
  }

  // A knowledge base whose documents are embedded into Chroma by the offline model.
  const knowledge = (await api.createKnowledge(admin, "geography")).id;
  const docs: [string, string][] = [
    ["freedonia.txt", "Freedonia is a small country. The capital of Freedonia is Fredville, on the river Fred."],
    ["sylvania.txt", "Sylvania borders Freedonia. Its capital is Sylvan City, known for its forests."],
    ["cooking.txt", "To bake bread, mix flour, water, salt and yeast, then let the dough rise for two hours."],
  ];
  for (const [name, text] of docs) {
    const bytes = Buffer.from(`${text}\n`);
    const { id } = await api.uploadFile(admin, name, bytes, "text/plain", true);
    files.push({ id, bytes, owner: 0 });
    await api.waitProcessed(admin, id);
    await api.addToKnowledge(admin, knowledge, id);
  }
  const answers = await api.queryKnowledge(admin, knowledge, QUERY);

  const config = await api.adminConfig(admin);
  const sharing = !config.ENABLE_COMMUNITY_SHARING;
  await api.setAdminConfig(admin, { ...config, ENABLE_COMMUNITY_SHARING: sharing });
  const prompt = "/summarize-freedonia";
  await api.createPrompt(admin, prompt, "Summarize Freedonia", "Summarize what you know about Freedonia in {{LANGUAGE}}.");
  return { users: users.map((u, i) => ({ ...u, token: tokens[i]! })), chats, files, knowledge, answers, prompt, sharing };
}

/** Creates and updates chats as fast as the server lets it, and keeps the longest wait for one write. */
function liveClient(api: OpenWebUi, token: string) {
  let stop = false;
  let longestMs = 0;
  let writes = 0;
  const ids: string[] = [];
  const done = (async () => {
    while (!stop) {
      const started = Date.now();
      if (ids.length > 0 && writes % 2 === 1) await api.updateChat(token, ids[writes % ids.length]!, `live ${writes}`, [["q", `edited ${writes}`]]);
      else ids.push((await api.newChat(token, `live ${writes}`, [["q", "a"]])).id);
      longestMs = Math.max(longestMs, Date.now() - started);
      writes++;
    }
  })();
  return {
    stop: async () => {
      stop = true;
      await done;
      return { longestMs, writes };
    },
  };
}

/**
 * Deletes `count` rows of `table` from the database inside a stored snapshot and writes the result
 * back as a backup would have: new chunks named by their sha256, the chunk index and the manifest's
 * checksum of it recomputed. Every checksum then agrees; only what the rows say is wrong. Returns
 * what puts the snapshot back as it was.
 */
async function dropRowsInSnapshot(store: string, id: string, table: string, count: number): Promise<() => void> {
  const dir = path.join(store, "snapshots", id);
  const manifestFile = path.join(dir, "manifest.json");
  const original = fs.readFileSync(manifestFile);
  const manifest = JSON.parse(original.toString("utf8"));
  const record = manifest.paths.find((p: { path: string }) => p.path === "/app/backend/data");
  const indexName = record.index as string;
  const originalIndex = fs.readFileSync(path.join(dir, indexName));
  const index = JSON.parse((indexName.endsWith(".gz") ? gunzipSync(originalIndex) : originalIndex).toString("utf8"));
  const file = index.files.find((f: { name: string }) => f.name.endsWith("webui.db"));
  if (!file) throw new Error("the snapshot holds no chunked webui.db");
  const chunkDir = path.join(store, manifest.chunkStore.prefix);
  // Read as any reader does (packed or alone, zstd, gzip or raw), each checked.
  const chunks = new ChunkStore(new LocalStore(store), manifest.chunkStore.prefix);
  const plain = Buffer.concat(await Promise.all(file.chunks.map((c: ChunkRef) => chunks.read(c))));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "owui-damage-"));
  try {
    const db = path.join(work, "webui.db");
    fs.writeFileSync(db, plain);
    execFileSync("python3", ["-c", `import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("pragma journal_mode=delete")
c.execute(f"delete from {sys.argv[2]} where rowid in (select rowid from {sys.argv[2]} limit {int(sys.argv[3])})")
c.commit(); c.close()`, db, table, String(count)]);
    const damaged = fs.readFileSync(db);
    // The archive's placeholder records the size: the damage must keep it (deleted rows free pages, the file stays).
    expect(damaged.length).toBe(file.size);
    file.chunks = [];
    for (let at = 0; at < damaged.length; at += index.chunkSize) {
      const piece = damaged.subarray(at, at + index.chunkSize);
      const sha = createHash("sha256").update(piece).digest("hex");
      fs.mkdirSync(path.join(chunkDir, sha.slice(0, 2)), { recursive: true });
      fs.writeFileSync(path.join(chunkDir, sha.slice(0, 2), sha), piece);
      file.chunks.push({ id: sha, size: piece.length, stored: piece.length, gzip: false });
    }
    delete file.stat;
    delete file.source;
    const indexBytes = indexName.endsWith(".gz") ? gzipSync(JSON.stringify(index)) : Buffer.from(JSON.stringify(index));
    fs.writeFileSync(path.join(dir, indexName), indexBytes);
    const object = manifest.objects.find((o: { name: string }) => o.name === indexName);
    object.size = indexBytes.length;
    object.sha256 = createHash("sha256").update(indexBytes).digest("hex");
    fs.writeFileSync(manifestFile, JSON.stringify(manifest));
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  return () => {
    fs.writeFileSync(path.join(dir, indexName), originalIndex);
    fs.writeFileSync(manifestFile, original);
  };
}

for (const mode of ["WAL", "DELETE"] as const) {
  describe.skipIf(requireDockerOrSkip())(`the real Open WebUI ${VERSION}, SQLite in ${mode} mode`, () => {
    const name = `owui-real-${mode.toLowerCase()}-${process.pid}`;
    const volume = `${name}-data`;
    let store: string;
    let api: OpenWebUi;
    let runArgs: string[];
    let seeded: Seeded;
    let env: Record<string, string>;

    beforeAll(async () => {
      const image = lastLine(execFileSync("bash", [path.join(repo, "test/fixtures/build-open-webui.sh"), VERSION], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }));
      const port = await freePort();
      store = fs.mkdtempSync(path.join(os.tmpdir(), "owui-real-store-"));
      env = { OWUI_BACKUP_CONTAINER: name, OWUI_BACKUP_STORE: store };
      runArgs = ["--name", name, "--network", "host", "-e", "HOST=127.0.0.1", "-e", `PORT=${port}`, "-e", `DATABASE_ENABLE_SQLITE_WAL=${mode === "WAL"}`, "-v", `${volume}:/app/backend/data`, image];
      docker("run", "-d", ...runArgs);
      api = new OpenWebUi(`http://127.0.0.1:${port}`);
      await api.waitHealthy();
      seeded = await seed(api);
    }, 2_400_000);

    afterAll(() => {
      for (const args of [["rm", "-f", "-v", name], ["volume", "rm", "-f", volume]]) {
        try {
          docker(...args);
        } catch {
          /* gone */
        }
      }
      if (store) fs.rmSync(store, { recursive: true, force: true });
    });

    it("the database is in the journal mode configured", () => {
      const journal = docker("exec", name, "python3", "-c", "import sqlite3; print(sqlite3.connect('/app/backend/data/webui.db').execute('pragma journal_mode').fetchone()[0])");
      expect(journal.toUpperCase()).toBe(mode);
    });

    it("backed up under live writes, the volume wiped, restore latest: everything is back, checked through the API", async () => {
      const live = liveClient(api, seeded.users[1]!.token);
      await new Promise((r) => setTimeout(r, 1000));
      const backupStarted = Date.now();
      const backup = await runCli(["backup"], env);
      const backupMs = Date.now() - backupStarted;
      const { longestMs, writes } = await live.stop();
      expect(backup.code, backup.stderr).toBe(0);
      console.log(`${mode}: longest wait of the live client for one write during the backup: ${longestMs} ms (${writes} writes)`);
      const dataBytes = Number(docker("exec", name, "du", "-sb", "/app/backend/data").split(/\s/)[0]);
      const storedBytes = Number(execFileSync("du", ["-sb", store], { encoding: "utf8" }).split(/\s/)[0]);
      console.log(`${mode}: data ${(dataBytes / 1e6).toFixed(1)} MB, backed up in ${(backupMs / 1000).toFixed(1)} s into ${(storedBytes / 1e6).toFixed(1)} MB`);

      // The volume wiped: Open WebUI starts over with an empty database.
      docker("stop", name);
      docker("run", "--rm", "-v", `${volume}:/d`, "--entrypoint", "sh", "owui-backup-test/debian-python:bookworm", "-c", "rm -rf /d/* /d/.[!.]*");
      docker("start", name);
      await api.waitHealthy();
      await expect(api.me(seeded.users[0]!.token)).rejects.toThrow(/HTTP 401/);

      const restoreStarted = Date.now();
      const restore = await runCli(["restore", "latest", "--yes"], env);
      expect(restore.code, restore.stderr).toBe(0);
      await api.waitHealthy();
      console.log(`${mode}: restored and healthy in ${((Date.now() - restoreStarted) / 1000).toFixed(1)} s`);
      await expectEverythingBack(api, seeded);
    });

    it("drill: the latest snapshot boots in a throwaway container with no network and passes every check; nothing of it is left", async () => {
      const drill = await runCli(["drill", "latest", "--json"], env);
      expect(drill.code, drill.stderr).toBe(0);
      const report = JSON.parse(drill.stdout);
      expect(report.ok).toBe(true);
      expect(report.checks.map((c: { check: string }) => c.check)).toEqual(["sqlite integrity", "migrated", "row counts", "uploaded files", "/health"]);
      expect(report.checks.find((c: { check: string }) => c.check === "uploaded files").detail).toMatch(/^(9|1\d) files present with their sizes$/);
      console.log(`${mode}: drill ${(report.durationMs / 1000).toFixed(1)} s: ${report.checks.map((c: { detail: string }) => c.detail).join(" | ")}`);
      // Another test run may be drilling on this engine at the same time: look for this drill's own label value
      // (the snapshot id, which is this store's alone).
      expect(docker("ps", "-aq", "--filter", `label=owui-backup.drill=${report.id}`).trim()).toBe("");
      expect(docker("volume", "ls", "-q", "--filter", `label=owui-backup.drill=${report.id}`).trim()).toBe("");
      // Recorded: status shows it, list marks the snapshot.
      expect(JSON.parse((await runCli(["status", "--json"], env)).stdout).lastDrill).toMatchObject({ id: report.id, ok: true });
      const listed = JSON.parse((await runCli(["list", "--json"], env)).stdout) as { id: string; drill: { ok: boolean } | null }[];
      expect(listed.find((s) => s.id === report.id)?.drill).toMatchObject({ ok: true });
    });

    it("drill: rows missing where no checksum can tell (the recorded counts say more) fails naming the table; SIGTERM mid-drill leaves nothing", async () => {
      const id = lastLine((await runCli(["backup"], env)).stdout);
      const recorded = JSON.parse(fs.readFileSync(path.join(store, "snapshots", id, "manifest.json"), "utf8")).database.rows.chat as number;
      const undo = await dropRowsInSnapshot(store, id, "chat", 7);
      onTestFinished(undo);
      // Nothing a checksum covers is wrong: verify passes.
      const verify = await runCli(["verify", id], env);
      expect(verify.code, verify.stderr).toBe(0);
      const drill = await runCli(["drill", id], env);
      expect(drill.code).toBe(1);
      expect(drill.stdout).toMatch(new RegExp(`FAIL  row counts .*table chat has ${recorded - 7} rows, the snapshot recorded ${recorded}`));
      expect(lastLine(drill.stderr)).toMatch(new RegExp(`^owui-backup: error: drill of ${id} failed: row counts: table chat has`));

      const run = startCli(["drill", id], env);
      await waitFor("the drill container", () => docker("ps", "-aq", "--filter", `label=owui-backup.drill=${id}`).trim() !== "", 120_000, 100);
      run.kill("SIGTERM");
      expect((await run.result).code).toBe(143);
      expect(docker("ps", "-aq", "--filter", `label=owui-backup.drill=${id}`).trim()).toBe("");
      expect(docker("volume", "ls", "-q", "--filter", `label=owui-backup.drill=${id}`).trim()).toBe("");
    });

    it("--recreate after `docker rm -f`: the container comes back from its saved settings, with its data", async () => {
      docker("rm", "-f", name);
      const restore = await runCli(["restore", "latest", "--yes"], env);
      expect(restore.code, restore.stderr).toBe(0);
      expect(inspect(name, "{{.State.Running}}")).toBe("true");
      await api.waitHealthy();
      await expectEverythingBack(api, seeded);
    });
  });
}

async function expectEverythingBack(api: OpenWebUi, seeded: Seeded): Promise<void> {
  // The same users log in with the same passwords, and a token issued before the backup still works.
  for (const u of seeded.users) {
    expect((await api.me(u.token)).email).toBe(u.email);
    expect((await api.me(await api.signin(u.email, u.password))).email).toBe(u.email);
  }
  // Every seeded chat, with its content (the live client's are there or not, as the snapshot caught them).
  for (const [i, u] of seeded.users.entries()) {
    const ids = new Set(await api.chatIds(u.token));
    const mine = [...seeded.chats].filter(([, c]) => c.owner === i);
    expect(mine.filter(([id]) => !ids.has(id)).map(([id]) => id)).toEqual([]);
    for (const [id, c] of mine.slice(0, 10)) {
      const chat = await api.chat(u.token, id);
      expect(chat.title).toBe(c.title);
      expect(chat.chat.messages.at(-1)?.content).toBe(c.last);
    }
  }
  // Files download byte for byte.
  for (const f of seeded.files) expect((await api.fileContent(seeded.users[f.owner]!.token, f.id)).equals(f.bytes), f.id).toBe(true);
  // The knowledge base, and its query returns the same documents.
  const admin = seeded.users[0]!.token;
  expect((await api.knowledge(admin, seeded.knowledge)).name).toBe("geography");
  expect(await api.queryKnowledge(admin, seeded.knowledge, QUERY)).toEqual(seeded.answers);
  expect(seeded.answers[0]).toMatch(/freedonia/);
  // The changed setting and the prompt.
  expect((await api.adminConfig(admin)).ENABLE_COMMUNITY_SHARING).toBe(seeded.sharing);
  expect((await api.prompts(admin)).map((p) => p.command)).toContain(seeded.prompt);
}

const OLD_VERSION = "0.6.5";

/** A real instance on `image` with a fresh volume, on a free loopback port; removed by the returned function. */
async function startReal(image: string, name: string): Promise<{ api: OpenWebUi; remove: () => void }> {
  const port = await freePort();
  docker("run", "-d", "--name", name, "--network", "host", "-e", "HOST=127.0.0.1", "-e", `PORT=${port}`, "-v", `${name}-data:/app/backend/data`, image);
  const api = new OpenWebUi(`http://127.0.0.1:${port}`);
  await api.waitHealthy();
  return {
    api,
    remove: () => {
      for (const args of [["rm", "-f", "-v", name], ["volume", "rm", "-f", `${name}-data`]]) {
        try {
          docker(...args);
        } catch {
          /* gone */
        }
      }
    },
  };
}

const alembicOf = (name: string) =>
  docker("exec", name, "python3", "-c", "import sqlite3; print(sqlite3.connect('/app/backend/data/webui.db').execute('select version_num from alembic_version').fetchone()[0])");

describe.skipIf(requireDockerOrSkip())(`two real Open WebUI versions: ${OLD_VERSION} and ${VERSION}`, () => {
  let newImage: string;
  let oldImage: string;
  let store: string;
  const removals: (() => void)[] = [];
  beforeAll(() => {
    const build = (v: string) => lastLine(execFileSync("bash", [path.join(repo, "test/fixtures/build-open-webui.sh"), v], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }));
    newImage = build(VERSION);
    oldImage = build(OLD_VERSION);
    store = fs.mkdtempSync(path.join(os.tmpdir(), "owui-versions-store-"));
  }, 2_400_000);
  afterAll(() => {
    for (const remove of removals) remove();
    if (store) fs.rmSync(store, { recursive: true, force: true });
  });

  it("the manifest records the database's Alembic revision; an image that does not know it is refused, naming both versions and revisions", async () => {
    const name = `owui-real-new-${process.pid}`;
    const instance = await startReal(newImage, name);
    removals.push(instance.remove);
    const admin = await instance.api.signup("Ada", "ada@example.com", "ada-Pass-1");
    await instance.api.newChat(admin, "a chat", [["q", "a"]]);
    const backup = await runCli(["backup"], { OWUI_BACKUP_CONTAINER: name, OWUI_BACKUP_STORE: store });
    expect(backup.code, backup.stderr).toBe(0);
    const id = lastLine(backup.stdout);
    const manifest = JSON.parse(fs.readFileSync(path.join(store, "snapshots", id, "manifest.json"), "utf8"));
    const revision = alembicOf(name);
    expect(manifest.database).toMatchObject({ path: "/app/backend/data/webui.db", alembicRevision: revision, rows: { user: 1, chat: 1 } });
    expect(manifest.image.openWebuiVersion).toBe(VERSION);

    const oldName = `owui-real-old-${process.pid}`;
    const old = await startReal(oldImage, oldName);
    removals.push(old.remove);
    const oldRevision = alembicOf(oldName);
    expect(oldRevision).not.toBe(revision);
    const startedAt = inspect(oldName, "{{.State.StartedAt}}");
    const refused = await runCli(["restore", id, "--yes", "--container", oldName], { OWUI_BACKUP_STORE: store });
    expect(refused.code).toBe(1);
    expect(lastLine(refused.stderr)).toBe(
      `owui-backup: error: snapshot ${id} holds a database at Alembic revision ${revision} (Open WebUI ${VERSION}), which the target image ` +
        `(Open WebUI ${OLD_VERSION}, revision ${oldRevision}) does not know; its migrations are one-way: restore into an image of that version or newer, or pass --force`,
    );
    expect(inspect(oldName, "{{.State.Status}} {{.State.StartedAt}}")).toBe(`running ${startedAt}`);
  });

  it(`an upgrade: a snapshot of ${OLD_VERSION} restores into ${VERSION}, which migrates it forward; users and chats are there`, async () => {
    const oldName = `owui-real-up-old-${process.pid}`;
    const old = await startReal(oldImage, oldName);
    removals.push(old.remove);
    const admin = await old.api.signup("Ada", "ada@example.com", "ada-Pass-1");
    const chats = await Promise.all([1, 2, 3].map((i) => old.api.newChat(admin, `old chat ${i}`, [["q", `answer ${i}`]])));
    const backup = await runCli(["backup"], { OWUI_BACKUP_CONTAINER: oldName, OWUI_BACKUP_STORE: store });
    expect(backup.code, backup.stderr).toBe(0);
    const id = lastLine(backup.stdout);

    const newName = `owui-real-up-new-${process.pid}`;
    const fresh = await startReal(newImage, newName);
    removals.push(fresh.remove);
    const head = alembicOf(newName);
    const restore = await runCli(["restore", id, "--yes", "--container", newName, "--no-safety-snapshot"], { OWUI_BACKUP_STORE: store });
    expect(restore.code, restore.stderr).toBe(0);
    await fresh.api.waitHealthy();
    // Migrated forward at start, to the new image's head.
    expect(alembicOf(newName)).toBe(head);
    const token = await fresh.api.signin("ada@example.com", "ada-Pass-1");
    const ids = new Set(await fresh.api.chatIds(token));
    for (const c of chats) expect(ids.has(c.id)).toBe(true);
  });
});
