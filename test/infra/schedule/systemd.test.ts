import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { devSchedule } from "./dev-schedule.js";
import { skipWithout } from "../../helpers/tools.js";
import { bootTimerUnit, drillUnits, serviceUnit, systemdCreateScript, systemdDeleteScript, timerUnit, unitName } from "../../../infra/schedule/systemd.js";

/** The generated units pass `systemd-analyze verify`; the install script writes and enables exactly them. */
// verify also checks that ExecStart's program (docker) exists.
const skip = skipWithout(["systemd-analyze", "docker"]);

const dev = devSchedule;

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "owui-systemd-"));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Writes the units and runs systemd-analyze verify on them; returns what it said. */
function verify(dir: string, name: string, service: string, timer: string, bootTimer?: string) {
  fs.mkdirSync(dir, { recursive: true });
  const files: [string, string][] = [[`${name}.service`, service], [`${name}.timer`, timer]];
  if (bootTimer) files.push([`${name}-boot.timer`, bootTimer]);
  for (const [file, text] of files) fs.writeFileSync(path.join(dir, file), text);
  const r = spawnSync("systemd-analyze", ["verify", ...files.map(([file]) => path.join(dir, file))], { encoding: "utf8" });
  return { status: r.status, stderr: r.stderr.trim() };
}

describe.skipIf(skip)("systemd units", () => {
  test.each([
    ["system scope, daily and at boot", dev, "system" as const],
    ["user scope, no boot trigger", { ...dev, bootDelayMinutes: undefined }, "user" as const],
    ["a remote engine and an odd stack name", { ...dev, stack: "acme/prod", time: "23:59", dockerHost: "ssh://backup@nas.local" }, "system" as const],
  ])("%s: verify is clean", (_, s, scope) => {
    const name = unitName(s);
    expect(name).toMatch(/^[A-Za-z0-9_.-]+$/);
    const r = verify(path.join(tmp, name), name, serviceUnit(s, scope), timerUnit(s), bootTimerUnit(s));
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  test("a weekly drill: its own service and timer, verify is clean, created and removed with the rest", () => {
    const s = { ...dev, drill: { weekday: "sun" as const, time: "03:30" } };
    const units = drillUnits(s, "system")!;
    expect(units.timer).toContain("OnCalendar=Sun *-*-* 03:30:00\nPersistent=true\nUnit=owui-backup-owui-backup-dev-drill.service");
    expect(units.service).toContain("ExecStart=docker exec owui-backup-runner-dev owui-backup drill latest");
    const dir = path.join(tmp, "drill");
    fs.mkdirSync(dir, { recursive: true });
    const name = unitName(s);
    fs.writeFileSync(path.join(dir, `${name}-drill.service`), units.service);
    fs.writeFileSync(path.join(dir, `${name}-drill.timer`), units.timer);
    const r = spawnSync("systemd-analyze", ["verify", path.join(dir, `${name}-drill.service`), path.join(dir, `${name}-drill.timer`)], { encoding: "utf8" });
    expect(r.stderr.trim()).toBe("");
    expect(systemdCreateScript(s, "system")).toContain(`systemctl enable --now ${name}-drill.timer`);
    expect(systemdCreateScript(dev, "system")).toContain(`rm -f "$dir/${name}-drill.service" "$dir/${name}-drill.timer"`);
    expect(systemdDeleteScript(s, "system")).toContain(`"$dir/${name}-drill.timer"`);
    expect(drillUnits(dev, "system")).toBeUndefined();
  });

  test("timers: OnCalendar with Persistent, OnBootSec in a timer of its own, both into timers.target", () => {
    expect(timerUnit(dev)).toContain("OnCalendar=*-*-* 02:00:00\nPersistent=true\nUnit=owui-backup-owui-backup-dev.service");
    expect(timerUnit(dev)).toContain("[Install]\nWantedBy=timers.target");
    expect(bootTimerUnit(dev)).toContain("OnBootSec=300s\nUnit=owui-backup-owui-backup-dev.service");
    expect(bootTimerUnit({ ...dev, bootDelayMinutes: undefined })).toBeUndefined();
    expect(serviceUnit(dev, "system")).toContain("Type=oneshot\nExecStart=docker exec owui-backup-runner-dev owui-backup backup --trigger schedule");
  });

  test("the check is real: verify reports a broken calendar and a missing program", () => {
    const bad = { ...dev, stack: "broken", time: "24:61" };
    const r = verify(path.join(tmp, "broken"), unitName(bad), serviceUnit(bad, "system").replace("ExecStart=docker", "ExecStart=no-such-docker"), timerUnit(bad));
    expect(r.stderr).toContain("Failed to parse calendar specification");
    expect(r.stderr).toContain("no-such-docker is not executable");
  });
});

describe("install and remove scripts", () => {
  test("create writes the three units, starts the daily timer and enables the boot one for the next boot; delete removes only them", () => {
    const dir = path.join(tmp, "units");
    const bin = path.join(tmp, "bin");
    const log = path.join(tmp, "systemctl.log");
    fs.mkdirSync(dir, { recursive: true });
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(path.join(dir, "someone-else.timer"), "[Timer]\nOnCalendar=daily\n");
    // systemctl and loginctl need a running systemd: stand-ins record what they were asked.
    for (const tool of ["systemctl", "loginctl"]) {
      fs.writeFileSync(path.join(bin, tool), `#!/bin/sh\necho "${tool} $*" >> "${log}"\n`, { mode: 0o755 });
    }
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, OWUI_BACKUP_SYSTEMD_DIR: dir };
    const run = (script: string) => spawnSync("/bin/sh", ["-c", script], { env, encoding: "utf8" });

    for (let i = 0; i < 2; i++) expect(run(systemdCreateScript(dev, "user")).status).toBe(0);
    const name = unitName(dev);
    expect(fs.readFileSync(path.join(dir, `${name}.service`), "utf8")).toBe(serviceUnit(dev, "user"));
    expect(fs.readFileSync(path.join(dir, `${name}.timer`), "utf8")).toBe(timerUnit(dev));
    expect(fs.readFileSync(path.join(dir, `${name}-boot.timer`), "utf8")).toBe(bootTimerUnit(dev));
    // Started now, an OnBootSec= timer whose time has passed would fire at once: the boot timer is only enabled.
    expect(fs.readFileSync(log, "utf8")).toBe(
      `systemctl --user daemon-reload\nsystemctl --user enable --now ${name}.timer\nsystemctl --user enable ${name}-boot.timer\nloginctl enable-linger ${os.userInfo().username}\n`.repeat(2),
    );

    fs.rmSync(log);
    expect(run(systemdDeleteScript(dev, "user")).status).toBe(0);
    expect(fs.readdirSync(dir)).toEqual(["someone-else.timer"]);
    expect(fs.readFileSync(log, "utf8")).toBe(`systemctl --user disable --now ${name}.timer ${name}-boot.timer ${name}-drill.timer\nsystemctl --user daemon-reload\n`);
  });
});
