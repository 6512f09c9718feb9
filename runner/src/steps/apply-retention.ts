import type { Logger } from "pino";
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
  options: { container?: string; dryRun?: boolean; log: Logger },
): Promise<RetentionResult> {
  const rules = checkPolicy(policy);
  const catalog = await readCatalog(store);
  const candidates = catalog.snapshots.filter((s) => !options.container || s.container.name === options.container);
  const decisions = planRetention(candidates, rules, await pinnedIds(store, candidates.map((s) => s.container.name)));
  const removed = decisions.filter((d) => !d.keep).map((d) => d.id);
  const now = Date.now();
  const removedIncomplete = catalog.incomplete.filter((s) => isAbandonedWriter(s.owner, now)).map((s) => s.id);
  if (!options.dryRun) {
    for (const id of removed) {
      await deleteSnapshot(store, id);
      options.log.info({ id }, `removed snapshot ${id} (retention)`);
    }
    for (const id of removedIncomplete) {
      await deleteSnapshot(store, id);
      options.log.info({ id }, `removed incomplete snapshot ${id} (its run is gone)`);
    }
  }
  return { decisions, removed, removedIncomplete, dryRun: Boolean(options.dryRun) };
}
