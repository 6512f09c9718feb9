import { spawnSync } from "node:child_process";
import { describe, expect, test } from "vitest";
import { devSchedule } from "./dev-schedule.js";
import { encodePowerShell, psQuote, taskPath, windowsCommandLine, windowsCreateScript, windowsDeleteScript } from "../../../infra/schedule/windows-task.js";

/**
 * No Windows here: the PowerShell text is checked for its quoting, and the command line given to the
 * task is compared with Python's subprocess.list2cmdline, an independent implementation of the same
 * Microsoft C runtime rules.
 */
const dev = devSchedule;

function list2cmdline(args: string[]): string {
  const r = spawnSync("python3", ["-c", "import json,subprocess,sys; print(subprocess.list2cmdline(json.load(sys.stdin)), end='')"], {
    input: JSON.stringify(args),
    encoding: "utf8",
  });
  expect(r.status).toBe(0);
  return r.stdout;
}

describe("Windows Task Scheduler script", () => {
  test("arguments with spaces, quotes and backslashes are quoted as the C runtime splits them", () => {
    const cases = [
      ["exec", "owui-backup-runner-dev", "owui-backup", "backup", "--trigger", "schedule"],
      ["-H", "npipe:////./pipe/docker engine", "exec", "runner"],
      ["C:\\Program Files\\Docker\\Docker\\resources\\bin\\docker.exe", "a b", 'say "hi"', "trailing\\", "", 'back\\\\"slash', "tab\there"],
    ];
    for (const args of cases) expect(windowsCommandLine(args)).toBe(list2cmdline(args));
  });

  test("PowerShell literals: single quotes doubled (typographic ones too), nothing expanded", () => {
    expect(psQuote("C:\\Program Files\\Docker")).toBe("'C:\\Program Files\\Docker'");
    expect(psQuote("it's $HOME")).toBe("'it''s $HOME'");
    expect(psQuote("it’s")).toBe("'it’’s'");
  });

  test("the docker CLI path is looked up when the script runs and never pasted into text", () => {
    const script = windowsCreateScript({ ...dev, dockerHost: "npipe:////./pipe/docker engine" });
    expect(script).toContain("$docker = (Get-Command docker -CommandType Application");
    expect(script).toContain("New-ScheduledTaskAction -Execute $docker -Argument '-H \"npipe:////./pipe/docker engine\" exec owui-backup-runner-dev owui-backup backup --trigger schedule'");
  });

  test("daily and at-start tasks in the stack's own folder, replaced with -Force (schtasks /F); delete unregisters that folder only", () => {
    const script = windowsCreateScript(dev);
    expect(taskPath(dev)).toBe("\\owui-backup\\owui-backup-dev\\");
    expect(script).toContain("$taskPath = '\\owui-backup\\owui-backup-dev\\'");
    expect(script).toContain("New-ScheduledTaskTrigger -Daily -At '02:00'");
    expect(script).toContain("New-ScheduledTaskTrigger -AtStartup\n$atStart.Delay = 'PT5M'");
    expect(script.match(/Register-ScheduledTask -TaskPath \$taskPath -TaskName '(daily|at-start)' .* -Force \| Out-Null/g)).toHaveLength(2);
    expect(windowsCreateScript({ ...dev, bootDelayMinutes: undefined })).toContain("Unregister-ScheduledTask -TaskPath $taskPath -TaskName 'at-start'");
    expect(windowsDeleteScript(dev)).toContain("Get-ScheduledTask -TaskPath '\\owui-backup\\owui-backup-dev\\' -ErrorAction SilentlyContinue | Unregister-ScheduledTask -Confirm:$false");
  });

  test("the script reaches powershell.exe base64-encoded as UTF-16LE, byte for byte", () => {
    const script = windowsCreateScript({ ...dev, container: "open webui’s" });
    expect(Buffer.from(encodePowerShell(script), "base64").toString("utf16le")).toBe(script);
  });

  test("a weekly drill: its own action and a weekly trigger in the stack's folder; without one it is unregistered", () => {
    const script = windowsCreateScript({ ...dev, drill: { weekday: "sun", time: "03:30" } });
    expect(script).toContain(`$drillAction = New-ScheduledTaskAction -Execute $docker -Argument 'exec owui-backup-runner-dev owui-backup drill latest'`);
    expect(script).toContain("$weekly = New-ScheduledTaskTrigger -Weekly -DaysOfWeek Sunday -At '03:30'");
    expect(script).toMatch(/Register-ScheduledTask -TaskPath \$taskPath -TaskName 'drill' -Action \$drillAction -Trigger \$weekly /);
    expect(windowsCreateScript(dev)).toContain("Unregister-ScheduledTask -TaskPath $taskPath -TaskName 'drill' -Confirm:$false -ErrorAction SilentlyContinue");
  });
});
