import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { LocalStore } from "../../../runner/src/store/local/local-store.js";
import { jsonBody } from "../../../runner/src/store/store.js";
import { runCli } from "../../helpers/cli.js";
import { writeSyntheticSnapshot } from "../../helpers/synthetic.js";

/** prune and list through the real CLI, on a store of synthetic snapshots (no Docker needed). */
describe("prune and list on synthetic snapshots", () => {
  let dir: string;
  let store: LocalStore;
  const ids = async () => (JSON.parse((await runCli(["list", "--json"], { OWUI_BACKUP_STORE: dir })).stdout) as { id: string }[]).map((s) => s.id);

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "owui-prune-"));
    store = new LocalStore(dir);
    // Daily at 02:00 for 60 days, plus an extra one at 14:00 every 10th day.
    const start = Date.parse("2025-03-01T02:00:00Z");
    for (let day = 0; day < 60; day++) {
      await writeSyntheticSnapshot(store, { createdAt: new Date(start + day * 86400_000).toISOString() });
      if (day % 10 === 0) await writeSyntheticSnapshot(store, { createdAt: new Date(start + day * 86400_000 + 12 * 3600_000).toISOString() });
    }
  });

  it("status exits 0 when healthy and 1, saying why in its first line, when not", async () => {
    const healthy = await runCli(["status"], { OWUI_BACKUP_STORE: dir });
    expect(healthy.code, healthy.stderr).toBe(0);
    expect(healthy.stdout.split("\n")[0]).toBe("health      ok");
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "owui-status-"));
    const none = await runCli(["status"], { OWUI_BACKUP_STORE: empty });
    expect(none.code).toBe(1);
    expect(none.stdout.split("\n")[0]).toBe("health      NOT HEALTHY: no snapshot of open-webui in this store");
    const json = await runCli(["status", "--json"], { OWUI_BACKUP_STORE: empty });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ healthy: false, problem: "no snapshot of open-webui in this store" });
  });

  it("every command's help shows the global options it uses (--store, --container)", async () => {
    for (const command of ["restore", "backup", "list", "verify", "prune", "status", "drill", "copy", "watch", "check"]) {
      const help = await runCli([command, "--help"]);
      expect(help.code, command).toBe(0);
      expect(help.stdout, command).toMatch(/--container <name>/);
      expect(help.stdout, command).toMatch(/--store <dir\|url>/);
    }
  });

  it("lists newest first with the documented JSON fields", async () => {
    const result = await runCli(["list", "--json"], { OWUI_BACKUP_STORE: dir });
    expect(result.code).toBe(0);
    const list = JSON.parse(result.stdout) as Record<string, unknown>[];
    expect(list).toHaveLength(66);
    expect(Object.keys(list[0]!).sort()).toEqual(["container", "createdAt", "drill", "files", "id", "image", "newBytes", "pinned", "reason", "sizeBytes", "trigger"]);
    expect(list[0]!.id).toBe("20250429_020000");
    expect(list.map((s) => s.id)).toEqual([...list.map((s) => s.id as string)].sort().reverse());
  });

  it("keep-last 10 by default, and --dry-run deletes nothing", async () => {
    const dry = await runCli(["prune", "--dry-run", "--json"], { OWUI_BACKUP_STORE: dir });
    expect(dry.code).toBe(0);
    expect((JSON.parse(dry.stdout) as { remove: string[] }).remove).toHaveLength(56);
    expect(await ids()).toHaveLength(66);
    const real = await runCli(["prune", "--yes"], { OWUI_BACKUP_STORE: dir });
    expect(real.code).toBe(0);
    // Each removal said once, on stdout.
    expect(real.stdout.split("\n").filter((l) => l.startsWith("removed "))).toHaveLength(56);
    expect(real.stderr).not.toMatch(/removed/);
    const left = await ids();
    expect(left).toHaveLength(10);
    expect(left[0]).toBe("20250429_020000");
    expect(fs.readdirSync(path.join(dir, "snapshots"))).toHaveLength(10);
  });

  it("keeps daily/weekly/monthly as restic's forget does", async () => {
    const result = await runCli(["prune", "--yes", "--keep-daily", "7", "--keep-weekly", "4", "--keep-monthly", "3", "--json"], { OWUI_BACKUP_STORE: dir });
    expect(result.code).toBe(0);
    const left = await ids();
    // Daily: Apr 23-29. Weekly (ISO weeks 18..15): Apr 29, 27, then Sunday Apr 20 (its 14:00 one, the
    // newest that day) and Apr 13. Monthly: Apr 29 and Mar 31 14:00, and as the data has no third
    // month, the monthly rule still has count left at the oldest snapshot and keeps it (restic too).
    expect(left).toEqual([
      "20250429_020000", "20250428_020000", "20250427_020000", "20250426_020000", "20250425_020000",
      "20250424_020000", "20250423_020000", "20250420_140000", "20250413_020000", "20250331_140000",
      "20250301_020000",
    ]);
    const report = JSON.parse(result.stdout) as { keep: { id: string; reasons: string[] }[] };
    const reasons = (id: string) => report.keep.find((k) => k.id === id)!.reasons;
    expect(reasons("20250429_020000")).toEqual(["daily", "weekly", "monthly"]);
    expect(reasons("20250427_020000")).toEqual(["daily", "weekly"]);
    expect(reasons("20250420_140000")).toEqual(["weekly"]);
    expect(reasons("20250331_140000")).toEqual(["monthly"]);
    expect(reasons("20250301_020000")).toEqual(["monthly"]);
  });

  it("removes incomplete snapshots whose run is gone and keeps those still being written", async () => {
    const dead = spawnSync(process.execPath, ["-e", "0"]).pid as number;
    await store.put("snapshots/20250501_000000/owner.json", jsonBody({ pid: dead, host: os.hostname(), since: new Date().toISOString(), command: "backup" }));
    await store.put("snapshots/20250501_000000/paths/app_backend_data.tar.gz", Buffer.from("partial"));
    await store.put("snapshots/20250502_000000/owner.json", jsonBody({ pid: process.pid, host: os.hostname(), since: new Date().toISOString(), command: "backup" }));
    expect(await ids()).not.toContain("20250501_000000");
    const result = await runCli(["prune", "--yes", "--keep-last", "100", "--json"], { OWUI_BACKUP_STORE: dir });
    expect(JSON.parse(result.stdout)).toMatchObject({ remove: [], incomplete: ["20250501_000000"] });
    expect(fs.existsSync(path.join(dir, "snapshots/20250501_000000"))).toBe(false);
    expect(fs.existsSync(path.join(dir, "snapshots/20250502_000000/owner.json"))).toBe(true);
  });

  it("never deletes a snapshot whose manifest is unreadable; list warns and verify --all fails on it", async () => {
    const dead = spawnSync(process.execPath, ["-e", "0"]).pid as number;
    await store.put("snapshots/20250601_000000/owner.json", jsonBody({ pid: dead, host: os.hostname(), since: "2025-06-01T00:00:00Z", command: "backup" }));
    await store.put("snapshots/20250601_000000/manifest.json", Buffer.from("{ not json"));
    const list = await runCli(["list"], { OWUI_BACKUP_STORE: dir });
    expect(list.stderr).toMatch(/warn: 20250601_000000 is not listed: /);
    const prune = await runCli(["prune", "--yes", "--keep-last", "1", "--json"], { OWUI_BACKUP_STORE: dir });
    expect(JSON.parse(prune.stdout).incomplete).toEqual([]);
    expect(fs.existsSync(path.join(dir, "snapshots/20250601_000000/manifest.json"))).toBe(true);
    const verify = await runCli(["verify", "--all", "--json"], { OWUI_BACKUP_STORE: dir });
    expect(verify.code).toBe(1);
    const reports = JSON.parse(verify.stdout) as { id: string; ok: boolean }[];
    expect(reports.filter((r) => !r.ok).map((r) => r.id)).toEqual(["20250601_000000"]);
  });

  it("refuses a policy that keeps nothing, as a usage error that changes nothing", async () => {
    const result = await runCli(["prune", "--yes", "--keep-last", "0"], { OWUI_BACKUP_STORE: dir });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(/would delete every snapshot/);
    expect(await ids()).toHaveLength(66);
  });

  it("rejects bad flags with exit 2 and one line", async () => {
    const result = await runCli(["prune", "--yes", "--keep-daily", "seven"], { OWUI_BACKUP_STORE: dir });
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe('owui-backup: error: invalid --keep-daily "seven": expected a whole number');
    const unknown = await runCli(["prune", "--yes", "--bogus"], { OWUI_BACKUP_STORE: dir });
    expect(unknown.code).toBe(2);
  });
});

describe("prune, status and verify act on every container in the store unless --container narrows them", () => {
  it("say per container what they kept, removed or found; a container with nothing there is named", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "owui-multi-"));
    const store = new LocalStore(dir);
    for (const container of ["alpha", "beta"]) {
      for (let day = 1; day <= 3; day++) {
        await writeSyntheticSnapshot(store, { createdAt: `2025-06-0${day}T02:00:00Z`, container, id: `2025060${day}_02000${container === "alpha" ? 0 : 1}` });
      }
    }
    const env = { OWUI_BACKUP_STORE: dir };
    // Nothing of the named container: said, nothing deleted.
    const none = await runCli(["prune", "--yes", "--keep-last", "1", "--container", "open-webui"], env);
    expect(none.code, none.stderr).toBe(0);
    expect(none.stderr).toContain(`no snapshots of open-webui in ${dir}; it holds snapshots of alpha, beta (--container picks one)`);
    expect(fs.readdirSync(path.join(dir, "snapshots"))).toHaveLength(6);
    // Without --container: each container by its own policy.
    const all = await runCli(["prune", "--yes", "--keep-last", "1"], env);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout.split("\n").filter((l) => l.endsWith("removed"))).toEqual(["alpha: 1 kept, 2 removed", "beta: 1 kept, 2 removed"]);
    expect(fs.readdirSync(path.join(dir, "snapshots")).sort()).toEqual(["20250603_020000", "20250603_020001"]);
    // status: a block per container; JSON an array when several.
    const status = await runCli(["status", "--json"], env);
    expect(status.code, status.stderr).toBe(0);
    expect((JSON.parse(status.stdout) as { container: string; healthy: boolean }[]).map((s) => [s.container, s.healthy])).toEqual([["alpha", true], ["beta", true]]);
    const narrowed = await runCli(["status", "--json", "--container", "beta"], env);
    expect(JSON.parse(narrowed.stdout)).toMatchObject({ container: "beta", snapshots: 1 });
    // verify: the latest of each.
    const verify = await runCli(["verify", "--json"], env);
    expect(verify.code, verify.stderr).toBe(0);
    expect((JSON.parse(verify.stdout) as { id: string }[]).map((r) => r.id)).toEqual(["20250603_020000", "20250603_020001"]);
    const missing = await runCli(["verify", "--container", "open-webui"], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe(`owui-backup: error: no snapshots of open-webui in ${dir}; it holds snapshots of alpha, beta (--container picks one); nothing to verify`);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
