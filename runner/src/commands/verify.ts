import { formatBytes } from "../util/format.js";
import type { Command } from "commander";
import { NotFoundError, UsageError, VerifyError } from "../errors.js";
import { createProgress } from "../progress.js";
import { readCatalog, resolveSnapshot } from "../snapshot/catalog.js";
import type { Manifest } from "../snapshot/manifest.js";
import { verifySnapshot, type VerifyReport } from "../steps/verify-snapshot.js";
import { containersToActOn, flagsOf, openContext, printJson, type CommandIo } from "./common.js";

export function registerVerify(program: Command, io: CommandIo): void {
  program
    .command("verify")
    .description("re-read snapshots: sizes, sha256, archive structure, and integrity_check of every SQLite file")
    .argument("[snapshot]", 'a snapshot id, or "latest" (default: the latest of every container in the store, or of --container)')
    .option("--all", "verify every snapshot in the store")
    .option("--json", "print a JSON array of reports")
    .action(async (ref: string | undefined, _options: unknown, cmd: Command) => {
      const flags = flagsOf(cmd);
      if (ref && flags.all) throw new UsageError("give a snapshot id or --all, not both");
      const ctx = await openContext(flags, io, { logToFile: true, quiet: Boolean(flags.json) });
      let targets: Manifest[];
      const reports: VerifyReport[] = [];
      if (flags.all) {
        const catalog = await readCatalog(ctx.store);
        targets = catalog.snapshots;
        for (const broken of catalog.unreadable) {
          ctx.log.error({ id: broken.id }, `${broken.id}: ${broken.error}`);
          reports.push({ id: broken.id, ok: false, problems: [broken.error], objects: 0, bytes: 0, bytesRead: 0, sqliteChecked: 0, durationMs: 0 });
        }
      } else if (ref && ref !== "latest") {
        targets = [await resolveSnapshot(ctx.store, ref, ctx.config.container)];
      } else {
        // The latest of every container in the store, unless --container narrows it (as prune and status do).
        const { containers, note } = containersToActOn(ctx.config, await readCatalog(ctx.store), ctx.store.location);
        if (note) throw new NotFoundError(`${note}; nothing to verify`);
        targets = [];
        for (const container of containers) targets.push(await resolveSnapshot(ctx.store, "latest", container));
      }
      for (const manifest of targets) {
        const progress = createProgress(`verify ${manifest.id}`);
        const report = await verifySnapshot(ctx.store, manifest, { signal: ctx.signal, onBytes: progress.add }).finally(() => progress.done());
        reports.push(report);
        if (report.ok) {
          ctx.log.info({ id: report.id, objects: report.objects, sqlite: report.sqliteChecked }, `${report.id} ok: ${report.objects} objects and their chunks, ${formatBytes(report.bytesRead)} read, ${report.sqliteChecked} SQLite databases checked, in ${(report.durationMs / 1000).toFixed(1)} s`);
        } else {
          for (const p of report.problems) ctx.log.error({ id: report.id }, `${report.id}: ${p}`);
        }
      }
      if (flags.json) printJson(io, reports);
      const failed = reports.filter((r) => !r.ok);
      if (failed.length > 0) {
        throw new VerifyError(`${failed.length} of ${reports.length} snapshots failed verification: ${failed.map((r) => r.id).join(", ")}`);
      }
    });
}
