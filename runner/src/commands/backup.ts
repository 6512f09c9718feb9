import type { Command } from "commander";
import { runBackup } from "../run/backup-run.js";
import { newBytesOf, summarize } from "../snapshot/manifest.js";
import { formatBytes } from "../util/format.js";
import { FailureError } from "../errors.js";
import { collect, flagsOf, openContext, printJson, retentionFlags, type CommandIo } from "./common.js";

export function registerBackup(program: Command, io: CommandIo): void {
  const command = program
    .command("backup")
    .description("take a consistent snapshot of the container into the store, then apply retention")
    .option("--mode <mode>", "auto | online | pause | stop (env OWUI_BACKUP_MODE; default auto)")
    .option("--trigger <trigger>", "manual | schedule | watch | pre-restore (default manual)")
    .option("--path <path>", "back up this container path instead of the defaults (repeatable; env OWUI_BACKUP_PATHS, comma-separated)", collect)
    .option("--stop-timeout <seconds>", "with --mode stop: how long Docker waits for a clean stop (default 30)")
    .option("--compression-level <0-9>", "zstd (or gzip) level, 0 stores as is (env OWUI_BACKUP_COMPRESSION_LEVEL; default zstd 3)")
    .option("--copy-to <dir|url>", "also write the snapshot to this store (repeatable; env OWUI_BACKUP_COPY_TO, comma-separated)", collect)
    .option("--json", "print one JSON object instead of the id");
  retentionFlags(command).action(async (_options: unknown, cmd: Command) => {
    const flags = flagsOf(cmd);
    // --path means "back up these paths" here (in restore it picks one path to restore).
    const ctx = await openContext({ ...flags, paths: flags.path }, io, { logToFile: true, quiet: Boolean(flags.json), copies: true, report: "backup" });
    const result = await runBackup(ctx, { trigger: ctx.config.trigger, copyTo: ctx.copies });
    const { manifest } = result;
    const failedCopies = result.copies.filter((c) => !c.ok);
    if (io.reporting) {
      Object.assign(io.reporting.facts, {
        snapshot: manifest.id,
        bytes: { read: manifest.paths.reduce((sum, p) => sum + (p.bytes ?? 0), 0), new: newBytesOf(manifest), stored: manifest.sizeBytes },
        warnings: [...result.warnings, ...failedCopies.map((c) => `copy to ${c.store} failed: ${c.error}`)],
      });
    }
    const copyFailure = () => {
      if (failedCopies.length === 0) return;
      throw new FailureError(
        `snapshot ${manifest.id} is in ${ctx.store.location}, but copying it failed for ${failedCopies.map((c) => `${c.store} (${c.error})`).join("; ")}`,
      );
    };
    if (flags.json) {
      printJson(io, {
        ...summarize(manifest),
        consistency: manifest.consistency,
        openWebuiVersion: manifest.image.openWebuiVersion ?? null,
        durationMs: result.durationMs,
        warnings: result.warnings,
        removed: result.retention?.removed ?? [],
        store: ctx.store.location,
        copies: result.copies,
      });
      return copyFailure();
    }
    const bytes = manifest.paths.reduce((sum, p) => sum + (p.bytes ?? 0), 0);
    // Files found unchanged were not read at all: "read" would overstate it.
    const unchanged = manifest.paths.reduce((sum, p) => sum + (p.unchanged ?? 0), 0);
    ctx.log.info(
      `backed up ${manifest.files} files (${formatBytes(bytes)}${unchanged > 0 ? `, ${unchanged} unchanged and not read again` : ""}) in ${(result.durationMs / 1000).toFixed(1)} s: ` +
        `${formatBytes(newBytesOf(manifest))} new in the store, ` +
        `${formatBytes(manifest.sizeBytes)} stored (what a restore reads, shared with other snapshots)`,
    );
    io.stdout.write(`${manifest.id}\n`);
    copyFailure();
  });
}
