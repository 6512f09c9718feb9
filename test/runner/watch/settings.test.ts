import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../runner/src/config.js";
import { UsageError } from "../../../runner/src/errors.js";
import { planRetention } from "../../../runner/src/snapshot/retention.js";

describe("watcher settings", () => {
  it("durations: seconds by default, or ms/s/m/h; defaults 5m interval, 10s debounce, 10m between backups, 20% growth", () => {
    expect(loadConfig({}, {})).toMatchObject({ interval: 300_000, debounce: 10_000, minGap: 600_000, growth: 20 });
    expect(loadConfig({ interval: "90", debounce: "500ms", minGap: "1h" }, { OWUI_BACKUP_WATCH_GROWTH: "50" })).toMatchObject({
      interval: 90_000,
      debounce: 500,
      minGap: 3_600_000,
      growth: 50,
    });
    expect(loadConfig({}, { OWUI_BACKUP_WATCH_INTERVAL: "2m" }).interval).toBe(120_000);
    expect(() => loadConfig({ interval: "five minutes" }, {})).toThrow(UsageError);
    expect(() => loadConfig({ interval: "5m" }, {})).not.toThrow();
    expect(() => loadConfig({ interval: "200ms" }, {})).toThrow('invalid --interval "200ms": expected at least 1000 ms');
  });
});

describe("retention and pins", () => {
  it("keeps a pinned snapshot that the rules would delete", () => {
    const snapshots = ["20261101_000000", "20261102_000000", "20261103_000000"].map((id, i) => ({
      id,
      createdAt: `2026-11-0${i + 1}T00:00:00Z`,
      trigger: "watch" as const,
      container: { name: "open-webui" },
    }));
    const plan = planRetention(snapshots, { keepLast: 1 }, new Set(["20261101_000000"]));
    expect(plan.filter((d) => d.keep).map((d) => [d.id, d.reasons])).toEqual([
      ["20261103_000000", ["last"]],
      ["20261101_000000", ["pinned"]],
    ]);
  });
});
