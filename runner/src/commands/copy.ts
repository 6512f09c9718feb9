import type { Command } from "commander";
import { oneLine, UsageError, FailureError } from "../errors.js";
import { createProgress } from "../progress.js";
import { readCatalog, resolveSnapshot } from "../snapshot/catalog.js";
import { copySnapshot, type CopyResult } from "../snapshot/copy.js";
import type { Manifest } from "../snapshot/manifest.js";
import { formatBytes } from "../util/format.js";
import { collect, flagsOf, openContext, printJson, type CommandIo } from "./common.js";

export function registerCopy(program: Command, io: CommandIo): void {
  program
    .command("copy")
    .description("copy snapshots from the store to other stores, skipping those already there")
    .argument("[snapshot]", 'a snapshot id or "latest" (latest of --container)')
    .option("--all", "every snapshot in the store, of every container, oldest first")
    .requiredOption("--to <dir|url>", "the store to copy into (repeatable)", collect)
    .option("--verify", "for snapshots already there: check every byte of their objects and chunks, not only that they are there with their sizes")
    .option("--json", "print a JSON array of results")
    .action(async (ref: string | undefined, _options: unknown, cmd: Command) => {
      const flags = flagsOf(cmd);
      if (ref && flags.all) throw new UsageError("give a snapshot id or --all, not both");
      if (!ref && !flags.all) throw new UsageError('name a snapshot (an id or "latest") or give --all');
      // --to names the targets here; the same setting as backup's --copy-to.
      const ctx = await openContext({ ...flags, copyTo: flags.to }, io, { logToFile: true, quiet: Boolean(flags.json), copies: true, report: "copy" });
      const targets = ctx.copies;
      const snapshots: Manifest[] = flags.all
        ? (await readCatalog(ctx.store)).snapshots.reverse()
        : [await resolveSnapshot(ctx.store, ref!, ctx.config.container)];
      const results: (Partial<CopyResult> & { id: string; store: string; ok: boolean; error?: string })[] = [];
      for (const target of targets) {
        for (const manifest of snapshots) {
          const progress = createProgress(`copy ${manifest.id}`);
          try {
            const result = await copySnapshot(ctx.store, target, manifest, { signal: ctx.signal, log: ctx.log, onBytes: progress.add, verify: Boolean(flags.verify) });
            results.push({ ...result, store: target.location, ok: true });
            const said = {
              present: `${manifest.id} is already in ${target.location}, ${flags.verify ? "every byte checked" : "complete (--verify checks every byte)"}`,
              repaired: `${manifest.id} was in ${target.location} with ${result.replaced?.length} objects or chunks missing or damaged; wrote them again (${formatBytes(result.bytes)})`,
              copied: `copied ${manifest.id} to ${target.location} (${formatBytes(result.bytes)})`,
            }[result.status];
            (result.status === "repaired" ? ctx.log.warn.bind(ctx.log) : ctx.log.info.bind(ctx.log))({ id: manifest.id, store: target.location, status: result.status }, said);
          } catch (err) {
            if (ctx.signal.aborted) throw err;
            results.push({ id: manifest.id, store: target.location, ok: false, error: oneLine(err) });
            ctx.log.error({ id: manifest.id, store: target.location }, `${manifest.id} → ${target.location}: ${oneLine(err)}`);
          } finally {
            progress.done();
          }
        }
      }
      if (flags.json) printJson(io, results);
      const failed = results.filter((r) => !r.ok);
      if (failed.length > 0) throw new FailureError(`${failed.length} of ${results.length} copies failed; the first: ${failed[0]!.id} → ${failed[0]!.store}: ${failed[0]!.error}`);
    });
}
