import { describe, expect, it } from "vitest";
import { nextDailyRun } from "../../../runner/src/report/status/status-data.js";

describe("the next run of a daily schedule, in the host's time zone", () => {
  it.each([
    ["02:00", "UTC", "2026-11-30T13:00:00Z", "2026-12-01T02:00:00.000Z"],
    ["22:00", "America/New_York", "2026-11-30T13:00:00Z", "2026-12-01T03:00:00.000Z"],
    ["14:30", "Asia/Kolkata", "2026-11-30T08:00:00Z", "2026-11-30T09:00:00.000Z"],
    // Across the spring daylight-saving change (Berlin: 2026-03-29, 02:00 CET becomes 03:00 CEST).
    ["03:30", "Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-29T01:30:00.000Z"],
    // A time the clock skips (New York, 2024-03-10 02:00 → 03:00): when the clock changes.
    ["02:30", "America/New_York", "2024-03-10T06:45:00Z", "2024-03-10T07:00:00.000Z"],
    // A time that happens twice (Berlin, 2024-10-27 03:00 → 02:00): the first one.
    ["02:30", "Europe/Berlin", "2024-10-26T12:00:00Z", "2024-10-27T00:30:00.000Z"],
  ])("%s in %s after %s is %s", (at, zone, now, expected) => {
    expect(nextDailyRun(at, zone, Date.parse(now))?.toISOString()).toBe(expected);
  });

  it("nothing for a cron expression or an unknown zone", () => {
    expect(nextDailyRun("*/30 * * * *", "UTC")).toBeUndefined();
    expect(nextDailyRun("02:00", "Mars/Olympus_Mons")).toBeUndefined();
    expect(nextDailyRun("99:99", "UTC")).toBeUndefined();
  });
});
