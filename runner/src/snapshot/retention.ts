import type { Manifest } from "./manifest.js";

/** restic `forget` rules. An unset rule keeps nothing by itself. */
export interface RetentionPolicy {
  keepLast?: number | undefined;
  keepDaily?: number | undefined;
  keepWeekly?: number | undefined;
  keepMonthly?: number | undefined;
}

export const DEFAULT_KEEP_LAST = 10;

export interface RetentionDecision {
  id: string;
  container: string;
  keep: boolean;
  reasons: string[];
}

type Candidate = Pick<Manifest, "id" | "createdAt" | "trigger"> & { container: { name: string } };

/** A policy with no rule set is the default: keep the last 10 (seed 000). */
export function effectivePolicy(policy: RetentionPolicy): RetentionPolicy {
  const set = [policy.keepLast, policy.keepDaily, policy.keepWeekly, policy.keepMonthly].some((v) => v !== undefined);
  return set ? policy : { keepLast: DEFAULT_KEEP_LAST };
}

/**
 * Decides which snapshots to keep, per container, newest first, with restic's `forget` rules:
 * keep-last N keeps the N newest; keep-daily N keeps the newest snapshot of each of the N most recent
 * days that have one (weekly: ISO weeks, monthly: calendar months), and a rule with count left when it
 * reaches the oldest snapshot keeps that one too, so a short history is not cut shorter. Unlike restic,
 * days, weeks and months are UTC, like the snapshot ids. The newest pre-restore snapshot of a
 * container is always kept, until the next restore makes a newer one, and so are pinned snapshots
 * (the last one before an image change, see pins.ts).
 */
export function planRetention(snapshots: Candidate[], policy: RetentionPolicy, pinned: ReadonlySet<string> = new Set()): RetentionDecision[] {
  const rules = effectivePolicy(policy);
  const byContainer = new Map<string, Candidate[]>();
  for (const s of snapshots) {
    const list = byContainer.get(s.container.name) ?? [];
    list.push(s);
    byContainer.set(s.container.name, list);
  }
  const decisions: RetentionDecision[] = [];
  for (const [container, group] of byContainer) {
    group.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
    const buckets: { name: string; count: number; key: (d: Date) => string; last?: string }[] = [
      { name: "last", count: rules.keepLast ?? 0, key: () => "" },
      { name: "daily", count: rules.keepDaily ?? 0, key: (d) => d.toISOString().slice(0, 10) },
      { name: "weekly", count: rules.keepWeekly ?? 0, key: isoWeek },
      { name: "monthly", count: rules.keepMonthly ?? 0, key: (d) => d.toISOString().slice(0, 7) },
    ];
    let pinnedPreRestore = false;
    for (const [index, snapshot] of group.entries()) {
      const date = new Date(snapshot.createdAt);
      const reasons: string[] = [];
      const oldest = index === group.length - 1;
      for (const bucket of buckets) {
        if (bucket.count <= 0) continue;
        const key = bucket.name === "last" ? snapshot.id : bucket.key(date);
        if (bucket.last !== key || oldest) {
          bucket.last = key;
          bucket.count--;
          reasons.push(bucket.name);
        }
      }
      if (snapshot.trigger === "pre-restore" && !pinnedPreRestore) {
        pinnedPreRestore = true;
        reasons.push("pre-restore");
      }
      if (pinned.has(snapshot.id)) reasons.push("pinned");
      decisions.push({ id: snapshot.id, container, keep: reasons.length > 0, reasons });
    }
  }
  return decisions;
}

function isoWeek(date: Date): string {
  const d = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
  const day = d.getUTCDay() || 7;
  d.setUTCDate(d.getUTCDate() + 4 - day);
  const yearStart = new Date(Date.UTC(d.getUTCFullYear(), 0, 1));
  const week = Math.ceil(((d.getTime() - yearStart.getTime()) / 86400000 + 1) / 7);
  return `${d.getUTCFullYear()}-W${String(week).padStart(2, "0")}`;
}
