import type { ScheduledBackup } from "../../../infra/schedule/scheduled-backup.js";

/** The dev stack's schedule, as the program builds it: daily at 02:00 and 5 minutes after boot. */
export const devSchedule: ScheduledBackup = {
  project: "owui-backup",
  stack: "dev",
  runnerName: "owui-backup-runner-dev",
  container: "open-webui",
  time: "02:00",
  bootDelayMinutes: 5,
};
