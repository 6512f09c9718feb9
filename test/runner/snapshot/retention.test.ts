import { describe, expect, it } from "vitest";
import { planRetention, type RetentionPolicy } from "../../../runner/src/snapshot/retention.js";

/** Synthetic snapshots: one per entry, at the given UTC times. */
function snapshots(times: string[], container = "open-webui", trigger = "schedule") {
  return times.map((t) => ({
    id: t.replace(/[-:]/g, "").replace("T", "_").slice(0, 15),
    createdAt: new Date(t).toISOString(),
    container: { name: container },
    trigger: trigger as "schedule",
  }));
}

const kept = (list: ReturnType<typeof snapshots>, policy: RetentionPolicy) =>
  planRetention(list, policy)
    .filter((d) => d.keep)
    .map((d) => d.id)
    .sort();

describe("retention", () => {
  // Every 6 hours for 100 days.
  const start = Date.parse("2025-01-01T02:00:00Z");
  const many = snapshots(Array.from({ length: 400 }, (_, i) => new Date(start + i * 6 * 3600_000).toISOString()));

  it("keeps the last 10 by default (seed 000)", () => {
    const result = kept(many, {});
    expect(result).toHaveLength(10);
    expect(result.at(-1)).toBe(many.at(-1)!.id);
  });

  it("keep-last N keeps exactly the N newest", () => {
    expect(kept(many, { keepLast: 3 })).toEqual(many.slice(-3).map((s) => s.id));
  });

  it("keep-daily keeps the newest snapshot of each of the last N days that have one", () => {
    const result = kept(many, { keepDaily: 7 });
    expect(result).toHaveLength(7);
    // Newest of each day is the 20:00 one, except the last day whose newest is the latest snapshot.
    expect(result.slice(0, -1).every((id) => id.endsWith("_200000"))).toBe(true);
    expect(new Set(result.map((id) => id.slice(0, 8))).size).toBe(7);
  });

  it("combines GFS rules as restic does: each rule picks its own snapshots, a snapshot may serve several", () => {
    const decisions = planRetention(many, { keepDaily: 7, keepWeekly: 4, keepMonthly: 3 });
    const withReason = (r: string) => decisions.filter((d) => d.reasons.includes(r)).map((d) => d.id);
    expect(withReason("daily")).toHaveLength(7);
    expect(withReason("weekly")).toHaveLength(4);
    expect(new Set(withReason("monthly").map((id) => id.slice(0, 6)))).toEqual(new Set(["202502", "202503", "202504"]));
    // Monthly keeps the newest snapshot of each month: the last one of Feb and Mar.
    expect(withReason("monthly")).toContain("20250331_200000");
    expect(withReason("monthly")).toContain("20250228_200000");
    expect(decisions.find((d) => d.id === many.at(-1)!.id)!.reasons).toEqual(["daily", "weekly", "monthly"]);
    const keep = decisions.filter((d) => d.keep);
    expect(keep.length).toBe(new Set([...withReason("daily"), ...withReason("weekly"), ...withReason("monthly")]).size);
    expect(decisions.filter((d) => !d.keep)).toHaveLength(400 - keep.length);
  });

  it("keeps the oldest snapshot while a rule has count left, so a short history is not cut shorter", () => {
    const list = snapshots(["2025-01-01T01:00:00Z", "2025-01-01T05:00:00Z", "2025-01-02T01:00:00Z"]);
    expect(kept(list, { keepDaily: 5 })).toEqual(["20250101_010000", "20250101_050000", "20250102_010000"]);
    expect(kept(list, { keepDaily: 2 })).toEqual(["20250101_050000", "20250102_010000"]);
  });

  it("keeps the newest pre-restore snapshot until the next restore", () => {
    const list = [
      ...snapshots(["2025-01-01T01:00:00Z"], "open-webui", "pre-restore"),
      ...snapshots(["2025-01-02T01:00:00Z", "2025-01-03T01:00:00Z", "2025-01-04T01:00:00Z"]),
    ];
    const decisions = planRetention(list, { keepLast: 2 });
    expect(decisions.find((d) => d.id === "20250101_010000")).toMatchObject({ keep: true, reasons: ["pre-restore"] });
    expect(decisions.find((d) => d.id === "20250102_010000")!.keep).toBe(false);
    const later = [...list, ...snapshots(["2025-01-05T01:00:00Z"], "open-webui", "pre-restore")];
    expect(planRetention(later, { keepLast: 1 }).find((d) => d.id === "20250101_010000")!.keep).toBe(false);
  });

  it("applies rules per container", () => {
    const list = [...snapshots(["2025-01-01T01:00:00Z", "2025-01-02T01:00:00Z"], "a"), ...snapshots(["2025-01-01T02:00:00Z"], "b")];
    expect(kept(list, { keepLast: 1 })).toEqual(["20250101_020000", "20250102_010000"]);
  });
});
