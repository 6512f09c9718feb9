import type { Command } from "commander";
import { readCatalog } from "../snapshot/catalog.js";
import { summarize } from "../snapshot/manifest.js";
import { pinnedIds } from "../snapshot/pins.js";
import { readDrills, type DrillRecord } from "../state/drills.js";
import { formatBytes } from "../util/format.js";
import { flagsOf, openContext, printJson, type CommandIo } from "./common.js";

export function registerList(program: Command, io: CommandIo): void {
  program
    .command("list")
    .description("list the snapshots in the store, newest first")
    .option("--json", "print a JSON array")
    .action(async (_options: unknown, cmd: Command) => {
      const flags = flagsOf(cmd);
      const ctx = await openContext(flags, io, { logToFile: false });
      const { snapshots, unreadable } = await readCatalog(ctx.store);
      for (const broken of unreadable) ctx.log.warn(`${broken.id} is not listed: ${broken.error}`);
      const pinned = await pinnedIds(ctx.store, snapshots.map((s) => s.container.name));
      if (flags.json) {
        const drills = new Map<string, DrillRecord>();
        for (const c of new Set(snapshots.map((s) => s.container.name))) for (const d of await readDrills(ctx.store, c)) drills.set(d.id, d);
        printJson(
          io,
          snapshots.map((s) => {
            const drill = drills.get(s.id);
            return { ...summarize(s), reason: s.reason ?? null, pinned: pinned.has(s.id), drill: drill ? { at: drill.at, ok: drill.ok } : null };
          }),
        );
        return;
      }
      if (snapshots.length === 0) {
        ctx.log.info(`no snapshots in ${ctx.store.location}`);
        return;
      }
      const rows = snapshots.map((s) => [
        s.id,
        s.createdAt.replace("T", " ").slice(0, 19),
        s.container.name,
        // A pinned snapshot is the way back from the image change that followed it.
        pinned.has(s.id) ? `${s.trigger} (pinned)` : s.trigger,
        formatBytes(s.sizeBytes),
        String(s.files),
        s.image.openWebuiVersion ? `${s.image.reference} (${s.image.openWebuiVersion})` : s.image.reference,
      ]);
      const header = ["ID", "CREATED (UTC)", "CONTAINER", "TRIGGER", "SIZE", "FILES", "IMAGE"];
      const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
      for (const row of [header, ...rows]) {
        io.stdout.write(row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] as number))).join("  ") + "\n");
      }
    });
}
