import type { Logger } from "pino";
import { collectChunks, type CollectResult } from "../chunks/collect-chunks.js";
import { UsageError } from "../errors.js";
import { deleteSnapshot, readCatalog } from "../snapshot/catalog.js";
import { pinnedIds } from "../snapshot/pins.js";
import { effectivePolicy, planRetention, type RetentionDecision, type RetentionPolicy } from "../snapshot/retention.js";
import type { Store } from "../store/store.js";
import { isAbandonedWriter } from "../util/owner.js";

export interface RetentionResult {
  decisions: RetentionDecision[];
  removed: string[];
  /** Incomplete snapshots (no manifest) removed because the run writing them is gone. */
  removedIncomplete: string[];
  /** Chunks no snapshot of the container uses any more, deleted after the snapshots. */
  chunks?: CollectResult;
  dryRun: boolean;
}

/** The policy to apply; a policy that would keep nothing is a usage error, found before any work. */
export function checkPolicy(policy: RetentionPolicy): RetentionPolicy {
  const rules = effectivePolicy(policy);
  if (![rules.keepLast, rules.keepDaily, rules.keepWeekly, rules.keepMonthly].some((v) => (v ?? 0) > 0)) {
    throw new UsageError("this retention policy would delete every snapshot; keep at least one (e.g. --keep-last 1)");
  }
  return rules;
}

/**
 * Applies a retention policy to one container's snapshots (or every container's when `container` is
 * undefined). Refuses a policy that would keep nothing.
 */
export async function applyRetention(
  store: Store,
  policy: RetentionPolicy,
  /** collectChunks: look for unused chunks even when no snapshot was removed now (prune). */
  /** `quiet`: the caller prints each removal itself (prune); the log file still gets them. */
  options: { container?: string; dryRun?: boolean; collectChunks?: boolean; keepChunks?: Iterable<string>; log: Logger; quiet?: boolean },
): Promise<RetentionResult> {
  const rules = checkPolicy(policy);
  const catalog = await readCatalog(store);
  const candidates = catalog.snapshots.filter((s) => !options.container || s.container.name === options.container);
  const decisions = planRetention(candidates, rules, await pinnedIds(store, candidates.map((s) => s.container.name)));
  const removed = decisions.filter((d) => !d.keep).map((d) => d.id);
  const now = Date.now();
  const removedIncomplete = catalog.incomplete.filter((s) => isAbandonedWriter(s.owner, now)).map((s) => s.id);
  const say = options.quiet ? options.log.debug.bind(options.log) : options.log.info.bind(options.log);
  if (!options.dryRun) {
    for (const id of removed) {
      await deleteSnapshot(store, id);
      say({ id }, `removed snapshot ${id} (retention)`);
    }
    for (const id of removedIncomplete) {
      await deleteSnapshot(store, id);
      say({ id }, `removed incomplete snapshot ${id} (its run is gone)`);
    }
  }
  let chunks: CollectResult | undefined;
  if (!options.dryRun && options.container && (removed.length > 0 || removedIncomplete.length > 0 || options.collectChunks)) {
    // The catalog read above, less what was just deleted: under the container's lock nothing else changed it.
    const remaining = { ...catalog, snapshots: catalog.snapshots.filter((s) => !removed.includes(s.id)) };
    chunks = await collectChunks(store, options.container, remaining, options.log, options.keepChunks);
    if (chunks.skipped) options.log.warn(`unused chunks were not removed: ${chunks.skipped}`);
  }
  return { decisions, removed, removedIncomplete, ...(chunks ? { chunks } : {}), dryRun: Boolean(options.dryRun) };
}
