import { describe, expect, it } from "vitest";
import { baseIdFor, candidateIds, dateOfId, isSnapshotId } from "../../../runner/src/snapshot/id.js";

describe("snapshot ids", () => {
  it("are the UTC time as YYYYMMDD_HHMMSS", () => {
    expect(baseIdFor(new Date("2025-11-21T14:30:00.999Z"))).toBe("20251121_143000");
    expect(dateOfId("20251121_143000_02").toISOString()).toBe("2025-11-21T14:30:00.000Z");
  });

  it("get a two-digit suffix for more snapshots in one second, and still sort in time order", () => {
    const ids = [...candidateIds(new Date("2025-11-21T14:30:00Z"))];
    expect(ids.slice(0, 3)).toEqual(["20251121_143000", "20251121_143000_01", "20251121_143000_02"]);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids, "20251121_143001"].sort().at(-1)).toBe("20251121_143001");
    expect(ids.every(isSnapshotId)).toBe(true);
    expect(isSnapshotId("latest")).toBe(false);
    expect(isSnapshotId("../20251121_143000")).toBe(false);
  });
});

describe("snapshot id reservation", () => {
  it("gives two snapshots started in the same second different ids", async () => {
    const fs = await import("node:fs");
    const os = await import("node:os");
    const path = await import("node:path");
    const { LocalStore } = await import("../../../runner/src/store/local/local-store.js");
    const { SnapshotWriter } = await import("../../../runner/src/snapshot/writer.js");
    const store = new LocalStore(fs.mkdtempSync(path.join(os.tmpdir(), "owui-ids-")));
    const now = new Date("2025-11-21T14:30:00.100Z");
    const writers = await Promise.all([1, 2, 3].map(() => SnapshotWriter.begin(store, "test", now)));
    expect(writers.map((w) => w.id).sort()).toEqual(["20251121_143000", "20251121_143000_01", "20251121_143000_02"]);
  });
});
