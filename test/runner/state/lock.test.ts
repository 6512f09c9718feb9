import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it, vi } from "vitest";
import { LockedError } from "../../../runner/src/errors.js";
import { acquireLock, LOCK_TTL_MS } from "../../../runner/src/state/lock.js";
import { LocalStore } from "../../../runner/src/store/local/local-store.js";
import { jsonBody } from "../../../runner/src/store/store.js";

const newStore = () => new LocalStore(fs.mkdtempSync(path.join(os.tmpdir(), "owui-lock-")));

describe("run lock", () => {
  it("lets one run in and tells the second who holds it", async () => {
    const store = newStore();
    const release = await acquireLock(store, "open-webui", "backup");
    // A live process other than this one holds it: pretend with the parent process's pid.
    await store.put("locks/other.json", jsonBody({ pid: process.ppid, host: os.hostname(), since: "2025-01-01T00:00:00.000Z", command: "backup" }));
    await expect(acquireLock(store, "other", "restore")).rejects.toThrow(
      new RegExp(`^container other is locked by pid ${process.ppid} on ${os.hostname()} since 2025-01-01T00:00:00.000Z \\(backup\\)`),
    );
    await expect(acquireLock(store, "other", "restore")).rejects.toBeInstanceOf(LockedError);
    await release();
    const again = await acquireLock(store, "open-webui", "backup");
    await again();
  });

  it("takes over a lock whose process is gone", async () => {
    const store = newStore();
    const dead = spawnSync(process.execPath, ["-e", "process.pid"]).pid as number;
    await store.put("locks/open-webui.json", jsonBody({ pid: dead, host: os.hostname(), since: "2025-01-01T00:00:00.000Z", command: "backup" }));
    const release = await acquireLock(store, "open-webui", "backup");
    await release();
    expect(await store.stat("locks/open-webui.json")).toBeUndefined();
  });

  it("lets exactly one of many concurrent takers take over a dead holder's lock", async () => {
    const store = newStore();
    const dead = spawnSync(process.execPath, ["-e", "0"]).pid as number;
    await store.put("locks/open-webui.json", jsonBody({ pid: dead, host: os.hostname(), since: "2025-01-01T00:00:00.000Z", command: "backup" }));
    // Each taker looks like a different live process on this host: the parent and this process.
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => acquireLock(store, "open-webui", "backup")));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(results.filter((r) => r.status === "rejected").every((r) => (r as PromiseRejectedResult).reason instanceof LockedError)).toBe(true);
    const keys: string[] = [];
    for await (const o of store.list("locks/")) keys.push(o.key);
    expect(keys).toEqual(["locks/open-webui.json"]);
  });

  it("never takes over a lock held from another host", async () => {
    const store = newStore();
    await store.put("locks/open-webui.json", jsonBody({ pid: 1, host: "elsewhere", since: "2025-01-01T00:00:00.000Z", command: "watch" }));
    await expect(acquireLock(store, "open-webui", "backup")).rejects.toBeInstanceOf(LockedError);
  });
});

describe("run lock across hosts", () => {
  it("writes owner, time and expiry, and takes over an expired lock from another host", async () => {
    const store = newStore();
    const release = await acquireLock(store, "open-webui", "backup");
    const held = JSON.parse(fs.readFileSync(path.join(store.root, "locks/open-webui.json"), "utf8"));
    expect(held).toMatchObject({ pid: process.pid, host: os.hostname(), command: "backup" });
    expect(Date.parse(held.expiresAt) - Date.parse(held.since)).toBeGreaterThanOrEqual(LOCK_TTL_MS - 1000);
    await release();

    const past = new Date(Date.now() - 60_000).toISOString();
    await store.put("locks/open-webui.json", jsonBody({ pid: 1, host: "elsewhere", since: "2025-01-01T00:00:00.000Z", command: "watch", expiresAt: past }));
    const mine = await acquireLock(store, "open-webui", "backup");
    expect(JSON.parse(fs.readFileSync(path.join(store.root, "locks/open-webui.json"), "utf8")).host).toBe(os.hostname());
    await mine();
  });

  it("renews its expiry while the run lasts", async () => {
    const store = newStore();
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval", "Date"] });
    try {
      const release = await acquireLock(store, "open-webui", "backup");
      const read = () => JSON.parse(fs.readFileSync(path.join(store.root, "locks/open-webui.json"), "utf8")).expiresAt as string;
      const first = read();
      await vi.advanceTimersByTimeAsync(LOCK_TTL_MS / 2);
      await vi.waitFor(() => expect(Date.parse(read())).toBeGreaterThan(Date.parse(first)));
      await release();
    } finally {
      vi.useRealTimers();
    }
  });

  it("waits for a live lock from another host and says when it expires", async () => {
    const store = newStore();
    const future = new Date(Date.now() + 60_000).toISOString();
    await store.put("locks/open-webui.json", jsonBody({ pid: 1, host: "elsewhere", since: "2025-01-01T00:00:00.000Z", command: "watch", expiresAt: future }));
    await expect(acquireLock(store, "open-webui", "backup")).rejects.toThrow(`the lock expires at ${future} unless renewed`);
  });
});
