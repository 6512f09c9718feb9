import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { gunzipSync, gzipSync } from "node:zlib";
import * as tar from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireDockerOrSkip } from "../docker-available.js";
import { lastLine, runCli, startCli } from "../helpers/cli.js";
import { addBlobs, docker, inspect, NEWER_IMAGE, py, removeFixture, rerunFixture, startFixture, waitFor, type Fixture } from "./fixture.js";

const state = (name: string) => inspect(name, "{{.State.Status}} paused={{.State.Paused}} {{.State.StartedAt}}");
const listIds = async (env: Record<string, string>) => (JSON.parse((await runCli(["list", "--json"], env)).stdout) as { id: string }[]).map((s) => s.id);
const storeFiles = (store: string) =>
  fs.existsSync(path.join(store, "snapshots")) ? fs.readdirSync(path.join(store, "snapshots"), { recursive: true }).map(String) : [];

/** Rewrites a snapshot's archive and fixes its manifest so that only deeper checks can notice. */
async function rewriteArchive(store: string, id: string, archive: string, change: (entries: { header: tar.Header; body: Buffer }[]) => void) {
  const dir = path.join(store, "snapshots", id);
  const extract = tar.extract();
  Readable.from([gunzipSync(fs.readFileSync(path.join(dir, archive)))]).pipe(extract as unknown as NodeJS.WritableStream);
  const entries: { header: tar.Header; body: Buffer }[] = [];
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    entries.push({ header: entry.header, body: Buffer.concat(chunks) });
  }
  change(entries);
  const pack = tar.pack();
  for (const e of entries) pack.entry({ ...e.header, size: e.body.length }, e.body);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as unknown as AsyncIterable<Buffer>) chunks.push(c);
  const gz = gzipSync(Buffer.concat(chunks));
  fs.writeFileSync(path.join(dir, archive), gz);
  const manifestPath = path.join(dir, "manifest.json");
  const manifest = JSON.parse(fs.readFileSync(manifestPath, "utf8"));
  const object = manifest.objects.find((o: { name: string }) => o.name === archive);
  object.size = gz.length;
  object.sha256 = createHash("sha256").update(gz).digest("hex");
  manifest.paths.find((p: { archive?: string }) => p.archive === archive).entries = entries.length;
  fs.writeFileSync(manifestPath, JSON.stringify(manifest));
}

describe.skipIf(requireDockerOrSkip())("a snapshot that is damaged is never restored", () => {
  let fixture: Fixture;
  let id: string;
  beforeAll(async () => {
    fixture = await startFixture({ writeMs: 20 });
    const backup = await runCli(["backup"], fixture.env);
    expect(backup.code, backup.stderr).toBe(0);
    id = lastLine(backup.stdout);
  });
  afterAll(() => fixture && removeFixture(fixture));

  it("one flipped byte: verify exits 1 naming the object, restore refuses and touches nothing", async () => {
    const copy = `${id}`;
    const file = path.join(fixture.store, "snapshots", copy, "paths/app_backend_data.tar.gz");
    const original = fs.readFileSync(file);
    const damaged = Buffer.from(original);
    damaged[Math.floor(damaged.length / 2)]! ^= 0x01;
    fs.writeFileSync(file, damaged);
    try {
      const verify = await runCli(["verify", id], fixture.env);
      expect(verify.code).toBe(1);
      expect(verify.stderr).toMatch(/paths\/app_backend_data\.tar\.gz sha256 mismatch/);
      expect(lastLine(verify.stderr)).toMatch(/^owui-backup: error: 1 of 1 snapshots failed verification: /);
      const before = state(fixture.name);
      const restore = await runCli(["restore", id, "--yes"], fixture.env);
      expect(restore.code).toBe(1);
      expect(lastLine(restore.stderr)).toMatch(/^owui-backup: error: snapshot \d{8}_\d{6} failed verification \(.*\); nothing was changed/);
      expect(state(fixture.name)).toBe(before);
      expect(await listIds(fixture.env)).toEqual([id]);
    } finally {
      fs.writeFileSync(file, original);
    }
    expect((await runCli(["verify", "--all"], fixture.env)).code).toBe(0);
  });

  it("an archive entry escaping its root: verify names it, restore refuses and writes nothing", async () => {
    const backup = await runCli(["backup"], fixture.env);
    const evil = lastLine(backup.stdout);
    await rewriteArchive(fixture.store, evil, "paths/app_backend_data.tar.gz", (entries) => {
      entries.push({ header: { name: "data/../escaped.txt", type: "file", mode: 0o644, mtime: new Date() } as tar.Header, body: Buffer.from("pwned") });
    });
    const verify = await runCli(["verify", evil, "--json"], fixture.env);
    expect(verify.code).toBe(1);
    const [report] = JSON.parse(verify.stdout) as { ok: boolean; problems: string[] }[];
    expect(report!.problems).toEqual([`paths/app_backend_data.tar.gz: archive entry "data/../escaped.txt" escapes the archive root`]);
    const before = state(fixture.name);
    const restore = await runCli(["restore", evil, "--yes"], fixture.env);
    expect(restore.code).toBe(1);
    expect(lastLine(restore.stderr)).toMatch(/escapes the archive root.*nothing was changed/);
    expect(state(fixture.name)).toBe(before);
    expect(docker("exec", fixture.name, "sh", "-c", "ls /app/backend/escaped.txt 2>&1 || true")).toMatch(/No such file/);
  });
});

describe.skipIf(requireDockerOrSkip())("interrupted and concurrent runs", () => {
  let fixture: Fixture;
  beforeAll(async () => {
    fixture = await startFixture({ writeMs: 0 });
    addBlobs(fixture.name, 300);
  });
  afterAll(() => fixture && removeFixture(fixture));

  it.each([
    ["pause", (name: string) => inspect(name, "{{.State.Paused}}") === "true"],
    ["stop", (name: string) => inspect(name, "{{.State.Status}}") === "exited"],
    ["online", (name: string) => docker("exec", name, "sh", "-c", "ls /tmp | grep -c owui-backup- || true") !== "0"],
  ])("SIGTERM during a --mode %s backup: container back as it was, no snapshot listed, nothing left", async (mode, inTheMiddle) => {
    const startedAt = inspect(fixture.name, "{{.State.StartedAt}}");
    const run = startCli(["backup", "--mode", mode], fixture.env);
    await waitFor(`the ${mode} backup to reach its critical section`, () => inTheMiddle(fixture.name), 60_000, 20);
    run.kill("SIGTERM");
    const result = await run.result;
    expect(result.code).toBe(143);
    expect(lastLine(result.stderr)).toBe("owui-backup: error: interrupted by SIGTERM");
    expect(inspect(fixture.name, "{{.State.Running}} {{.State.Paused}}")).toBe("true false");
    if (mode !== "stop") expect(inspect(fixture.name, "{{.State.StartedAt}}")).toBe(startedAt);
    expect(docker("exec", fixture.name, "sh", "-c", "ls /tmp | grep owui-backup- || true")).toBe("");
    expect(await listIds(fixture.env)).toEqual([]);
    expect(storeFiles(fixture.store)).toEqual([]);
    expect(fs.existsSync(path.join(fixture.store, "locks", `${fixture.name}.json`))).toBe(false);
    const status = JSON.parse((await runCli(["status", "--json"], fixture.env)).stdout);
    expect(status.lastFailure.error).toMatch(/abort|interrupt/i);
  });

  it("a second signal does not wait for the run but still unpauses the container before exiting", async () => {
    const run = startCli(["backup", "--mode", "pause"], fixture.env);
    await waitFor("the container to be paused", () => inspect(fixture.name, "{{.State.Paused}}") === "true", 60_000, 20);
    // Both signals arrive together: the process is stopped while they are sent (the same signal twice
    // would merge into one, so the second is SIGINT).
    run.kill("SIGSTOP");
    run.kill("SIGTERM");
    run.kill("SIGINT");
    run.kill("SIGCONT");
    const result = await run.result;
    expect([130, 143]).toContain(result.code);
    expect(result.stderr).toMatch(/SIG(TERM|INT) received again; undoing what the run changed, then exiting/);
    expect(inspect(fixture.name, "{{.State.Running}} {{.State.Paused}}")).toBe("true false");
    expect(await listIds(fixture.env)).toEqual([]);
  });

  it("a second run while one holds the lock fails with who holds it; the first completes", async () => {
    const first = startCli(["backup"], fixture.env);
    const lock = path.join(fixture.store, "locks", `${fixture.name}.json`);
    await waitFor("the first run to take the lock", () => fs.existsSync(lock), 30_000, 10);
    const second = await runCli(["backup"], fixture.env);
    expect(second.code).toBe(1);
    expect(lastLine(second.stderr)).toMatch(
      new RegExp(`^owui-backup: error: container ${fixture.name} is locked by pid ${first.pid} on .* since \\d{4}-\\d\\d-\\d\\dT.*\\(backup --trigger manual\\); wait for it to finish`),
    );
    const done = await first.result;
    expect(done.code, done.stderr).toBe(0);
    expect(await listIds(fixture.env)).toEqual([lastLine(done.stdout)]);
  });
});

describe.skipIf(requireDockerOrSkip())("bad input: one line, the right exit code, nothing changed", () => {
  let fixture: Fixture;
  beforeAll(async () => {
    fixture = await startFixture({
      writeMs: 0,
      env: { OPENAI_API_KEY: "sk-SECRET-VALUE-123", DATABASE_URL: "postgresql://owui:DbPassw0rd@db.internal:5432/owui" },
    });
  });
  afterAll(() => fixture && removeFixture(fixture));

  it.each([
    [["restore", "20000101_000000", "--yes"], 1, /^owui-backup: error: snapshot 20000101_000000 not found in store .*; run `owui-backup list`$/],
    [["restore", "yesterday", "--yes"], 2, /^owui-backup: error: "yesterday" is not a snapshot id \(YYYYMMDD_HHMMSS\) or "latest"$/],
    [["backup", "--container", "no-such-container"], 1, /^owui-backup: error: container no-such-container not found: check `docker ps -a`/],
    [["backup", "--mode", "stop", "--store", "/etc/hostname/store"], 1, /^owui-backup: error: store \/etc\/hostname\/store is not writable \(ENOTDIR\)/],
    [["backup", "--path", "/no/such/path"], 1, /^owui-backup: error: path \/no\/such\/path does not exist in container/],
    [["backup", "--mode", "sideways"], 2, /^owui-backup: error: invalid --mode "sideways"/],
    [["restore", "latest", "--only", "everything"], 2, /^owui-backup: error: invalid --only "everything": expected data or config$/],
    [["verify", "20000101_000000"], 1, /not found/],
    [["backup", "--contianer", "x"], 2, /^owui-backup: error: unknown option '--contianer'; did you mean --container\?$/],
    [["restore"], 2, /^owui-backup: error: missing required argument 'snapshot' \(see owui-backup --help\)$/],
    [["bakup"], 2, /^owui-backup: error: unknown command 'bakup'; did you mean backup\?$/],
  ])("%j → exit %i", async (args, code, message) => {
    const before = state(fixture.name);
    const result = await runCli(args as string[], fixture.env);
    expect(result.code).toBe(code);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr.trim()).toMatch(message as RegExp);
    expect(state(fixture.name)).toBe(before);
  });

  it("a typo'd container leaves no state in the store; every run, failed or not, ends its log with a result line", async () => {
    const store = fs.mkdtempSync(path.join(os.tmpdir(), "owui-typo-"));
    try {
      const env = { ...fixture.env, OWUI_BACKUP_STORE: store };
      const typo = await runCli(["backup", "--container", "open-webiu"], env);
      expect(typo.code).toBe(1);
      // Only the log of the failed run: no state, lock or snapshot for a name the store never knew.
      expect(fs.readdirSync(store)).toEqual(["logs"]);
      const ok = await runCli(["backup"], env);
      expect(ok.code, ok.stderr).toBe(0);
      // Default paths the container lacks (no Ollama here) are not news: debug level only.
      expect(ok.stderr).not.toContain("/root/.ollama");
      expect((await runCli(["backup", "--log-level", "debug"], env)).stderr).toContain("/root/.ollama is not in the container; skipped");
      const [log] = fs.readdirSync(path.join(store, "logs"));
      const records = fs.readFileSync(path.join(store, "logs", log!), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
      const results = records.filter((r) => r.result);
      expect(results.map((r) => [r.command, r.result, r.exitCode])).toEqual([["backup", "failed", 1], ["backup", "ok", 0], ["backup", "ok", 0]]);
      expect(results[0].msg).toMatch(/^backup failed: container open-webiu not found/);
      expect(results[1].durationMs).toBeGreaterThan(0);
      // The result line is for the file: stderr already said it.
      expect(typo.stderr.trim().split("\n")).toHaveLength(1);
      // A known container gone missing is a failure worth recording.
      docker("rename", fixture.name, `${fixture.name}-away`);
      try {
        expect((await runCli(["backup"], env)).code).toBe(1);
      } finally {
        docker("rename", `${fixture.name}-away`, fixture.name);
      }
      const status = await runCli(["status", "--json"], env);
      expect(status.code).toBe(1);
      expect(JSON.parse(status.stdout)).toMatchObject({ healthy: false, problem: "the last run failed", lastFailure: { error: expect.stringMatching(/not found/) } });
    } finally {
      fs.rmSync(store, { recursive: true, force: true });
    }
  });

  it("never writes a secret value to output or logs, and warns once about data outside the container", async () => {
    const outputs: string[] = [];
    const backup = await runCli(["backup", "--log-level", "debug"], fixture.env);
    expect(backup.code, backup.stderr).toBe(0);
    const id = lastLine(backup.stdout);
    outputs.push(backup.stdout, backup.stderr);
    expect(backup.stderr.split("\n").filter((l) => l.includes("outside the container"))).toEqual([
      "warn: data outside the container is not in this snapshot, back it up separately: database postgresql://db.internal:5432/owui (DATABASE_URL)",
    ]);
    for (const args of [["backup", "--json"], ["list"], ["list", "--json"], ["status"], ["verify", "--all", "--json"], ["restore", id, "--yes", "--log-level", "debug"], ["prune", "--yes", "--json"]]) {
      const result = await runCli(args, fixture.env);
      expect(result.code, `${args.join(" ")}: ${result.stderr}`).toBe(0);
      outputs.push(result.stdout, result.stderr);
    }
    const logs = fs.readdirSync(path.join(fixture.store, "logs"));
    expect(logs).toEqual([`backup_${new Date().toISOString().slice(0, 10).replace(/-/g, "")}.log`]);
    const logText = fs.readFileSync(path.join(fixture.store, "logs", logs[0]!), "utf8");
    expect(fs.statSync(path.join(fixture.store, "logs", logs[0]!)).mode & 0o777).toBe(0o600);
    expect(logText.split("\n").filter(Boolean).every((l) => JSON.parse(l).msg !== undefined)).toBe(true);
    for (const text of [...outputs, logText]) {
      expect(text).not.toContain("sk-SECRET-VALUE-123");
      expect(text).not.toContain("DbPassw0rd");
    }
    const manifest = JSON.parse(fs.readFileSync(path.join(fixture.store, "snapshots", id, "manifest.json"), "utf8"));
    expect(manifest.external).toEqual([{ kind: "database", target: "postgresql://db.internal:5432/owui", variable: "DATABASE_URL" }]);
    expect(JSON.stringify(manifest)).not.toContain("SECRET");
  });
});

describe.skipIf(requireDockerOrSkip())("Open WebUI migrations are one-way", () => {
  let fixture: Fixture;
  afterAll(() => fixture && removeFixture(fixture));

  it("refuses a snapshot of a newer Open WebUI than the target image, unless --force", async () => {
    fixture = await startFixture({ writeMs: 0, image: NEWER_IMAGE });
    const backup = await runCli(["backup"], fixture.env);
    expect(backup.code, backup.stderr).toBe(0);
    docker("rm", "-f", fixture.name);
    await rerunFixture(fixture, "owui-backup-test/open-webui:0.6.5");
    const before = state(fixture.name);
    const refused = await runCli(["restore", "latest", "--yes"], fixture.env);
    expect(refused.code).toBe(1);
    expect(lastLine(refused.stderr)).toMatch(/written by Open WebUI 0\.6\.9, newer than the target image's 0\.6\.5; .*pass --force$/);
    expect(state(fixture.name)).toBe(before);
    const forced = await runCli(["restore", "latest", "--yes", "--force"], fixture.env);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr).toMatch(/restoring anyway \(--force\)/);
  });
});
