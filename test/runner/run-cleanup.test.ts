import pino from "pino";
import { describe, expect, it } from "vitest";
import { Cleanup } from "../../runner/src/run/cleanup.js";

describe("cleanup", () => {
  it("runs every undo action newest first, even when one fails, and reports the failures", async () => {
    const order: string[] = [];
    const cleanup = new Cleanup(pino({ level: "silent" }));
    cleanup.defer("start container", async () => void order.push("start"));
    cleanup.defer("broken", async () => {
      order.push("broken");
      throw new Error("boom");
    });
    const lock = cleanup.defer("release lock", async () => void order.push("release"));
    const disarmed = cleanup.defer("never", async () => void order.push("never"));
    disarmed.disarm();
    await lock.now();
    const errors = await cleanup.run();
    expect(order).toEqual(["release", "broken", "start"]);
    expect(errors.map((e) => e.message)).toEqual(["boom"]);
    expect(await cleanup.run()).toEqual([]);
    expect(order).toHaveLength(3);
  });
});
