import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { requireDockerOrSkip } from "../docker-available.js";
import { runCli } from "../helpers/cli.js";
import { runProgram } from "../infra/program.js";
import { CHATS_PY, docker, py, removeFixture, startFixture, type Fixture } from "./fixture.js";

/**
 * The runner as `pulumi up` makes it: the image really built from runner/Dockerfile (the Node base made
 * locally and passed as NODE_IMAGE), a container started with exactly the inputs the program gives the
 * docker.Container resource, and the command exactly as the generated cron script installs it.
 */
const IMAGE = "owui-backup-test/runner:ci";
/** Built by test/fixtures/build-images.sh from the node the tests run under. */
const NODE_BASE = `owui-backup-test/node:${process.versions.node.split(".")[0]}-bookworm`;
const RUNNER = "owui-backup-runner-e2e";
/** A regular user's uid, as on a desktop Linux host, to check the image works without root. */
const HOST_UID = 1000;

const skip = requireDockerOrSkip();

/** `docker run` arguments for a docker.Container's inputs (the parts the program sets). */
function dockerRunArgs(inputs: Record<string, any>, image: string, overrides: { user?: string; groupAdds?: string[] }): string[] {
  const envs: string[] = inputs.envs?.value ?? inputs.envs ?? [];
  return [
    "--name", inputs.name,
    // The test engine has no bridge network; a local store needs none.
    "--network", "none",
    ...(inputs.init ? ["--init"] : []),
    "--restart", inputs.restart,
    ...((overrides.user ?? inputs.user) ? ["--user", overrides.user ?? inputs.user] : []),
    ...(overrides.groupAdds ?? inputs.groupAdds ?? []).flatMap((g: string) => ["--group-add", g]),
    ...envs.flatMap((e) => ["-e", e]),
    ...(inputs.volumes ?? []).flatMap((v: any) => ["-v", `${v.hostPath}:${v.containerPath}`]),
    ...(inputs.labels ?? []).flatMap((l: any) => ["--label", `${l.label}=${l.value}`]),
    ...(inputs.stopTimeout ? ["--stop-timeout", String(inputs.stopTimeout)] : []),
    ...(inputs.logDriver ? ["--log-driver", inputs.logDriver] : []),
    ...Object.entries(inputs.logOpts ?? {}).flatMap(([k, v]) => ["--log-opt", `${k}=${v}`]),
    image,
    ...(inputs.command ?? []),
  ];
}

/** Runs the generated cron create script with a crontab stand-in and returns the lines it would install. */
function installedCronLines(script: string, tmp: string): string[] {
  const bin = path.join(tmp, "bin");
  fs.mkdirSync(bin, { recursive: true });
  const out = path.join(tmp, "crontab.txt");
  fs.writeFileSync(path.join(bin, "crontab"), `#!/bin/sh\n[ "$1" = "-l" ] && { echo "no crontab for you" >&2; exit 1; }\ncat > "${out}"\n`, { mode: 0o755 });
  execFileSync("/bin/sh", ["-c", script], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
  return fs.readFileSync(out, "utf8").split("\n").filter(Boolean);
}

describe.skipIf(skip)("runner image and container, as the Pulumi program makes them", () => {
  let fixture: Fixture;
  let tmp: string;
  let store: string;
  let cronLines: string[];

  beforeAll(async () => {
    execFileSync(
      "docker",
      ["build", "-q", "--network", "host", "-f", "runner/Dockerfile", "--build-arg", `NODE_IMAGE=${NODE_BASE}`, "-t", IMAGE, "."],
      { env: { ...process.env, DOCKER_BUILDKIT: "0" }, stdio: ["ignore", "ignore", "pipe"], timeout: 280_000 },
    );
    fixture = await startFixture();
    py(fixture.name, CHATS_PY);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "owui-runner-"));
    store = path.join(tmp, "store");

    const run = await runProgram(
      { container: fixture.name, runnerName: RUNNER, storage: { kind: "local", path: store }, schedule: { kind: "cron", time: "02:00" } },
      { stack: "e2e" },
    );
    fs.chownSync(store, HOST_UID, HOST_UID);
    const socketGroup = String(fs.statSync("/var/run/docker.sock").gid);
    docker("rm", "-f", RUNNER);
    docker("run", "-d", ...dockerRunArgs(run.one("docker:index/container:Container").inputs, IMAGE, { user: `${HOST_UID}:${HOST_UID}`, groupAdds: [socketGroup] }));
    cronLines = installedCronLines(run.one("command:local:Command").inputs.create, tmp);
  }, 300_000);

  afterAll(() => {
    if (skip) return;
    spawnSync("docker", ["rm", "-f", RUNNER]);
    if (fixture) removeFixture(fixture);
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  test("the image holds node, the CLI and production dependencies only", () => {
    const listing = docker("run", "--rm", "--network", "none", IMAGE, "sh", "-c", "owui-backup --version; command -v npm || echo no-npm; ls /opt/owui-backup/node_modules");
    const [version, npm, ...modules] = listing.split("\n");
    expect(version).toBe(JSON.parse(fs.readFileSync("runner/package.json", "utf8")).version);
    expect(npm).toBe("no-npm");
    expect(modules).toEqual(expect.arrayContaining(["better-sqlite3", "dockerode", "@aws-sdk"]));
    // Our development dependencies stay in the build stage (@types/node is a runtime dependency of protobufjs).
    for (const dev of ["typescript", "vitest", "s3rver", "@pulumi", "yaml"]) expect(modules).not.toContain(dev);
    expect(docker("run", "--rm", "--network", "none", IMAGE, "ls", "/opt/owui-backup/node_modules/@types")).toBe("node");
  });

  test("the container: running, restart unless-stopped, socket mounted, labelled", () => {
    expect(docker("inspect", "-f", "{{.State.Running}} {{.HostConfig.RestartPolicy.Name}} {{.HostConfig.Init}}", RUNNER)).toBe("true unless-stopped true");
    expect(docker("inspect", "-f", '{{index .Config.Labels "owui-backup.role"}} {{index .Config.Labels "owui-backup.target"}}', RUNNER)).toBe(`runner ${fixture.name}`);
  });

  test("the scheduled command, run as cron runs the installed line, snapshots the fixture into the mounted store", async () => {
    expect(cronLines).toHaveLength(2);
    const daily = cronLines[0]!;
    expect(daily).toMatch(/^0 2 \* \* \* "/);
    // cron hands everything after the five time fields to sh -c.
    const command = daily.split(" ").slice(5).join(" ");
    const r = spawnSync("/bin/sh", ["-c", command], { encoding: "utf8", env: { PATH: "/usr/bin:/bin" } });
    // Quiet on success: cron mails whatever a job prints.
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);

    const list = await runCli(["list", "--json"], { OWUI_BACKUP_CONTAINER: fixture.name, OWUI_BACKUP_STORE: store });
    expect(list.code).toBe(0);
    const snapshots = JSON.parse(list.stdout) as { id: string; trigger: string; container: string }[];
    expect(snapshots).toHaveLength(1);
    expect(snapshots[0]).toMatchObject({ trigger: "schedule", container: fixture.name });
    // Written by the runner as the host user: the person who ran pulumi up owns the snapshots.
    const files = execFileSync("find", [store, "-type", "f", "-not", "-user", String(HOST_UID)], { encoding: "utf8" }).trim();
    expect(files).toBe("");
  });

  test("restore through the runner container (the stack's restoreCommand, without a terminal)", () => {
    py(fixture.name, 'import sqlite3; db = sqlite3.connect("/app/backend/data/webui.db"); db.execute("DELETE FROM chat"); db.commit()');
    const count = () => py(fixture.name, 'import sqlite3; print(sqlite3.connect("/app/backend/data/webui.db").execute("SELECT count(*) FROM chat").fetchone()[0])');
    expect(count()).toBe("0");
    const r = spawnSync("docker", ["exec", RUNNER, "owui-backup", "restore", "latest", "--yes", "--no-safety-snapshot"], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    expect(count()).toBe("500");
  });
});
