import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { cronCreateScript, cronDeleteScript, cronLines } from "../../../infra/schedule/cron.js";
import { devSchedule } from "./dev-schedule.js";
import { skipWithout } from "../../helpers/tools.js";

/**
 * The generated crontab scripts, run for real with Debian's crontab (which refuses lines cron could not
 * parse), as a throw-away system user so nobody's crontab is touched.
 */
const USER = "owui-backup-crontest";
// Root, to make the throw-away user and run as it.
const skip = skipWithout(["crontab", "runuser", "useradd", "docker"], { root: true });

function asUser(script: string, input?: string) {
  const r = spawnSync("runuser", ["-u", USER, "--", "/bin/sh", "-c", script], { encoding: "utf8", input });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
const crontab = () => asUser("crontab -l").stdout;

const dev = devSchedule;
const FOREIGN = [
  'MAILTO=""',
  "17 3 * * * /usr/bin/true # someone else's job",
  "0 1 * * * /usr/bin/true # owui-backup:prod",
  "0 1 * * * /usr/bin/true # owui-backup:dev2",
  "# owui-backup:dev is mentioned here, but not at the end",
].join("\n");

describe.skipIf(skip)("cron schedule against Debian's crontab", () => {
  beforeAll(() => {
    if (spawnSync("id", [USER]).status !== 0) {
      expect(spawnSync("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER]).status).toBe(0);
    }
  });
  afterAll(() => {
    spawnSync("crontab", ["-r", "-u", USER]);
  });

  test("create twice leaves one set of this stack's lines; delete removes exactly them", () => {
    expect(asUser("crontab -", `${FOREIGN}\n`).status).toBe(0);
    const create = cronCreateScript(dev);
    for (let i = 0; i < 2; i++) {
      const r = asUser(create);
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
    }
    const docker = spawnSync("sh", ["-c", "command -v docker"], { encoding: "utf8" }).stdout.trim();
    expect(crontab()).toBe(`${FOREIGN}\n${cronLines(dev, docker).join("\n")}\n`);
    expect(cronLines(dev, docker)).toEqual([
      `0 2 * * * "${docker}" exec owui-backup-runner-dev owui-backup backup --trigger schedule >/dev/null # owui-backup:dev`,
      `@reboot sleep 300 && "${docker}" exec owui-backup-runner-dev owui-backup backup --trigger schedule >/dev/null # owui-backup:dev`,
    ]);

    for (let i = 0; i < 2; i++) expect(asUser(cronDeleteScript(dev)).status).toBe(0);
    expect(crontab()).toBe(`${FOREIGN}\n`);
  });

  test("a weekly drill is one more line that crontab accepts, removed with the others", () => {
    expect(asUser("crontab -", `${FOREIGN}\n`).status).toBe(0);
    const withDrill = { ...dev, drill: { weekday: "sun" as const, time: "03:30" } };
    const r = asUser(cronCreateScript(withDrill));
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const docker = spawnSync("sh", ["-c", "command -v docker"], { encoding: "utf8" }).stdout.trim();
    expect(crontab().trim().split("\n").at(-1)).toBe(`30 3 * * sun "${docker}" exec owui-backup-runner-dev owui-backup drill latest >/dev/null # owui-backup:dev`);
    expect(asUser(cronDeleteScript(withDrill)).status).toBe(0);
    expect(crontab()).toBe(`${FOREIGN}\n`);
  });

  test("a cron expression, no boot trigger, a remote engine: one line crontab accepts", () => {
    expect(asUser("crontab -", "").status).toBe(0);
    const s = { ...dev, stack: "nas", cron: "*/30 1-5 * * mon-fri", bootDelayMinutes: undefined, dockerHost: "ssh://backup@nas.local" };
    expect(asUser(cronCreateScript(s)).status).toBe(0);
    expect(crontab()).toMatch(/^\*\/30 1-5 \* \* mon-fri "\/[^"]+" -H ssh:\/\/backup@nas\.local exec owui-backup-runner-dev owui-backup backup --trigger schedule >\/dev\/null # owui-backup:nas\n$/);
    expect(asUser(cronDeleteScript(s)).status).toBe(0);
    expect(crontab()).toBe("");
  });

  test("the check is real: crontab refuses a line cron could not run, and the old crontab stays", () => {
    expect(asUser("crontab -", `${FOREIGN}\n`).status).toBe(0);
    const broken = cronCreateScript({ ...dev, cron: "0 25 * * *" });
    expect(asUser(broken).status).not.toBe(0);
    expect(crontab()).toBe(`${FOREIGN}\n`);
  });

  test("without the docker CLI on PATH, create stops with one line that says what to do", () => {
    const r = spawnSync("runuser", ["-u", USER, "--", "/usr/bin/env", "PATH=/nonexistent", "/bin/sh", "-c", cronCreateScript(dev)], { encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe("owui-backup schedule: the docker CLI is not on PATH; install it or put it on PATH, then run pulumi up again");
  });
});

describe("a crontab that cannot be read", () => {
  test("stops create and delete with one line, and nothing is written", () => {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), "owui-cron-"));
    const written = path.join(bin, "written");
    // crontab -l fails for another reason than "no crontab"; crontab - would record that it was called.
    fs.writeFileSync(path.join(bin, "crontab"), `#!/bin/sh\n[ "$1" = "-l" ] && { echo "crontab: cannot open /var/spool/cron: Permission denied" >&2; exit 1; }\ncat > "${written}"\n`, { mode: 0o755 });
    fs.writeFileSync(path.join(bin, "docker"), "#!/bin/sh\n", { mode: 0o755 });
    try {
      for (const script of [cronCreateScript(dev), cronDeleteScript(dev)]) {
        const r = spawnSync("/bin/sh", ["-c", script], { env: { ...process.env, PATH: `${bin}:/usr/bin:/bin` }, encoding: "utf8" });
        expect(r.status).toBe(1);
        expect(r.stderr.trim()).toBe("owui-backup schedule: cannot read the crontab: crontab: cannot open /var/spool/cron: Permission denied");
        expect(fs.existsSync(written)).toBe(false);
      }
    } finally {
      fs.rmSync(bin, { recursive: true, force: true });
    }
  });
});
