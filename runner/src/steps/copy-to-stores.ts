import { oneLine } from "../errors.js";
import type { RunContext } from "../run/context.js";
import { copySnapshot } from "../snapshot/copy.js";
import type { Manifest } from "../snapshot/manifest.js";
import type { RetentionPolicy } from "../snapshot/retention.js";
import type { Store } from "../store/store.js";
import { applyRetention } from "./apply-retention.js";
import { acquireLock } from "../state/lock.js";

export interface CopyReport {
  store: string;
  ok: boolean;
  error?: string;
  /** Snapshots retention removed from this store after the copy. */
  removed?: string[];
}

/**
 * Seed 004's second copy: writes the new snapshot to each further store, then applies the same
 * retention there. A store that cannot be reached (a NAS that is off) does not undo the backup; it
 * is reported, and the caller fails the run so a schedule notices.
 */
export async function copyToStores(
  ctx: RunContext,
  targets: Store[],
  manifest: Manifest,
  retention: RetentionPolicy | undefined,
): Promise<CopyReport[]> {
  const reports: CopyReport[] = [];
  for (const target of targets) {
    try {
      const copied = await copySnapshot(ctx.store, target, manifest, { signal: ctx.signal, log: ctx.log });
      ctx.log.info({ id: manifest.id, store: target.location, bytes: copied.bytes }, `copied ${manifest.id} to ${target.location}`);
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      const error = oneLine(err);
      ctx.log.error({ id: manifest.id, store: target.location }, `copy of ${manifest.id} to ${target.location} failed: ${error}`);
      reports.push({ store: target.location, ok: false, error });
      continue;
    }
    const report: CopyReport = { store: target.location, ok: true };
    if (retention) {
      try {
        const release = await acquireLock(target, manifest.container.name, "backup --copy-to");
        try {
          report.removed = (await applyRetention(target, retention, { container: manifest.container.name, log: ctx.log })).removed;
        } finally {
          await release();
        }
      } catch (err) {
        if (ctx.signal.aborted) throw err;
        ctx.log.warn(`retention was not applied in ${target.location}: ${oneLine(err)}`);
      }
    }
    reports.push(report);
  }
  return reports;
}
