/**
 * What every schedule runs, and the words shared by the cron, systemd and Task Scheduler builders.
 * The command goes through `docker exec` into the runner container, so the host needs only the Docker CLI.
 */
export interface ScheduledBackup {
  /** Pulumi project and stack: every entry a schedule makes carries them, and delete removes only those. */
  project: string;
  stack: string;
  /** The runner container `docker exec` enters. */
  runnerName: string;
  /** The Open WebUI container, for descriptions only. */
  container: string;
  /** DOCKER_HOST, passed to the CLI as -H when set. */
  dockerHost?: string;
  /** Daily at HH:MM (local time, two digits each: the config's format, which systemd and Task Scheduler take as it is). */
  time: string;
  /** cron only: an expression used instead of the daily time. */
  cron?: string;
  /** Also run after the machine starts, after this many minutes; undefined = not at boot. */
  bootDelayMinutes?: number;
  /** A weekly restore rehearsal (`owui-backup drill latest`): weekday and HH:MM; undefined = none. */
  drill?: { weekday: Weekday; time: string };
}

export const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** Arguments after `docker`: the exact command each trigger runs. */
export function backupCommandArgs(s: Pick<ScheduledBackup, "dockerHost" | "runnerName">): string[] {
  return [...(s.dockerHost ? ["-H", s.dockerHost] : []), "exec", s.runnerName, "owui-backup", "backup", "--trigger", "schedule"];
}

/** Arguments after `docker` for the weekly drill. */
export function drillCommandArgs(s: Pick<ScheduledBackup, "dockerHost" | "runnerName">): string[] {
  return [...(s.dockerHost ? ["-H", s.dockerHost] : []), "exec", s.runnerName, "owui-backup", "drill", "latest"];
}

/** A name usable in unit file names and task paths: the stack name without characters they refuse. */
export function scheduleName(s: Pick<ScheduledBackup, "project" | "stack">): string {
  return `${s.project}-${s.stack}`.replace(/[^A-Za-z0-9_.-]/g, "-");
}

/** POSIX shell single quoting: safe for any string. */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A shell word: as it is when nothing in it is special to sh or cron, else single-quoted. */
export function shWord(s: string): string {
  return /^[A-Za-z0-9_@+=:,./-]+$/.test(s) ? s : shQuote(s);
}

/** "daily at 02:00 and 5 min after boot", or "cron "…"": the times alone. */
function times(s: Pick<ScheduledBackup, "cron" | "time" | "bootDelayMinutes">): string {
  const when = s.cron ? `cron "${s.cron}"` : `daily at ${s.time}`;
  return s.bootDelayMinutes === undefined ? when : `${when} and ${s.bootDelayMinutes} min after boot`;
}

const NONE = "none: run `owui-backup backup --trigger schedule` yourself";

/** When backups run, for people (the status page): "cron: daily at 02:00 and 5 min after boot (host time)". */
export function describeWhen(kind: string, s: Pick<ScheduledBackup, "cron" | "time" | "bootDelayMinutes">): string {
  return kind === "none" ? NONE : `${kind}: ${times(s)} (host time)`;
}

/** One line for outputs and logs: what runs when. */
export function describeSchedule(kind: string, s: ScheduledBackup): string {
  if (kind === "none") return NONE;
  const drill = s.drill ? `; a restore drill every ${s.drill.weekday} at ${s.drill.time}: docker ${drillCommandArgs(s).join(" ")}` : "";
  return `${kind}: ${times(s)}: docker ${backupCommandArgs(s).join(" ")}${drill}`;
}
