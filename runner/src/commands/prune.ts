import type { Command } from "commander";
import { retentionPolicy } from "../config.js";
import { Cleanup } from "../run/cleanup.js";
import { applyRetention } from "../steps/apply-retention.js";
import { acquireLock } from "../state/lock.js";
import { formatBytes } from "../util/format.js";
import { confirmOnTerminal, flagsOf, openContext, printJson, requireConsentWithoutTerminal, retentionFlags, type CommandIo } from "./common.js";

export function registerPrune(program: Command, io: CommandIo): void {
  const command = program
    .command("prune")
    .description("delete snapshots the retention policy does not keep, and incomplete ones whose run is gone")
    .option("--dry-run", "only print what would be deleted")
    .option("-y, --yes", "do not ask for confirmation (needed without a terminal)")
    .option("--json", "print one JSON object");
  retentionFlags(command).action(async (_options: unknown, cmd: Command) => {
    const flags = flagsOf(cmd);
    if (!flags.dryRun) requireConsentWithoutTerminal("prune", "deletes snapshots", Boolean(flags.yes));
    const ctx = await openContext(flags, io, { logToFile: !flags.dryRun, quiet: Boolean(flags.json), ...(flags.dryRun ? {} : { report: "prune" }) });
    const cleanup = new Cleanup(ctx.log);
    try {
      const policy = retentionPolicy(ctx.config);
      const options = { container: ctx.config.container, collectChunks: true, log: ctx.log, quiet: true };
      const dryRun = Boolean(flags.dryRun);
      if (!dryRun && !flags.yes && process.stdin.isTTY) {
        // On a terminal: show what would go, then ask.
        const plan = await applyRetention(ctx.store, policy, { ...options, dryRun: true });
        const doomed = [...plan.removed, ...plan.removedIncomplete];
        for (const id of doomed) process.stderr.write(`would remove ${id}\n`);
        if (doomed.length > 0 && !(await confirmOnTerminal(`Delete these ${doomed.length} snapshots of ${ctx.config.container}?`, false))) {
          process.stderr.write("nothing deleted\n");
          return;
        }
      }
      if (!dryRun) cleanup.defer("release the lock", await acquireLock(ctx.store, ctx.config.container, "prune"));
      const result = await applyRetention(ctx.store, policy, { ...options, dryRun });
      if (flags.json) {
        printJson(io, {
          dryRun: result.dryRun,
          keep: result.decisions.filter((d) => d.keep).map((d) => ({ id: d.id, reasons: d.reasons })),
          remove: result.removed,
          incomplete: result.removedIncomplete,
          ...(result.chunks ? { chunks: result.chunks } : {}),
        });
        return;
      }
      for (const d of result.decisions) {
        io.stdout.write(`${d.keep ? "keep  " : result.dryRun ? "would remove" : "removed"} ${d.id}${d.keep ? `  (${d.reasons.join(", ")})` : ""}\n`);
      }
      for (const id of result.removedIncomplete) io.stdout.write(`${result.dryRun ? "would remove" : "removed"} ${id}  (incomplete)\n`);
      if (result.chunks && result.chunks.removed > 0) {
        io.stdout.write(`removed ${result.chunks.removed} unused chunks (${formatBytes(result.chunks.bytes)})\n`);
      }
    } finally {
      await cleanup.run();
    }
  });
}
