import type { Command } from "commander";
import { retentionPolicy } from "../config.js";
import { Cleanup } from "../run/cleanup.js";
import { readCatalog } from "../snapshot/catalog.js";
import { applyRetention, type RetentionResult } from "../steps/apply-retention.js";
import { acquireLock } from "../state/lock.js";
import { formatBytes } from "../util/format.js";
import { confirmOnTerminal, containersToActOn, flagsOf, openContext, printJson, requireConsentWithoutTerminal, retentionFlags, type CommandIo } from "./common.js";

export function registerPrune(program: Command, io: CommandIo): void {
  const command = program
    .command("prune")
    .description("delete snapshots the retention policy does not keep, and incomplete ones whose run is gone (every container in the store, or --container)")
    .option("--dry-run", "only print what would be deleted")
    .option("-y, --yes", "do not ask for confirmation (needed without a terminal)")
    .option("--json", "print one JSON object");
  retentionFlags(command).action(async (_options: unknown, cmd: Command) => {
    const flags = flagsOf(cmd);
    if (!flags.dryRun) requireConsentWithoutTerminal("prune", "deletes snapshots", Boolean(flags.yes));
    const ctx = await openContext(flags, io, { logToFile: !flags.dryRun, quiet: Boolean(flags.json), ...(flags.dryRun ? {} : { report: "prune" }) });
    const policy = retentionPolicy(ctx.config);
    const dryRun = Boolean(flags.dryRun);
    // Like restic's forget: every container's snapshots, each by its own policy, unless --container narrows it.
    const { containers, note } = containersToActOn(ctx.config, await readCatalog(ctx.store), ctx.store.location);
    if (note) process.stderr.write(`${note}\n`);
    const options = (container: string) => ({ container, collectChunks: true, log: ctx.log, quiet: true });
    if (!dryRun && !flags.yes && process.stdin.isTTY) {
      // On a terminal: show what would go, then ask once.
      const doomed: string[] = [];
      for (const container of containers) {
        const plan = await applyRetention(ctx.store, policy, { ...options(container), dryRun: true });
        doomed.push(...plan.removed, ...plan.removedIncomplete);
      }
      for (const id of doomed) process.stderr.write(`would remove ${id}\n`);
      if (doomed.length > 0 && !(await confirmOnTerminal(`Delete these ${doomed.length} snapshots?`, false))) {
        process.stderr.write("nothing deleted\n");
        return;
      }
    }
    const results: { container: string; result: RetentionResult }[] = [];
    for (const container of containers) {
      const cleanup = new Cleanup(ctx.log);
      try {
        if (!dryRun) cleanup.defer("release the lock", await acquireLock(ctx.store, container, "prune"));
        results.push({ container, result: await applyRetention(ctx.store, policy, { ...options(container), dryRun }) });
      } finally {
        await cleanup.run();
      }
    }
    const all = results.flatMap((r) => r.result.decisions);
    const incomplete = [...new Set(results.flatMap((r) => r.result.removedIncomplete))];
    const chunkResults = results.map((r) => r.result.chunks).filter((c) => c !== undefined);
    const chunks = chunkResults.length > 0 ? { removed: chunkResults.reduce((n, c) => n + c.removed, 0), bytes: chunkResults.reduce((n, c) => n + c.bytes, 0) } : undefined;
    if (flags.json) {
      printJson(io, {
        dryRun,
        containers,
        keep: all.filter((d) => d.keep).map((d) => ({ id: d.id, reasons: d.reasons })),
        remove: results.flatMap((r) => r.result.removed),
        incomplete,
        ...(chunks ? { chunks } : {}),
      });
      return;
    }
    for (const { container, result } of results) {
      const kept = result.decisions.filter((d) => d.keep).length;
      io.stdout.write(`${container}: ${kept} kept, ${result.removed.length} ${dryRun ? "to remove" : "removed"}\n`);
      for (const d of result.decisions) {
        io.stdout.write(`${d.keep ? "keep  " : dryRun ? "would remove" : "removed"} ${d.id}${d.keep ? `  (${d.reasons.join(", ")})` : ""}\n`);
      }
    }
    for (const id of incomplete) io.stdout.write(`${dryRun ? "would remove" : "removed"} ${id}  (incomplete)\n`);
    if (chunks && chunks.removed > 0) io.stdout.write(`removed ${chunks.removed} unused chunks (${formatBytes(chunks.bytes)})\n`);
  });
}
