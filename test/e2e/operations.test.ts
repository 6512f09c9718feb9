import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireDockerOrSkip } from "../docker-available.js";
import { lastLine, runCli } from "../helpers/cli.js";
import { docker, inspect, IMAGE, py, removeFixture, startFixture, waitFor, type Fixture } from "./fixture.js";

const BIN = path.resolve("runner/bin/owui-backup.js");
// Mounting a small tmpfs needs root; CI runs as root, so there the test always runs (and fails if it cannot).
const canMount = process.getuid?.() === 0 || Boolean(process.env.CI);

/** Runs the CLI on a pseudo-terminal (util-linux `script`), feeding `input` to it. */
function onTerminal(args: string[], env: Record<string, string>, input: string) {
  const command = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  const result = spawnSync("script", ["-qec", command, "/dev/null"], { input, env: { ...process.env, ...env }, encoding: "utf8", timeout: 120_000 });
  return { code: result.status, output: result.stdout };
}

describe.skipIf(requireDockerOrSkip())("day-to-day operation", () => {
  let fixture: Fixture;
  beforeAll(async () => {
    fixture = await startFixture({ writeMs: 0 });
    py(fixture.name, "import os; open('/app/backend/data/blob','wb').write(os.urandom(64 << 20))");
  });
  afterAll(() => fixture && removeFixture(fixture));

  it("applies retention after each successful backup", async () => {
    const env = { ...fixture.env, OWUI_BACKUP_KEEP_LAST: "2" };
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const result = await runCli(["backup", "--json"], env);
      expect(result.code, result.stderr).toBe(0);
      const summary = JSON.parse(result.stdout) as { id: string; removed: string[] };
      ids.push(summary.id);
      expect(summary.removed).toEqual(i < 2 ? [] : [ids[0]]);
    }
    const list = JSON.parse((await runCli(["list", "--json"], fixture.env)).stdout) as { id: string }[];
    expect(list.map((s) => s.id)).toEqual([ids[2], ids[1]]);
  });

  it("--path restores one path and leaves the others alone; a path the snapshot lacks is a usage error", async () => {
    const key = docker("exec", fixture.name, "cat", "/app/backend/.webui_secret_key");
    expect((await runCli(["backup", "--trigger", "schedule"], fixture.env)).code).toBe(0);
    docker("exec", fixture.name, "sh", "-c", "echo other > /app/backend/.webui_secret_key; echo new > /app/backend/data/new.txt");
    const restore = await runCli(["restore", "latest", "--path", "/app/backend/.webui_secret_key", "--yes", "--no-safety-snapshot"], fixture.env);
    expect(restore.code, restore.stderr).toBe(0);
    expect(docker("exec", fixture.name, "cat", "/app/backend/.webui_secret_key")).toBe(key);
    expect(docker("exec", fixture.name, "cat", "/app/backend/data/new.txt")).toBe("new");
    const wrong = await runCli(["restore", "latest", "--path", "/root/.ollama", "--yes"], fixture.env);
    expect(wrong.code).toBe(2);
    expect(lastLine(wrong.stderr)).toMatch(/has no path \/root\/\.ollama; it has \/app\/backend\/data, \/app\/backend\/static, \/app\/backend\/\.webui_secret_key$/);
  });

  it("without a terminal and without --yes, restore and prune refuse in one line with exit 2 and touch nothing", async () => {
    expect((await runCli(["backup"], fixture.env)).code).toBe(0);
    expect((await runCli(["backup"], fixture.env)).code).toBe(0);
    const startedAt = inspect(fixture.name, "{{.State.StartedAt}}");
    const before = fs.readdirSync(path.join(fixture.store, "snapshots")).sort();
    for (const [args, what] of [
      [["restore", "latest"], "restore replaces the container's data"],
      [["prune", "--keep-last", "1"], "prune deletes snapshots"],
    ] as const) {
      const refused = await runCli([...args], fixture.env);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toBe(`owui-backup: error: ${what} and asks first, but there is no terminal to ask on; add --yes to go ahead without asking\n`);
    }
    expect(inspect(fixture.name, "{{.State.StartedAt}}")).toBe(startedAt);
    expect(fs.readdirSync(path.join(fixture.store, "snapshots")).sort()).toEqual(before);
    // A dry run deletes nothing and needs no consent.
    expect((await runCli(["prune", "--keep-last", "1", "--dry-run"], fixture.env)).code).toBe(0);
  });

  it("on a terminal: shows progress, asks before restoring, and a 'no' changes nothing", async () => {
    const startedAt = inspect(fixture.name, "{{.State.StartedAt}}");
    const backup = onTerminal(["backup"], fixture.env, "");
    expect(backup.code).toBe(0);
    expect(backup.output).toMatch(/app_backend_data {2}\d+(\.\d)? [KMG]?B read {2}\d+(\.\d)? [KMG]?B\/s/);
    const declined = onTerminal(["restore", "latest"], fixture.env, "n\n");
    expect(declined.output).toMatch(/Restore snapshot \d{8}_\d{6} .* into container owui-e2e-\w+, replacing \/app\/backend\/data, .*\? \[y\/N\]/);
    expect(declined.output).toMatch(/restore cancelled; nothing was changed/);
    expect(declined.code).toBe(1);
    expect(inspect(fixture.name, "{{.State.StartedAt}}")).toBe(startedAt);
    const accepted = onTerminal(["restore", "latest", "--no-safety-snapshot"], fixture.env, "y\n");
    expect(accepted.code, accepted.output).toBe(0);
    expect(inspect(fixture.name, "{{.State.StartedAt}}")).not.toBe(startedAt);
  });

  it.skipIf(!canMount)("a store that fills up mid-way: exit 1, container running again, no snapshot, nothing left", async () => {
    const mount = fs.mkdtempSync(path.join(os.tmpdir(), "owui-full-"));
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=8m", "tmpfs", mount]);
    try {
      const env = { ...fixture.env, OWUI_BACKUP_STORE: mount };
      for (const mode of ["stop", "pause", "online"]) {
        const startedAt = inspect(fixture.name, "{{.State.StartedAt}}");
        const result = await runCli(["backup", "--mode", mode], env);
        expect(result.code).toBe(1);
        expect(lastLine(result.stderr)).toMatch(/^owui-backup: error: backing up \/app\/backend\/data: store .* is full \(ENOSPC\): free space there or pick another --store$/);
        expect(inspect(fixture.name, "{{.State.Running}} {{.State.Paused}}")).toBe("true false");
        if (mode !== "stop") expect(inspect(fixture.name, "{{.State.StartedAt}}")).toBe(startedAt);
        expect(JSON.parse((await runCli(["list", "--json"], env)).stdout)).toEqual([]);
        expect(fs.readdirSync(mount).filter((f) => f !== "logs" && f !== "state")).toEqual([]);
      }
    } finally {
      execFileSync("umount", [mount]);
    }
  });
});

describe.skipIf(requireDockerOrSkip())("mode selection", () => {
  let name: string | undefined;
  afterAll(() => name && docker("rm", "-f", "-v", name));

  it("auto falls back to pause when the container has no python3 with sqlite3", async () => {
    name = `owui-e2e-nopy-${process.pid}`;
    // python3 is unreachable through PATH, so `docker exec python3` fails as in an image without it.
    docker("run", "-d", "--name", name, "--network", "none", "-e", "PATH=/nowhere", "-e", "FIXTURE_WRITE_MS=10", "--entrypoint", "/usr/bin/python3", IMAGE, "/app/fixture/app.py");
    await waitFor("the app to create its database", () => docker("exec", name!, "/usr/bin/test", "-s", "/app/backend/data/webui.db") === "", 30_000);
    const store = fs.mkdtempSync(path.join(os.tmpdir(), "owui-nopy-"));
    const result = await runCli(["backup", "--json"], { OWUI_BACKUP_CONTAINER: name, OWUI_BACKUP_STORE: store });
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).consistency).toBe("pause");
    const online = await runCli(["backup", "--mode", "online"], { OWUI_BACKUP_CONTAINER: name, OWUI_BACKUP_STORE: store });
    expect(online.code).toBe(2);
    expect(lastLine(online.stderr)).toMatch(/--mode online needs python3 with its sqlite3 module in the container; use --mode pause/);
    expect(inspect(name, "{{.State.Running}} {{.State.Paused}}")).toBe("true false");
    fs.rmSync(store, { recursive: true, force: true });
  });
});
