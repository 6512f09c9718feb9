import { backupCommandArgs, drillCommandArgs, shQuote, shWord, type ScheduledBackup } from "./scheduled-backup.js";

/**
 * crontab entries for Linux and macOS: one line per trigger, each ending in a marker comment naming the
 * project and stack. Create replaces this stack's lines (so running it twice leaves one set), delete
 * removes them; every other line of the user's crontab is kept as it was.
 */

const FIELDS = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12, names: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"] },
  { name: "day of week", min: 0, max: 7, names: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] },
];

/** Why a five-field cron expression would be refused by cron, or undefined when it is fine. */
export function cronExpressionProblem(expr: string): string | undefined {
  const parts = expr.trim().split(/\s+/);
  if (parts.length !== 5) return `expected five fields (minute hour day month weekday), such as "30 2 * * *"; got ${parts.length}`;
  for (const [i, part] of parts.entries()) {
    const field = FIELDS[i]!;
    const value = (v: string) => {
      const named = field.names?.indexOf(v.toLowerCase()) ?? -1;
      if (named >= 0) return named + (field.name === "month" ? 1 : 0);
      return /^\d+$/.test(v) ? Number(v) : NaN;
    };
    for (const item of part.split(",")) {
      // *, N, N-M, each optionally /STEP; cron takes a step only after * or a range.
      const m = /^(\*|([^-/]+)(?:-([^-/]+))?)(?:\/(\d+))?$/.exec(item);
      const lo = m?.[2] === undefined ? field.min : value(m[2]);
      const hi = m?.[3] === undefined ? lo : value(m[3]);
      const inRange = (n: number) => Number.isInteger(n) && n >= field.min && n <= field.max;
      const step = m?.[4];
      const stepAllowed = step === undefined || (Number(step) >= 1 && (m?.[1] === "*" || m?.[3] !== undefined));
      if (!m || !inRange(lo) || !inRange(hi) || hi < lo || !stepAllowed) {
        return `"${item}" is not a valid ${field.name} (${field.min}-${field.max}${field.names ? " or a name" : ""})`;
      }
    }
  }
  return undefined;
}

/** The marker that ends each of this stack's lines. */
export function cronMarker(s: Pick<ScheduledBackup, "project" | "stack">): string {
  return ` # ${s.project}:${s.stack}`;
}

/** Each trigger: when it fires, and what follows the Docker CLI's path on its line (arguments, marker). */
export function cronEntries(s: ScheduledBackup): { when: string; rest: string }[] {
  const rest = `${backupCommandArgs(s).map(shWord).join(" ")} >/dev/null${cronMarker(s)}`;
  const [hour, minute] = s.time.split(":").map(Number);
  const entries = [{ when: s.cron ?? `${minute} ${hour} * * *`, rest }];
  if (s.bootDelayMinutes !== undefined) {
    entries.push({ when: s.bootDelayMinutes > 0 ? `@reboot sleep ${s.bootDelayMinutes * 60} &&` : "@reboot", rest });
  }
  if (s.drill) {
    const [drillHour, drillMinute] = s.drill.time.split(":").map(Number);
    // A failed drill prints its report: cron mails it (a passing one says nothing).
    entries.push({ when: `${drillMinute} ${drillHour} * * ${s.drill.weekday}`, rest: `${drillCommandArgs(s).map(shWord).join(" ")} >/dev/null${cronMarker(s)}` });
  }
  return entries;
}

/** The lines as they land in the crontab, for a given path of the Docker CLI. */
export function cronLines(s: ScheduledBackup, dockerBin: string): string[] {
  return cronEntries(s).map((e) => `${e.when} "${dockerBin}" ${e.rest}`);
}

// The current crontab in $current: empty when there is none; any other failure to read it stops the
// script, so a crontab that could not be read is never overwritten.
const readCurrent = [
  `current=$(crontab -l 2>&1) || case "$current" in *"no crontab"*) current="" ;; *) echo "owui-backup schedule: cannot read the crontab: $current" >&2; exit 1 ;; esac`,
];

// Prints every current line that does not end with the marker (awk compares text: no pattern meets the stack name).
const currentWithoutOurs = (marker: string) =>
  `  [ -z "$current" ] || printf '%s\\n' "$current" | awk -v m=${shQuote(marker)} 'length($0) < length(m) || substr($0, length($0) - length(m) + 1) != m'`;

export function cronCreateScript(s: ScheduledBackup): string {
  return [
    "set -eu",
    // The path goes into the line: cron's PATH is short (/usr/bin:/bin) and Docker Desktop puts the CLI elsewhere.
    `docker_bin=$(command -v docker) || { echo "owui-backup schedule: the docker CLI is not on PATH; install it or put it on PATH, then run pulumi up again" >&2; exit 1; }`,
    `case "$docker_bin" in *'"'*|*'%'*) echo "owui-backup schedule: cron cannot run the docker CLI at $docker_bin (a quote or % in the path)" >&2; exit 1;; esac`,
    ...readCurrent,
    "{",
    currentWithoutOurs(cronMarker(s)),
    ...cronEntries(s).map((e) => `  printf '%s "%s" %s\\n' ${shQuote(e.when)} "$docker_bin" ${shQuote(e.rest)}`),
    "} | crontab -",
  ].join("\n");
}

export function cronDeleteScript(s: ScheduledBackup): string {
  return ["set -eu", ...readCurrent, "{", currentWithoutOurs(cronMarker(s)), "} | crontab -"].join("\n");
}
