import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { ScheduleKind } from "./config.js";
import { cronCreateScript, cronDeleteScript } from "./schedule/cron.js";
import { describeSchedule, type ScheduledBackup } from "./schedule/scheduled-backup.js";
import { systemdCreateScript, systemdDeleteScript, type SystemdScope } from "./schedule/systemd.js";
import { encodePowerShell, POWERSHELL, windowsCreateScript, windowsDeleteScript } from "./schedule/windows-task.js";

export interface ScheduleArgs extends ScheduledBackup {
  kind: ScheduleKind;
  systemdScope: SystemdScope;
}

interface Scripts {
  create: string;
  delete: string;
  interpreter: string[];
}

export function scheduleScripts(kind: Exclude<ScheduleKind, "none">, s: ScheduledBackup, scope: SystemdScope): Scripts {
  const sh = ["/bin/sh", "-c"];
  switch (kind) {
    case "cron":
      return { create: cronCreateScript(s), delete: cronDeleteScript(s), interpreter: sh };
    case "systemd":
      return { create: systemdCreateScript(s, scope), delete: systemdDeleteScript(s, scope), interpreter: sh };
    case "windows":
      return { create: encodePowerShell(windowsCreateScript(s)), delete: encodePowerShell(windowsDeleteScript(s)), interpreter: POWERSHELL };
  }
}

/**
 * The host's scheduler running `docker exec <runner> owui-backup backup --trigger schedule`: crontab lines,
 * a systemd timer, or Windows scheduled tasks (or nothing). One local command creates them and its delete
 * removes exactly them. Any change replaces it, old entries removed before new ones are written.
 */
export class Schedule extends pulumi.ComponentResource {
  public readonly summary: pulumi.Output<string>;

  constructor(name: string, args: ScheduleArgs, opts?: pulumi.ComponentResourceOptions) {
    super("owui-backup:index:Schedule", name, {}, opts);
    const { kind } = args;
    // Plain values from the configuration, never the runner's outputs: a replaced runner (any change
    // under runner/) then leaves the schedule alone. `dependsOn` (opts) still makes it after the runner.
    const scheduled: ScheduledBackup = args;
    if (kind !== "none") {
      const scripts = scheduleScripts(kind, scheduled, args.systemdScope);
      new command.local.Command(
        `${name}-${kind}`,
        {
          create: scripts.create,
          delete: scripts.delete,
          interpreter: scripts.interpreter,
          // A changed script would otherwise be an update that only runs the new create: the old entries
          // would stay. As triggers, any change replaces the command: old delete first, then new create.
          triggers: [scripts.create, scripts.delete, scripts.interpreter],
        },
        // The component's dependsOn (the runner container), on the command that needs it.
        { parent: this, deleteBeforeReplace: true, ...(opts?.dependsOn ? { dependsOn: opts.dependsOn } : {}) },
      );
    }
    this.summary = pulumi.output(describeSchedule(kind, scheduled));
    this.registerOutputs({ summary: this.summary });
  }
}
