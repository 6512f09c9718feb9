import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { requireDockerOrSkip } from "../docker-available.js";
import { lastLine, runCli } from "../helpers/cli.js";
import { docker, inspect, py, removeFixture, rerunFixture, startFixture, waitHealthy, type Fixture } from "./fixture.js";

const MARK = "import sys; open('/app/backend/data/marker.txt','w').write(sys.argv[1])";
const readMarker = (name: string) => docker("exec", name, "cat", "/app/backend/data/marker.txt");
const containerSettings = (name: string) =>
  inspect(name, "{{json .Config.Env}} {{json .Config.Labels}} {{.HostConfig.RestartPolicy.Name}} {{.HostConfig.NetworkMode}} {{json .Mounts}}");

describe.skipIf(requireDockerOrSkip())("restore when the container or its volume is gone", () => {
  let fixture: Fixture;
  afterEach(() => fixture && removeFixture(fixture));

  it("restore latest after the volume was wiped brings back data and the secret key", async () => {
    fixture = await startFixture({ writeMs: 0 });
    py(fixture.name, MARK, "before the wipe");
    const key = docker("exec", fixture.name, "cat", "/app/backend/.webui_secret_key");
    expect((await runCli(["backup"], fixture.env)).code).toBe(0);
    docker("rm", "-f", fixture.name);
    docker("volume", "rm", fixture.volume);
    await rerunFixture(fixture);
    expect(docker("exec", fixture.name, "ls", "/app/backend/data")).toBe("");
    expect(docker("exec", fixture.name, "cat", "/app/backend/.webui_secret_key")).not.toBe(key);
    const restore = await runCli(["restore", "latest", "--yes"], fixture.env);
    expect(restore.code, restore.stderr).toBe(0);
    expect(readMarker(fixture.name)).toBe("before the wipe");
    expect(docker("exec", fixture.name, "cat", "/app/backend/.webui_secret_key")).toBe(key);
    expect(inspect(fixture.name, "{{.State.Health.Status}}")).toBe("healthy");
  });

  it("recreates a removed container from the saved inspect: name, image, env, labels, restart policy, mounts", async () => {
    fixture = await startFixture({ writeMs: 0, env: { CUSTOM_SETTING: "kept" } });
    py(fixture.name, MARK, "original");
    const settings = containerSettings(fixture.name);
    const backup = await runCli(["backup"], fixture.env);
    const id = lastLine(backup.stdout);
    docker("rm", "-f", fixture.name);
    const restore = await runCli(["restore", id, "--yes"], fixture.env);
    expect(restore.code, restore.stderr).toBe(0);
    expect(restore.stderr).toMatch(/recreated container/);
    expect(restore.stderr).not.toMatch(/safety snapshot/);
    await waitHealthy(fixture.name);
    expect(containerSettings(fixture.name)).toBe(settings);
    expect(inspect(fixture.name, "{{.Config.Image}}")).toBe("owui-backup-test/open-webui:0.6.5");
    expect(readMarker(fixture.name)).toBe("original");
  });

  it("--recreate replaces an existing container and leaves no old one behind", async () => {
    fixture = await startFixture({ writeMs: 0 });
    const oldId = inspect(fixture.name, "{{.Id}}");
    expect((await runCli(["backup"], fixture.env)).code).toBe(0);
    const restore = await runCli(["restore", "latest", "--recreate", "--yes"], fixture.env);
    expect(restore.code, restore.stderr).toBe(0);
    expect(inspect(fixture.name, "{{.Id}}")).not.toBe(oldId);
    expect(docker("ps", "-a", "--format", "{{.Names}}", "--filter", `name=${fixture.name}`)).toBe(fixture.name);
    expect(inspect(fixture.name, "{{.State.Health.Status}}")).toBe("healthy");
  });

  it("--only config puts the container's settings back and leaves the data alone", async () => {
    fixture = await startFixture({ writeMs: 0, env: { CUSTOM_SETTING: "original" } });
    expect((await runCli(["backup"], fixture.env)).code).toBe(0);
    py(fixture.name, MARK, "written after the snapshot");
    // Someone recreates the container with a wrong setting.
    docker("rm", "-f", fixture.name);
    const changed = fixture.runArgs.map((a) => (a === "CUSTOM_SETTING=original" ? "CUSTOM_SETTING=wrong" : a));
    docker("run", "-d", ...changed);
    await waitHealthy(fixture.name);
    const restore = await runCli(["restore", "latest", "--only", "config", "--yes"], fixture.env);
    expect(restore.code, restore.stderr).toBe(0);
    expect(inspect(fixture.name, "{{json .Config.Env}}")).toContain("CUSTOM_SETTING=original");
    expect(readMarker(fixture.name)).toBe("written after the snapshot");
    expect(inspect(fixture.name, "{{.State.Health.Status}}")).toBe("healthy");
  });

  it("--only data refuses a missing container instead of guessing", async () => {
    fixture = await startFixture({ writeMs: 0 });
    expect((await runCli(["backup"], fixture.env)).code).toBe(0);
    docker("rm", "-f", fixture.name);
    const restore = await runCli(["restore", "latest", "--only", "data", "--yes"], fixture.env);
    expect(restore.code).toBe(1);
    expect(restore.stderr.trim()).toMatch(/^owui-backup: error: container .* does not exist; drop --only data to recreate it/);
    expect(restore.stderr.trim().split("\n")).toHaveLength(1);
  });
});

describe.skipIf(requireDockerOrSkip())("restore around mounts and states", () => {
  let fixture: Fixture | undefined;
  let hostDir: string | undefined;
  afterEach(() => {
    if (fixture) removeFixture(fixture);
    if (hostDir) fs.rmSync(hostDir, { recursive: true, force: true });
  });

  it("a bind-mounted folder and file inside the data path: folder restored, file left alone, nothing else lost", async () => {
    hostDir = fs.mkdtempSync(path.join(os.tmpdir(), "owui-bind-"));
    fs.mkdirSync(path.join(hostDir, "uploads"));
    fs.writeFileSync(path.join(hostDir, "uploads", "kept.pdf"), "in the snapshot");
    fs.writeFileSync(path.join(hostDir, "settings.json"), '{"host": "file"}');
    fixture = await startFixture({ writeMs: 0 });
    // Same fixture, plus the two binds under /app/backend/data.
    docker("rm", "-f", fixture.name);
    fixture.runArgs.splice(-1, 0, "-v", `${hostDir}/uploads:/app/backend/data/uploads`, "-v", `${hostDir}/settings.json:/app/backend/data/settings.json`);
    await rerunFixture(fixture);
    py(fixture.name, MARK, "snapshot");
    const backup = await runCli(["backup"], fixture.env);
    expect(backup.code, backup.stderr).toBe(0);
    fs.writeFileSync(path.join(hostDir, "uploads", "added-later.pdf"), "must go");
    fs.rmSync(path.join(hostDir, "uploads", "kept.pdf"));
    py(fixture.name, MARK, "changed");
    const restore = await runCli(["restore", "latest", "--yes"], fixture.env);
    expect(restore.code, restore.stderr).toBe(0);
    expect(restore.stderr).toMatch(/\/app\/backend\/data\/settings\.json is a file mounted into the container; left as it is/);
    expect(fs.readdirSync(path.join(hostDir, "uploads"))).toEqual(["kept.pdf"]);
    expect(fs.readFileSync(path.join(hostDir, "settings.json"), "utf8")).toBe('{"host": "file"}');
    expect(readMarker(fixture.name)).toBe("snapshot");
  });

  it("restores into a paused container and leaves it running", async () => {
    fixture = await startFixture({ writeMs: 0 });
    py(fixture.name, MARK, "snapshot");
    expect((await runCli(["backup"], fixture.env)).code).toBe(0);
    py(fixture.name, MARK, "changed");
    docker("pause", fixture.name);
    const restore = await runCli(["restore", "latest", "--yes"], fixture.env);
    expect(restore.code, restore.stderr).toBe(0);
    expect(inspect(fixture.name, "{{.State.Running}} {{.State.Paused}}")).toBe("true false");
    expect(readMarker(fixture.name)).toBe("snapshot");
  });
});
