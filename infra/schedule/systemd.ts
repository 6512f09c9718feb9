import { backupCommandArgs, drillCommandArgs, scheduleName, shQuote, type ScheduledBackup } from "./scheduled-backup.js";

/**
 * A systemd .service (one backup, Type=oneshot), a .timer (daily at the configured time, Persistent= so
 * a run missed while the machine was off happens at the next start) and a -boot.timer (OnBootSec=).
 * The boot trigger has a timer of its own because systemd fires an OnBootSec= timer at once when it is
 * started after that time has passed: it is enabled for the next boot and not started now, so
 * `pulumi up` does not set off a backup. System units need root; user units run as the user who ran
 * `pulumi up`, also while logged out once lingering is on.
 */
export type SystemdScope = "system" | "user";

export function unitName(s: Pick<ScheduledBackup, "project" | "stack">): string {
  return `owui-backup-${scheduleName(s)}`;
}

/** ExecStart words: plain when safe, else in double quotes with systemd's escapes (% is a specifier, $ a variable). */
function execWords(args: string[]): string {
  const quote = (a: string) => `"${a.replace(/[\\"]/g, (c) => `\\${c}`).replace(/%/g, "%%").replace(/\$/g, "$$$$")}"`;
  return args.map((a) => (/^[A-Za-z0-9_@+=:,./-]+$/.test(a) ? a : quote(a))).join(" ");
}

export function serviceUnit(s: ScheduledBackup, scope: SystemdScope): string {
  const afterDocker = scope === "system" ? ["Wants=docker.service", "After=docker.service"] : [];
  return [
    "[Unit]",
    `Description=owui-backup: back up the Open WebUI container ${s.container} (stack ${s.stack})`,
    ...afterDocker,
    "",
    "[Service]",
    "Type=oneshot",
    // A bare name is looked up in systemd's fixed PATH (/usr/local/bin:/usr/bin:…).
    `ExecStart=${execWords(["docker", ...backupCommandArgs(s)])}`,
    "",
  ].join("\n");
}

const timer = (description: string, lines: string[], s: ScheduledBackup, service = `${unitName(s)}.service`) =>
  ["[Unit]", `Description=${description}`, "", "[Timer]", ...lines, `Unit=${service}`, "", "[Install]", "WantedBy=timers.target", ""].join("\n");

/** systemd's weekday names, from the config's three-letter ones. */
const SYSTEMD_WEEKDAY = { mon: "Mon", tue: "Tue", wed: "Wed", thu: "Thu", fri: "Fri", sat: "Sat", sun: "Sun" } as const;

/** The weekly drill's service and timer; undefined without a drill. */
export function drillUnits(s: ScheduledBackup, scope: SystemdScope): { service: string; timer: string } | undefined {
  if (!s.drill) return undefined;
  const afterDocker = scope === "system" ? ["Wants=docker.service", "After=docker.service"] : [];
  const service = [
    "[Unit]",
    `Description=owui-backup: restore drill of the latest snapshot of ${s.container} (stack ${s.stack})`,
    ...afterDocker,
    "",
    "[Service]",
    "Type=oneshot",
    `ExecStart=${execWords(["docker", ...drillCommandArgs(s)])}`,
    "",
  ].join("\n");
  const when = `OnCalendar=${SYSTEMD_WEEKDAY[s.drill.weekday]} *-*-* ${s.drill.time}:00`;
  return {
    service,
    timer: timer(`owui-backup: weekly restore drill of ${s.container} (stack ${s.stack})`, [when, "Persistent=true"], s, `${unitName(s)}-drill.service`),
  };
}

export function timerUnit(s: ScheduledBackup): string {
  return timer(`owui-backup: daily backup of the Open WebUI container ${s.container} (stack ${s.stack})`, [`OnCalendar=*-*-* ${s.time}:00`, "Persistent=true"], s);
}

/** undefined when the schedule has no boot trigger. */
export function bootTimerUnit(s: ScheduledBackup): string | undefined {
  if (s.bootDelayMinutes === undefined) return undefined;
  return timer(`owui-backup: backup of the Open WebUI container ${s.container} after boot (stack ${s.stack})`, [`OnBootSec=${s.bootDelayMinutes * 60}s`], s);
}

const unitDir = (scope: SystemdScope) =>
  scope === "system" ? "${OWUI_BACKUP_SYSTEMD_DIR:-/etc/systemd/system}" : '${OWUI_BACKUP_SYSTEMD_DIR:-${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user}';
const systemctl = (scope: SystemdScope) => (scope === "system" ? "systemctl" : "systemctl --user");

export function systemdCreateScript(s: ScheduledBackup, scope: SystemdScope): string {
  const name = unitName(s);
  const boot = bootTimerUnit(s);
  const drill = drillUnits(s, scope);
  return [
    "set -eu",
    `dir="${unitDir(scope)}"`,
    'mkdir -p "$dir"',
    `printf '%s' ${shQuote(serviceUnit(s, scope))} > "$dir/${name}.service"`,
    `printf '%s' ${shQuote(timerUnit(s))} > "$dir/${name}.timer"`,
    boot ? `printf '%s' ${shQuote(boot)} > "$dir/${name}-boot.timer"` : `rm -f "$dir/${name}-boot.timer"`,
    ...(drill
      ? [`printf '%s' ${shQuote(drill.service)} > "$dir/${name}-drill.service"`, `printf '%s' ${shQuote(drill.timer)} > "$dir/${name}-drill.timer"`]
      : [`rm -f "$dir/${name}-drill.service" "$dir/${name}-drill.timer"`]),
    `${systemctl(scope)} daemon-reload`,
    `${systemctl(scope)} enable --now ${name}.timer`,
    ...(drill ? [`${systemctl(scope)} enable --now ${name}-drill.timer`] : []),
    // Enabled for the next boot only: started now it would fire at once.
    ...(boot ? [`${systemctl(scope)} enable ${name}-boot.timer`] : []),
    // User timers stop at logout unless the user lingers; allowed for oneself on most distributions.
    ...(scope === "user"
      ? [`loginctl enable-linger "$(id -un)" 2>/dev/null || echo "owui-backup schedule: could not enable lingering; the timer runs only while you are logged in (sudo loginctl enable-linger $(id -un))" >&2`]
      : []),
  ].join("\n");
}

export function systemdDeleteScript(s: ScheduledBackup, scope: SystemdScope): string {
  const name = unitName(s);
  return [
    "set -eu",
    `dir="${unitDir(scope)}"`,
    `${systemctl(scope)} disable --now ${name}.timer ${name}-boot.timer ${name}-drill.timer 2>/dev/null || true`,
    `rm -f "$dir/${name}.service" "$dir/${name}.timer" "$dir/${name}-boot.timer" "$dir/${name}-drill.service" "$dir/${name}-drill.timer"`,
    `${systemctl(scope)} daemon-reload 2>/dev/null || true`,
  ].join("\n");
}
