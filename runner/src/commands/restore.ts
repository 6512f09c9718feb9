import type { Command } from "commander";
import { UsageError } from "../errors.js";
import { runRestore } from "../run/restore-run.js";
import { confirmOnTerminal, flagsOf, requireConsentWithoutTerminal, openContext, printJson, type CommandIo } from "./common.js";

export function registerRestore(program: Command, io: CommandIo): void {
  program
    .command("restore")
    .description("verify a snapshot, save the current state, and put the snapshot back into the container")
    .argument("<snapshot>", 'a snapshot id, or "latest" (newest that is not a pre-restore safety snapshot)')
    .option("--only <part>", "data: only the backed-up paths; config: only recreate the container from its saved settings")
    .option("--path <path>", "restore only this backed-up path")
    .option("--recreate", "recreate the container from the saved docker inspect (automatic when it is missing)")
    .option("--force", "restore even if the snapshot was written by a newer Open WebUI than the target image")
    .option("--no-safety-snapshot", "skip the snapshot of the current state taken before restoring")
    .option("-y, --yes", "do not ask for confirmation")
    .option("--stop-timeout <seconds>", "how long Docker waits for the container to stop (default 30)")
    .option("--ready-timeout <seconds>", "how long to wait for the container to run and be healthy (default 300)")
    .option("--json", "print one JSON object when done")
    .action(async (ref: string, _options: unknown, cmd: Command) => {
      const flags = flagsOf(cmd);
      const only = flags.only as string | undefined;
      if (only !== undefined && only !== "data" && only !== "config") {
        throw new UsageError(`invalid --only "${only}": expected data or config`);
      }
      if (only === "config" && flags.path) throw new UsageError("--only config and --path do not go together");
      requireConsentWithoutTerminal("restore", "replaces the container's data", Boolean(flags.yes));
      const ctx = await openContext(flags, io, { logToFile: true, quiet: Boolean(flags.json), report: "restore" });
      const result = await runRestore(ctx, {
        ref,
        only,
        path: flags.path as string | undefined,
        recreate: Boolean(flags.recreate),
        force: Boolean(flags.force),
        safetySnapshot: flags.safetySnapshot !== false,
        confirm: (question) => confirmOnTerminal(question, Boolean(flags.yes)),
      });
      if (io.reporting) Object.assign(io.reporting.facts, { snapshot: result.snapshot.id, bytes: { read: result.bytesRead, new: 0, stored: result.snapshot.sizeBytes } });
      if (flags.json) {
        printJson(io, {
          id: result.snapshot.id,
          container: ctx.config.container,
          safetySnapshot: result.safetySnapshot ?? null,
          recreated: result.recreated,
          restoredPaths: result.restoredPaths,
          bytesRead: result.bytesRead,
          durationMs: result.durationMs,
        });
        return;
      }
      io.stdout.write(`${result.snapshot.id}\n`);
    });
}
