import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { skipWithout } from "../helpers/tools.js";
import { requireDockerOrSkip } from "../docker-available.js";
import { lastLine, runCli, startCli } from "../helpers/cli.js";
import { addBlobs, docker, inspect, py, removeFixture, startFixture, tree, type Fixture } from "./fixture.js";

/** Findings of the fault matrix (issue 12): damaged chunks, system paths, unreadable manifests, kernel filesystems, full stores, empty flags. */
const state = (name: string) => inspect(name, "{{.State.Status}} paused={{.State.Paused}} {{.State.StartedAt}}");
const tempFiles = (dir: string) => (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => path.basename(f).startsWith(".tmp-"));

describe.skipIf(requireDockerOrSkip())("hardening: what the fault matrix found", () => {
  let fixture: Fixture;
  beforeAll(async () => {
    fixture = await startFixture({ writeMs: 0 });
    addBlobs(fixture.name, 8);
  });
  afterAll(() => fixture && removeFixture(fixture));

  it("a chunk damaged in the store is written again by the next backup, whose snapshot then verifies", async () => {
    const first = await runCli(["backup"], fixture.env);
    expect(first.code, first.stderr).toBe(0);
    const chunkDir = path.join(fixture.store, "chunks", fixture.name);
    // The largest pack holds webui.db's 64 KiB chunks (its 8 MiB of blobs); a byte in its middle is
    // inside a chunk of blob data that a new row does not change.
    const chunk = (fs.readdirSync(chunkDir, { recursive: true }) as string[])
      .map((f) => path.join(chunkDir, f))
      .filter((f) => f.endsWith(".pack"))
      .sort((a, b) => fs.statSync(b).size - fs.statSync(a).size)[0]!;
    const bytes = fs.readFileSync(chunk);
    bytes[bytes.length >> 1]! ^= 0x01;
    fs.writeFileSync(chunk, bytes);
    // A changed database is copied and read again, whatever the clock says about the first backup.
    py(fixture.name, `import sqlite3; db = sqlite3.connect("/app/backend/data/webui.db"); db.execute("INSERT INTO blobs (data) VALUES (x'00')"); db.commit()`);
    const second = await runCli(["backup"], fixture.env);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/chunk chunks\/.* in the store is damaged \(its content is not what its name says \(corrupted\)\); writing it again/);
    const verify = await runCli(["verify", "--all"], fixture.env);
    expect(verify.code, verify.stderr + verify.stdout).toBe(0);
  });

  it("--path with a system directory is refused at backup, and a snapshot holding one is refused at restore", async () => {
    for (const p of ["/etc", "/", "/usr", "/proc/1", "/app/backend/", "/etc/cron.d", "/usr/local/bin", "/root", "/app/backend/open_webui"]) {
      const result = await runCli(["backup", "--path", p], fixture.env);
      expect(result.code, p).toBe(2);
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
      expect(result.stderr).toMatch(/^owui-backup: error: invalid --path ".*": .* (operating system|holds software|kernel filesystem)/);
    }
    const backup = await runCli(["backup"], fixture.env);
    const id = lastLine(backup.stdout);
    // A snapshot from before the rule, holding /etc (as an archive of another path would be listed).
    const manifestFile = path.join(fixture.store, "snapshots", id, "manifest.json");
    const manifest = JSON.parse(fs.readFileSync(manifestFile, "utf8"));
    manifest.paths.find((p: { path: string }) => p.path === "/app/backend/static").path = "/etc";
    fs.writeFileSync(manifestFile, JSON.stringify(manifest));
    const before = state(fixture.name);
    for (const args of [["restore", id, "--yes"], ["restore", id, "--yes", "--path", "/etc"]]) {
      const result = await runCli(args, fixture.env);
      expect(result.code).toBe(2);
      expect(lastLine(result.stderr)).toMatch(new RegExp(`^owui-backup: error: snapshot ${id} holds /etc, which is not restored: /etc is part of the container's operating system`));
      expect(state(fixture.name)).toBe(before);
    }
    // Paths a manifest may name are Open WebUI's, the configured ones and the one named, never nested.
    for (const [renamed, extraArgs, env, problem] of [
      ["/srv/extra", [], {}, /holds \/srv\/extra, which is not one of Open WebUI's paths: restore it with --path \/srv\/extra/],
      ["/app/backend/data/x", ["--path", "/app/backend/data/x"], {}, null],
      ["/app/backend/data/x", [], { OWUI_BACKUP_PATHS: "/app/backend/data,/app/backend/data/x" }, /holds \/app\/backend\/data\/x inside \/app\/backend\/data/],
    ] as [string, string[], Record<string, string>, RegExp | null][]) {
      manifest.paths.find((p: { archive?: string }) => p.archive === "paths/app_backend_static.tar.gz").path = renamed;
      fs.writeFileSync(manifestFile, JSON.stringify(manifest));
      const result = await runCli(["restore", id, "--yes", ...extraArgs], { ...fixture.env, ...env });
      if (problem) {
        expect(result.code, result.stderr).toBe(2);
        expect(lastLine(result.stderr)).toMatch(problem);
      } else {
        // Named on purpose: it gets as far as verification (the archive's root does not match the renamed path).
        expect(lastLine(result.stderr)).toMatch(/failed verification/);
      }
      expect(state(fixture.name)).toBe(before);
    }
    fs.rmSync(path.join(fixture.store, "snapshots", id), { recursive: true });
    const clean = lastLine((await runCli(["backup"], fixture.env)).stdout);
    const dataOnly = await runCli(["restore", clean, "--yes", "--path", "/app/backend/data", "--json"], fixture.env);
    expect(dataOnly.code, dataOnly.stderr).toBe(0);
    // The safety snapshot holds exactly what the restore changed.
    const safety = JSON.parse(dataOnly.stdout).safetySnapshot as string;
    const safetyManifest = JSON.parse(fs.readFileSync(path.join(fixture.store, "snapshots", safety, "manifest.json"), "utf8"));
    expect(safetyManifest.paths.filter((p: { present: boolean }) => p.present).map((p: { path: string }) => p.path)).toEqual(["/app/backend/data"]);
  });

  it("restore latest refuses when the newest manifest cannot be read, naming it; the older one is restored by its id", async () => {
    const older = lastLine((await runCli(["backup"], fixture.env)).stdout);
    await new Promise((r) => setTimeout(r, 1100));
    const newest = lastLine((await runCli(["backup"], fixture.env)).stdout);
    const manifestFile = path.join(fixture.store, "snapshots", newest, "manifest.json");
    const good = fs.readFileSync(manifestFile);
    fs.writeFileSync(manifestFile, "{ not json");
    try {
      const before = state(fixture.name);
      const refused = await runCli(["restore", "latest", "--yes"], fixture.env);
      expect(refused.code).toBe(1);
      expect(lastLine(refused.stderr)).toMatch(
        new RegExp(`^owui-backup: error: snapshot ${newest} may be the latest, but its manifest cannot be read \\(.*\\); run \`owui-backup verify ${newest}\`, or restore an older snapshot by its id`),
      );
      expect(state(fixture.name)).toBe(before);
      const byId = await runCli(["restore", older, "--yes", "--no-safety-snapshot"], fixture.env);
      expect(byId.code, byId.stderr).toBe(0);
    } finally {
      fs.writeFileSync(manifestFile, good);
    }
  });

  it("a store, log or state directory in a kernel filesystem is refused at once (it used to spin forever)", async () => {
    for (const [args, env] of [
      [["list", "--store", "/proc/self"], {}],
      [["backup", "--store", "/proc/self/x"], {}],
      [["list"], { OWUI_BACKUP_LOG_DIR: "/proc/x" }],
      [["backup"], { OWUI_BACKUP_LOG_DIR: "/proc/x" }],
      [["backup", "--copy-to", "/sys/x"], {}],
      [["check"], { OWUI_BACKUP_STATE_DIR: "/proc/x" }],
    ] as [string[], Record<string, string>][]) {
      const run = startCli(args, { ...fixture.env, ...env });
      const timer = setTimeout(() => run.kill("SIGKILL"), 20_000);
      const result = await run.result;
      clearTimeout(timer);
      expect(result.code, `${args.join(" ")} ${JSON.stringify(env)}: ${result.stderr}`).toBe(2);
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
      expect(result.stderr).toMatch(/is in a kernel filesystem \(\/(proc|sys)\), where nothing can be stored; pick another directory/);
    }
  });

  it.skipIf(skipWithout([], { root: true }))("a user without the docker group, or without access to the store: one line that says what to do", () => {
    // Run as nobody: no docker group, and the store below is root's and private.
    const bin = path.join(import.meta.dirname, "../../runner/bin/owui-backup.js");
    // This node may live where nobody cannot reach (a Node under /root/.cache): a copy nobody can run.
    const nodeDir = fs.mkdtempSync(path.join(os.tmpdir(), "owui-node-"));
    fs.chmodSync(nodeDir, 0o755);
    const node = path.join(nodeDir, "node");
    fs.copyFileSync(process.execPath, node);
    fs.chmodSync(node, 0o755);
    const asNobody = (args: string[], env: Record<string, string>, gid = 65534) =>
      spawnSync(node, [bin, ...args], { uid: 65534, gid, encoding: "utf8", env: { PATH: process.env.PATH ?? "", HOME: "/tmp", ...env } });
    // The engine's socket group: with it, only the store is out of reach.
    const dockerGid = fs.statSync("/var/run/docker.sock").gid;
    const open = fs.mkdtempSync(path.join(os.tmpdir(), "owui-nobody-"));
    fs.chmodSync(open, 0o777);
    const engine = asNobody(["backup", "--container", fixture.name], { OWUI_BACKUP_STORE: path.join(open, "store") });
    expect(engine.status, `${engine.error ?? ""} ${engine.stderr}`).toBe(1);
    expect(engine.stderr.trim().split("\n")).toHaveLength(1);
    expect(engine.stderr.trim()).toMatch(/^owui-backup: error: no permission to use the Docker socket \/var\/run\/docker\.sock \(EACCES\): run as root, or add this user to the docker group/);
    const before = state(fixture.name);
    for (const args of [["list"], ["status"], ["verify", "--all"], ["restore", "latest", "--yes"], ["prune", "--yes"], ["copy", "--all", "--to", path.join(open, "copy")]]) {
      const result = asNobody(args, { OWUI_BACKUP_STORE: fixture.store, OWUI_BACKUP_LOG_DIR: path.join(open, "logs") }, dockerGid);
      expect(result.status, args.join(" ")).toBe(1);
      expect(result.stderr.trim().split("\n"), `${args.join(" ")}: ${result.stderr}`).toHaveLength(1);
      expect(result.stderr.trim()).toBe(`owui-backup: error: store ${fixture.store} is not readable (EACCES): run as the user who owns it (see ls -ld ${fixture.store}) or fix its permissions`);
    }
    expect(state(fixture.name)).toBe(before);
    fs.rmSync(open, { recursive: true, force: true });
    fs.rmSync(nodeDir, { recursive: true, force: true });
  });

  it("empty --container and --store are usage errors, not the defaults", async () => {
    for (const args of [["backup", "--container", ""], ["list", "--store", ""], ["restore", "latest", "--container", " ", "--yes"]]) {
      const result = await runCli(args, fixture.env);
      expect(result.code, args.join(" ")).toBe(2);
      expect(result.stderr.trim()).toMatch(/^owui-backup: error: --(container|store) is empty: give a value, or leave the flag out for the default$/);
    }
  });

  it.skipIf(skipWithout(["mount", "dd"], { root: true }))("a store already 100% full: one line saying so, nothing left behind, for backups, copies and --copy-to", async () => {
    const mount = fs.mkdtempSync(path.join(os.tmpdir(), "owui-full-"));
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mount]);
    try {
      try {
        execFileSync("dd", ["if=/dev/zero", `of=${path.join(mount, "filler")}`, "bs=4k"], { stdio: "ignore" });
      } catch {
        /* dd stops with ENOSPC: the disk is full */
      }
      const before = state(fixture.name);
      const full = (text: string) => expect(text).toMatch(new RegExp(`store ${mount} is full \\(ENOSPC\\): free space there or pick another --store`));
      const backup = await runCli(["backup"], { ...fixture.env, OWUI_BACKUP_STORE: mount, OWUI_BACKUP_LOG_DIR: fixture.store });
      expect(backup.code).toBe(1);
      full(lastLine(backup.stderr));
      expect(state(fixture.name)).toBe(before);
      const copy = await runCli(["copy", "latest", "--to", mount], fixture.env);
      expect(copy.code).toBe(1);
      full(lastLine(copy.stderr));
      const withCopy = await runCli(["backup", "--copy-to", mount], fixture.env);
      expect(withCopy.code).toBe(1);
      full(lastLine(withCopy.stderr));
      expect(fs.readdirSync(mount).filter((f) => f !== "filler")).toEqual([]);
      expect(tempFiles(mount)).toEqual([]);
    } finally {
      execFileSync("umount", [mount]);
    }
    expect(tree(fixture.name, "/app/backend/data")).toBeDefined();
    expect(docker("exec", fixture.name, "true")).toBe("");
  });
});
