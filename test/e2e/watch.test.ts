import { execFileSync, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { requireDockerOrSkip } from "../docker-available.js";
import { runCli, startCli } from "../helpers/cli.js";
import { docker, NEWER_IMAGE, removeFixture, rerunFixture, startFixture, waitFor, waitHealthy, type Fixture } from "./fixture.js";

/**
 * The watcher against the real engine: it must see a restart through the event stream (the interval is
 * an hour here, so only events can wake it), an env or image change in a container created again under
 * the same name, one backup for a storm of restarts, and a dockerd restart; and never log an env value.
 */
const SECRET = "s3cr3t-value-never-logged-42";
const skip = requireDockerOrSkip();

interface Snap {
  id: string;
  trigger: string;
  reason?: string;
  image: { reference: string };
}

describe.skipIf(skip)("owui-backup watch", () => {
  let fixture: Fixture;
  let watcher: ReturnType<typeof startCli> | undefined;
  const watchArgs = ["watch", "--debounce", "1s", "--min-gap", "0", "--interval", "1h", "--growth", "100000"];

  const snapshots = (): Snap[] => {
    const dir = path.join(fixture.store, "snapshots");
    if (!fs.existsSync(dir)) return [];
    return fs
      .readdirSync(dir)
      .filter((id) => fs.existsSync(path.join(dir, id, "manifest.json")))
      .sort()
      .map((id) => JSON.parse(fs.readFileSync(path.join(dir, id, "manifest.json"), "utf8")) as Snap);
  };
  const stateFile = () => path.join(fixture.store, "state", "watch", `${fixture.name}.json`);
  async function startWatcher(args = watchArgs): Promise<void> {
    watcher = startCli(args, fixture.env);
    // Ready once it has a baseline (first run) or has read the saved one and gone quiet.
    await waitFor("the watcher's baseline", () => fs.existsSync(stateFile()), 30_000);
    await new Promise((r) => setTimeout(r, 1500));
  }
  async function stopWatcher(): Promise<{ code: number | null; ms: number; stderr: string }> {
    if (!watcher) return { code: null, ms: 0, stderr: "" };
    const t0 = Date.now();
    watcher.kill("SIGTERM");
    const result = await watcher.result;
    watcher = undefined;
    return { code: result.code, ms: Date.now() - t0, stderr: result.stderr };
  }
  async function nextSnapshot(count: number, what: string): Promise<Snap> {
    const t0 = Date.now();
    await waitFor(what, () => snapshots().length >= count, 60_000, 200);
    console.log(`${what}: snapshot ${Date.now() - t0} ms after the change`);
    return snapshots()[count - 1]!;
  }

  beforeAll(async () => {
    fixture = await startFixture();
  });
  afterEach(async () => {
    await stopWatcher();
  });
  afterAll(() => {
    if (fixture) removeFixture(fixture);
  });

  test("a docker restart is backed up within seconds, through the event stream", async () => {
    await startWatcher();
    expect(snapshots()).toHaveLength(0);
    docker("restart", "-t", "1", fixture.name);
    const snap = await nextSnapshot(1, "restart");
    expect(snap).toMatchObject({ trigger: "watch", reason: "restart" });
  });

  test("the container created again with a new env: a backup with reason env, and the value in no log line", async () => {
    await startWatcher();
    docker("rm", "-f", fixture.name);
    const withSecret = [...fixture.runArgs.slice(0, -1), "-e", `OWUI_TEST_TOKEN=${SECRET}`, fixture.runArgs.at(-1)!];
    docker("run", "-d", ...withSecret);
    fixture.runArgs = withSecret;
    await waitHealthy(fixture.name);
    const snap = await nextSnapshot(2, "env change");
    expect(snap).toMatchObject({ trigger: "watch", reason: "env" });
    const { stderr } = await stopWatcher();
    const logs = fs.readdirSync(path.join(fixture.store, "logs")).map((f) => fs.readFileSync(path.join(fixture.store, "logs", f), "utf8"));
    expect(logs.join("\n")).toContain("environment changed (values not shown)");
    for (const text of [stderr, fs.readFileSync(stateFile(), "utf8"), ...logs]) expect(text).not.toContain(SECRET);
  });

  test("an image change (an upgrade): a backup, and the last snapshot of the old image pinned until the next image change", async () => {
    await startWatcher();
    const before = snapshots().at(-1)!;
    docker("rm", "-f", fixture.name);
    await rerunFixture(fixture, NEWER_IMAGE);
    fixture.runArgs = [...fixture.runArgs.slice(0, -1), NEWER_IMAGE];
    const snap = await nextSnapshot(3, "image change");
    expect(snap.reason).toMatch(/^image\b/);
    expect(snap.image.reference).toBe(NEWER_IMAGE);

    const list = JSON.parse((await runCli(["list", "--json"], fixture.env)).stdout) as { id: string; pinned: boolean }[];
    expect(list.filter((s) => s.pinned).map((s) => s.id)).toEqual([before.id]);
    expect((await runCli(["list"], fixture.env)).stdout).toMatch(new RegExp(`${before.id}.*watch \\(pinned\\)`));
    // Retention keeps it whatever the rules say.
    expect((await runCli(["prune", "--yes", "--keep-last", "1"], fixture.env)).code).toBe(0);
    expect(snapshots().map((s) => s.id)).toEqual([before.id, snap.id]);
  });

  test("ten restarts in a burst: one backup, by the debounce alone (no window)", async () => {
    const already = snapshots().length;
    await startWatcher(["watch", "--debounce", "4s", "--min-gap", "0", "--interval", "1h", "--growth", "100000"]);
    const t0 = Date.now();
    for (let i = 0; i < 10; i++) docker("restart", "-t", "0", fixture.name);
    console.log(`ten restarts took ${Date.now() - t0} ms`);
    await nextSnapshot(already + 1, "burst");
    expect(snapshots().at(-1)).toMatchObject({ trigger: "watch", reason: "restart" });
    // Long enough for a second look after the storm to have backed up again had it seen another change.
    await new Promise((r) => setTimeout(r, 10_000));
    expect(snapshots()).toHaveLength(already + 1);
  });

  test("while another run holds the lock the watcher waits, then backs up once it is free", async () => {
    await startWatcher();
    const count = snapshots().length;
    // A live holder on this host (this test process) that does not expire soon.
    const lock = path.join(fixture.store, "locks", `${fixture.name}.json`);
    fs.mkdirSync(path.dirname(lock), { recursive: true });
    const holder = { pid: process.pid, host: os.hostname(), since: new Date().toISOString(), command: "restore latest", expiresAt: new Date(Date.now() + 600_000).toISOString() };
    fs.writeFileSync(lock, JSON.stringify(holder));
    docker("restart", "-t", "1", fixture.name);
    await waitFor("the watcher to meet the lock", () => watcher!.stderrSoFar().includes("trying again in"), 30_000);
    expect(snapshots()).toHaveLength(count);
    fs.rmSync(lock);
    const snap = await nextSnapshot(count + 1, "lock released");
    expect(snap).toMatchObject({ trigger: "watch", reason: "restart" });
  });

  test("check: exit 0 without changes, 3 with them (and --json), --backup; reset clears the state", async () => {
    await runCli(["reset"], fixture.env);
    const first = await runCli(["check"], fixture.env);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain("recorded its current state as the baseline");
    expect((await runCli(["check"], fixture.env)).code).toBe(0);

    docker("restart", "-t", "1", fixture.name);
    await waitHealthy(fixture.name);
    const changed = await runCli(["check"], fixture.env);
    expect(changed.code).toBe(3);
    expect(changed.stdout).toMatch(/^restart: restarted at /m);
    const json = await runCli(["check", "--json"], fixture.env);
    expect(json.code).toBe(3);
    expect(JSON.parse(json.stdout)).toMatchObject({ backupNeeded: true, snapshot: null, changes: [{ kind: "restart", critical: true }] });
    // check alone starts no backup and keeps reporting the change.
    const count = snapshots().length;
    expect((await runCli(["check"], fixture.env)).code).toBe(3);
    expect(snapshots()).toHaveLength(count);

    // The backup it found needed was taken and succeeded: exit 0, as for any successful backup.
    const backedUp = await runCli(["check", "--backup"], fixture.env);
    expect(backedUp.code, backedUp.stderr).toBe(0);
    expect(snapshots()).toHaveLength(count + 1);
    expect(snapshots().at(-1)).toMatchObject({ trigger: "watch", reason: "restart" });
    expect((await runCli(["check"], fixture.env)).code).toBe(0);

    const reset = await runCli(["reset"], fixture.env);
    expect(reset.stdout).toContain(`cleared the saved state of ${fixture.name}`);
    expect(fs.existsSync(stateFile())).toBe(false);
    expect((await runCli(["reset"], fixture.env)).stdout).toContain("no saved state");
  });

  test("SIGTERM stops an idle watcher at once, exit 0", async () => {
    await startWatcher();
    const { code, ms, stderr } = await stopWatcher();
    console.log(`watcher stopped ${ms} ms after SIGTERM`);
    expect(code).toBe(0);
    // Idle, it had nothing to undo: it says it stopped, not that it is putting anything back.
    expect(stderr).toMatch(/watcher stopped\n$/);
    expect(stderr).not.toMatch(/cleaning up|put back|undoing/);
    // The bound; stopping takes about 10 ms here.
    expect(ms).toBeLessThan(1000);
  });

  // Restarts the engine under every container: only where that is allowed (CI, or asked for).
  test.runIf(process.env.CI || process.env.OWUI_BACKUP_TEST_RESTART_DOCKERD)("dockerd restarted while watching: the watcher reconnects and sees the next change", async () => {
    await startWatcher();
    const count = snapshots().length;
    restartDockerd();
    // The fixture comes back by its restart policy: the watcher, reconnected, sees that restart.
    await waitHealthy(fixture.name);
    const afterReconnect = await nextSnapshot(count + 1, "change after dockerd restart");
    expect(afterReconnect).toMatchObject({ trigger: "watch", reason: "restart" });
    const { stderr } = await stopWatcher();
    expect(stderr).toContain("reconnected to the Docker event stream");
  });
});

/** Stops dockerd and starts it again with the same command line (as .ci/run started it). */
function restartDockerd(): void {
  const pid = execFileSync("pidof", ["dockerd"], { encoding: "utf8" }).trim().split(/\s+/)[0]!;
  const argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  process.kill(Number(pid), "SIGTERM");
  const deadline = Date.now() + 60_000;
  while (fs.existsSync(`/proc/${pid}`) && Date.now() < deadline) spawnSync("sleep", ["0.2"]);
  const log = fs.openSync("/tmp/owui-test-dockerd.log", "a");
  spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ["ignore", log, log] }).unref();
  while (spawnSync("docker", ["info"], { stdio: "ignore" }).status !== 0 && Date.now() < deadline) spawnSync("sleep", ["0.5"]);
}
