import { backupCommandArgs, drillCommandArgs, scheduleName, type ScheduledBackup } from "./scheduled-backup.js";

/** Task Scheduler's day names, from the config's three-letter ones. */
const WINDOWS_WEEKDAY = { mon: "Monday", tue: "Tuesday", wed: "Wednesday", thu: "Thursday", fri: "Friday", sat: "Saturday", sun: "Sunday" } as const;

/**
 * Windows Task Scheduler, through PowerShell's ScheduledTasks module (seed 000's setup_backup_schedule.ps1):
 * a daily task and an at-start task with a delay, in a task folder of their own (\owui-backup\<stack>\).
 * Register-ScheduledTask -Force replaces a task of the same name (schtasks /F), so create is idempotent;
 * delete unregisters only the tasks in that folder. The Docker CLI is looked up when the script runs and
 * passed as the action's program, apart from its arguments, so spaces in its path need no quoting.
 * Needs an elevated PowerShell (at-start tasks and "run whether logged on or not").
 */

/** PowerShell single-quoted string: nothing inside is expanded; ' is doubled. */
export function psQuote(s: string): string {
  return `'${s.replace(/['‘’‚‛]/g, (q) => q + q)}'`;
}

/** One Windows command line from words, as CommandLineToArgvW and the C runtime split it back. */
export function windowsCommandLine(args: string[]): string {
  return args
    .map((a) => {
      // A quote is escaped, with the backslashes before it doubled; quotes around only for blanks or "".
      const escaped = a.replace(/(\\*)"/g, '$1$1\\"');
      return a === "" || /[ \t]/.test(a) ? `"${escaped.replace(/(\\+)$/, "$1$1")}"` : escaped;
    })
    .join(" ");
}

export function taskPath(s: Pick<ScheduledBackup, "project" | "stack">): string {
  return `\\owui-backup\\${scheduleName(s)}\\`;
}

export function windowsCreateScript(s: ScheduledBackup): string {
  const at = s.time;
  const register = (name: string, trigger: string, what: string, action = "$action") =>
    `Register-ScheduledTask -TaskPath $taskPath -TaskName ${psQuote(name)} -Action ${action} -Trigger ${trigger} ` +
    `-Principal $principal -Settings $settings -Description ${psQuote(`owui-backup: ${what} of the Open WebUI container ${s.container} (stack ${s.stack})`)} -Force | Out-Null`;
  return [
    "$ErrorActionPreference = 'Stop'",
    "$docker = (Get-Command docker -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1).Source",
    "if (-not $docker) { throw 'owui-backup schedule: the docker CLI is not on PATH; install Docker Desktop or put docker.exe on PATH, then run pulumi up again' }",
    `$taskPath = ${psQuote(taskPath(s))}`,
    `$action = New-ScheduledTaskAction -Execute $docker -Argument ${psQuote(windowsCommandLine(backupCommandArgs(s)))}`,
    // S4U: runs whether or not the user is logged on, without storing a password.
    "$principal = New-ScheduledTaskPrincipal -UserId ([System.Security.Principal.WindowsIdentity]::GetCurrent().Name) -LogonType S4U -RunLevel Highest",
    "$settings = New-ScheduledTaskSettingsSet -StartWhenAvailable -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries -ExecutionTimeLimit (New-TimeSpan -Hours 12) -MultipleInstances IgnoreNew",
    `$daily = New-ScheduledTaskTrigger -Daily -At ${psQuote(at)}`,
    register("daily", "$daily", `daily ${at} backup`),
    ...(s.bootDelayMinutes !== undefined
      ? [
          "$atStart = New-ScheduledTaskTrigger -AtStartup",
          `$atStart.Delay = ${psQuote(`PT${s.bootDelayMinutes}M`)}`,
          register("at-start", "$atStart", `at-start (after ${s.bootDelayMinutes} min) backup`),
        ]
      : [`Unregister-ScheduledTask -TaskPath $taskPath -TaskName 'at-start' -Confirm:$false -ErrorAction SilentlyContinue`]),
    ...(s.drill
      ? [
          `$drillAction = New-ScheduledTaskAction -Execute $docker -Argument ${psQuote(windowsCommandLine(drillCommandArgs(s)))}`,
          `$weekly = New-ScheduledTaskTrigger -Weekly -DaysOfWeek ${WINDOWS_WEEKDAY[s.drill.weekday]} -At ${psQuote(s.drill.time)}`,
          register("drill", "$weekly", `weekly restore drill (${s.drill.weekday} ${s.drill.time})`, "$drillAction"),
        ]
      : [`Unregister-ScheduledTask -TaskPath $taskPath -TaskName 'drill' -Confirm:$false -ErrorAction SilentlyContinue`]),
  ].join("\n");
}

export function windowsDeleteScript(s: ScheduledBackup): string {
  return [
    "$ErrorActionPreference = 'Stop'",
    `Get-ScheduledTask -TaskPath ${psQuote(taskPath(s))} -ErrorAction SilentlyContinue | Unregister-ScheduledTask -Confirm:$false`,
  ].join("\n");
}

/** powershell.exe takes the script base64-encoded (UTF-16LE), so no quoting layer between Pulumi and PowerShell. */
export const POWERSHELL = ["powershell.exe", "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-EncodedCommand"];

export function encodePowerShell(script: string): string {
  return Buffer.from(script, "utf16le").toString("base64");
}
