import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireDockerOrSkip } from "../docker-available.js";
import { lastLine, runCli, startCli } from "../helpers/cli.js";
import { addBlobs, docker, inspect, py, removeFixture, startFixture, waitFor, type Fixture } from "./fixture.js";

/**
 * Runs killed outright (SIGKILL: no cleanup at all) and interrupted (SIGINT/SIGTERM) at each step:
 * what they leave is found and set right by the next run, `status` and the watcher, and a half-done
 * restore is never backed up as if it were data.
 */
const stagingDirs = (name: string) => docker("exec", name, "sh", "-c", "ls -d /tmp/owui-backup-* 2>/dev/null || true").split("\n").filter(Boolean);
const verifyDirs = () => fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith("owui-verify-"));
/** What the store records as begun and not finished: state/<name>.pending.json. */
const runState = (store: string, name: string) => {
  const file = path.join(store, "state", `${name}.pending.json`);
  return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : {};
};
const lockFile = (f: Fixture) => path.join(f.store, "locks", `${f.name}.json`);
const paused = (f: Fixture) => inspect(f.name, "{{.State.Paused}}") === "true";

/**
 * Kills (SIGKILL) a --mode pause backup while it holds the container paused; returns its pid. The
 * pause lasts only while the database is read, so when the run had already unpaused by the time the
 * kill landed, what it left is cleared (any command does that) and another run is tried. (Freezing
 * the run with SIGSTOP first would not do: the engine holds the container's lock while the frozen run's
 * archive read is open, and every inspect waits for it.)
 */
async function killWhilePaused(f: Fixture): Promise<number> {
  for (let attempt = 0; attempt < 8; attempt++) {
    const run = startCli(["backup", "--mode", "pause"], f.env);
    await waitFor("the container to be paused", () => paused(f), 60_000, 2);
    run.kill("SIGKILL");
    await run.result;
    if (paused(f)) return run.pid!;
    await runCli(["list"], f.env);
  }
  throw new Error("could not kill a backup while it held the container paused");
}

describe.skipIf(requireDockerOrSkip())("runs killed outright leave nothing that the next run does not set right", () => {
  let fixture: Fixture;
  beforeAll(async () => {
    fixture = await startFixture({ writeMs: 0 });
    addBlobs(fixture.name, 200);
  });
  afterAll(() => fixture && removeFixture(fixture));

  it("SIGKILL while --mode pause holds the container paused: the next command unpauses it and says so", async () => {
    const pid = await killWhilePaused(fixture);
    expect(runState(fixture.store, fixture.name).held).toMatchObject({ action: "paused", by: { pid } });

    const status = await runCli(["status", "--json"], fixture.env);
    const report = JSON.parse(status.stdout);
    // status exits 1 when not healthy (here: no snapshot yet); the put-back is the point.
    expect(status.code, status.stderr).toBe(report.healthy ? 0 : 1);
    expect(report.putBack).toMatch(new RegExp(`^${fixture.name} was left paused by pid ${pid} on .* \\(backup --trigger manual\\) at .*, which ended without putting it back; unpaused it$`));
    expect(status.stderr).toContain(report.putBack);
    expect(inspect(fixture.name, "{{.State.Running}} {{.State.Paused}}")).toBe("true false");
    expect(runState(fixture.store, fixture.name).held).toBeUndefined();

    // And the next backup is a real one, not an "offline" copy of a frozen container.
    const backup = await runCli(["backup", "--json"], fixture.env);
    expect(backup.code, backup.stderr).toBe(0);
    expect(JSON.parse(backup.stdout).consistency).toBe("online");
  });

  it("SIGKILL while --mode stop holds the container stopped: the next backup starts it first, then backs up online", async () => {
    const run = startCli(["backup", "--mode", "stop"], fixture.env);
    await waitFor("the container to be stopped", () => inspect(fixture.name, "{{.State.Status}}") === "exited", 60_000, 20);
    run.kill("SIGKILL");
    await run.result;
    expect(inspect(fixture.name, "{{.State.Status}}")).toBe("exited");
    const backup = await runCli(["backup", "--json"], fixture.env);
    expect(backup.code, backup.stderr).toBe(0);
    expect(backup.stderr).toMatch(new RegExp(`was left stopped by pid ${run.pid} .*; started it`));
    expect(JSON.parse(backup.stdout).consistency).toBe("online");
    expect(inspect(fixture.name, "{{.State.Running}}")).toBe("true");
  });

  it("the watcher unpauses a container within seconds of the run that paused it being killed", async () => {
    const watcher = startCli(["watch", "--interval", "1h", "--debounce", "1s"], fixture.env);
    try {
      await waitFor("the watcher to start", () => watcher.stderrSoFar().includes("baseline") || watcher.stderrSoFar().includes("watching"), 30_000, 50);
      const pid = await killWhilePaused(fixture);
      const killedAt = Date.now();
      await waitFor("the watcher to unpause it", () => inspect(fixture.name, "{{.State.Paused}}") === "false", 20_000, 100);
      console.log(`watcher put the container back ${Date.now() - killedAt} ms after the kill`);
      // The watcher says so right after the unpause; give its stderr a moment to arrive.
      const said = new RegExp(`left paused by pid ${pid} .*; unpaused it`);
      await waitFor("the watcher to say it unpaused it", () => said.test(watcher.stderrSoFar()), 5_000, 50);
    } finally {
      watcher.kill("SIGTERM");
      await watcher.result;
    }
  });

  it("SIGKILL during an online backup leaves staged database copies in the container; the next run removes them", async () => {
    const run = startCli(["backup"], fixture.env);
    await waitFor("the database copy to be staged", () => stagingDirs(fixture.name).length > 0, 60_000, 20);
    run.kill("SIGKILL");
    await run.result;
    expect(stagingDirs(fixture.name).length).toBeGreaterThan(0);
    const backup = await runCli(["backup"], fixture.env);
    expect(backup.code, backup.stderr).toBe(0);
    expect(stagingDirs(fixture.name)).toEqual([]);
  });

  it("SIGKILL while a restore writes data: backups refuse with the way out, status says so, the container stays stopped; restoring again ends it", async () => {
    const base = lastLine((await runCli(["backup"], fixture.env)).stdout);
    const run = startCli(["restore", base, "--yes"], fixture.env);
    await waitFor("the restore to write data", () => /stopping /.test(run.stderrSoFar()) && inspect(fixture.name, "{{.State.Status}}") === "exited", 120_000, 20);
    await new Promise((r) => setTimeout(r, 300));
    run.kill("SIGKILL");
    const killed = await run.result;
    const safety = /safety snapshot (\d{8}_\d{6}) written/.exec(killed.stderr)?.[1];
    expect(safety).toBeDefined();

    const backup = await runCli(["backup"], fixture.env);
    expect(backup.code).toBe(1);
    expect(lastLine(backup.stderr)).toMatch(
      new RegExp(
        `^owui-backup: error: not backing up ${fixture.name}: a restore of ${base} was interrupted at .* and the container holds half-restored data: ` +
          `run \`owui-backup restore ${base}\` again, or \`owui-backup restore ${safety}\` for the state from before it$`,
      ),
    );
    expect(backup.stderr).toMatch(/it stays stopped: .* was being restored into it/);
    expect(inspect(fixture.name, "{{.State.Status}}")).toBe("exited");
    const status = JSON.parse((await runCli(["status", "--json"], fixture.env)).stdout);
    expect(status.restoreInterrupted).toMatchObject({ id: base, safety, paths: ["/app/backend/data", "/app/backend/static", "/app/backend/.webui_secret_key"] });
    expect(status.restoreRunning).toBeNull();

    // A partial restore cannot end it: the other paths would stay half-restored.
    const partial = await runCli(["restore", base, "--yes", "--path", "/app/backend/data"], fixture.env);
    expect(partial.code).toBe(2);
    expect(lastLine(partial.stderr)).toMatch(/this restore would leave \/app\/backend\/static, \/app\/backend\/.webui_secret_key half-restored: restore every path/);
    const configOnly = await runCli(["restore", base, "--yes", "--only", "config"], fixture.env);
    expect(configOnly.code).toBe(2);
    expect(inspect(fixture.name, "{{.State.Status}}")).toBe("exited");
    expect(status.healthy).toBe(false);
    expect((await runCli(["status"], fixture.env)).stdout).toMatch(/RESTORE INTERRUPTED: a restore of/);

    const again = await runCli(["restore", base, "--yes"], fixture.env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/no safety snapshot is taken/);
    expect(runState(fixture.store, fixture.name).restoring).toBeUndefined();
    // The refused backup was a failure monitoring must see, until the next backup succeeds.
    expect(JSON.parse((await runCli(["status", "--json"], fixture.env)).stdout)).toMatchObject({ healthy: false, restoreInterrupted: null });
    expect((await runCli(["backup"], fixture.env)).code).toBe(0);
    expect(JSON.parse((await runCli(["status", "--json"], fixture.env)).stdout).healthy).toBe(true);
  });
});

describe.skipIf(requireDockerOrSkip())("SIGINT and SIGTERM at every step of a restore", () => {
  let fixture: Fixture;
  let base: string;
  beforeAll(async () => {
    fixture = await startFixture({ writeMs: 0 });
    addBlobs(fixture.name, 200);
    base = lastLine((await runCli(["backup"], fixture.env)).stdout);
  });
  afterAll(() => fixture && removeFixture(fixture));

  const STEPS: [string, (stderr: string, f: Fixture) => boolean][] = [
    ["verifying", (stderr) => stderr.includes("verifying snapshot")],
    ["taking the safety snapshot", (stderr) => stderr.includes("taking a safety snapshot")],
    ["stopping", (stderr) => stderr.includes(`stopping `)],
    ["writing data", (stderr, f) => stderr.includes("stopping ") && inspect(f.name, "{{.State.Status}}") === "exited"],
    ["starting", (stderr) => /\bstarting /.test(stderr)],
  ];

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    it.each(STEPS)(`${signal} while %s: exit ${signal === "SIGINT" ? 130 : 143}, lock released, no temporary data, and the true state with the way back`, async (_step, reached) => {
      const verifyBefore = verifyDirs().length;
      const startedAt = inspect(fixture.name, "{{.State.StartedAt}}");
      const run = startCli(["restore", base, "--yes"], fixture.env);
      await waitFor("the step", () => reached(run.stderrSoFar(), fixture), 120_000, 10);
      run.kill(signal);
      const result = await run.result;
      expect(result.code, result.stderr).toBe(signal === "SIGINT" ? 130 : 143);
      expect(result.stderr).not.toMatch(/Unhandled|AbortError|    at /);
      expect(fs.existsSync(lockFile(fixture))).toBe(false);
      expect(verifyDirs().length).toBe(verifyBefore);
      const last = lastLine(result.stderr);
      const state = inspect(fixture.name, "{{.State.Status}}");
      if (/nothing was changed/.test(last)) {
        expect(last).toBe(`owui-backup: error: interrupted by ${signal}; nothing was changed; ${fixture.name} is put back as it was`);
        expect(state).toBe("running");
        expect(runState(fixture.store, fixture.name).restoring).toBeUndefined();
        if (!result.stderr.includes("stopping ")) expect(inspect(fixture.name, "{{.State.StartedAt}}")).toBe(startedAt);
      } else if (/fully restored/.test(last)) {
        expect(last).toMatch(new RegExp(`^owui-backup: error: interrupted by ${signal}; the data of ${base} is fully restored and ${fixture.name} was started`));
        expect(state).toBe("running");
        expect(runState(fixture.store, fixture.name).restoring).toBeUndefined();
      } else {
        expect(last).toMatch(
          new RegExp(
            `^owui-backup: error: interrupted by ${signal}; the restore stopped half way and ${fixture.name} is left stopped with half-restored data: ` +
              `run \`owui-backup restore ${base}\` again, or \`owui-backup restore \\d{8}_\\d{6}\` for the state from before it$`,
          ),
        );
        expect(state).toBe("exited");
        expect(runState(fixture.store, fixture.name).restoring).toMatchObject({ id: base });
        const again = await runCli(["restore", base, "--yes"], fixture.env);
        expect(again.code, again.stderr).toBe(0);
      }
      console.log(`${signal} while ${_step}: ${last.replace(/^owui-backup: error: /, "")}`);
    });
  }
});
