import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LookScheduler } from "../../../runner/src/watch/look-scheduler.js";

/** When the watcher looks, under fake timers: debounce, its upper bound, one look at a time. */
describe("LookScheduler", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  function scheduler(debounceMs = 1000, maxWaitMs = 5000, lookMs = 0) {
    const looks: number[] = [];
    const s = new LookScheduler(
      async () => {
        looks.push(Date.now());
        if (lookMs) await new Promise((r) => setTimeout(r, lookMs));
      },
      debounceMs,
      maxWaitMs,
    );
    return { s, looks };
  }

  it("a storm of events is one look, debounce after the last", async () => {
    const { s, looks } = scheduler();
    const t0 = Date.now();
    for (let i = 0; i < 10; i++) {
      s.afterEvent();
      await vi.advanceTimersByTimeAsync(300);
    }
    expect(looks).toEqual([]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(looks).toEqual([t0 + 2700 + 1000]);
  });

  it("events that never stop still get a look, maxWait after the first", async () => {
    const { s, looks } = scheduler(1000, 5000);
    const t0 = Date.now();
    for (let i = 0; i < 40; i++) {
      s.afterEvent();
      await vi.advanceTimersByTimeAsync(250);
    }
    expect(looks[0]).toBe(t0 + 5000);
    expect(looks.length).toBe(2);
  });

  it("an immediate request leaves a pending debounce be; later() never postpones a sooner look", async () => {
    const { s, looks } = scheduler();
    const t0 = Date.now();
    s.afterEvent();
    s.soon();
    s.later(60_000);
    await vi.advanceTimersByTimeAsync(1000);
    expect(looks).toEqual([t0 + 1000]);
    s.later(3000);
    await vi.advanceTimersByTimeAsync(3000);
    expect(looks).toEqual([t0 + 1000, t0 + 4000]);
  });

  it("one look at a time: a look asked for during one runs after it", async () => {
    const { s, looks } = scheduler(1000, 5000, 10_000);
    const t0 = Date.now();
    s.soon();
    await vi.advanceTimersByTimeAsync(1);
    s.soon();
    await vi.advanceTimersByTimeAsync(5000);
    expect(looks).toEqual([t0]);
    await vi.advanceTimersByTimeAsync(5000 + 1000);
    expect(looks).toEqual([t0, t0 + 11_000]);
  });

  it("stop: no more looks, and waits for the running one", async () => {
    const { s, looks } = scheduler(1000, 5000, 2000);
    s.soon();
    await vi.advanceTimersByTimeAsync(1);
    let stopped = false;
    const stopping = s.stop().then(() => (stopped = true));
    s.afterEvent();
    await vi.advanceTimersByTimeAsync(1000);
    expect(stopped).toBe(false);
    await vi.advanceTimersByTimeAsync(1000);
    await stopping;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(looks).toHaveLength(1);
  });
});
