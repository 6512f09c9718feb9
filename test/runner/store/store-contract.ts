import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { NotFoundError } from "../../../runner/src/errors.js";
import { readSmallObject, type Store } from "../../../runner/src/store/store.js";

/**
 * The contract every store backend passes (restic's habit: one suite, every backend). Call it with a
 * factory that returns an empty store.
 */
export function storeContract(backend: string, makeStore: () => Promise<Store>): void {
  describe(`store contract: ${backend}`, () => {
    const keys = async (store: Store, prefix: string) => {
      const out: string[] = [];
      for await (const o of store.list(prefix)) out.push(o.key);
      return out.sort();
    };

    it("puts and gets bytes and streams, and stats their size", async () => {
      const store = await makeStore();
      await store.put("a/b/one.txt", Buffer.from("hello"));
      await store.put("a/two.bin", Readable.from([Buffer.alloc(70_000, 1), Buffer.alloc(30_000, 2)]));
      expect((await readSmallObject(store, "a/b/one.txt")).toString()).toBe("hello");
      const two = await readSmallObject(store, "a/two.bin");
      expect(two.length).toBe(100_000);
      expect(two[69_999]).toBe(1);
      expect(two[70_000]).toBe(2);
      expect(await store.stat("a/two.bin")).toEqual({ key: "a/two.bin", size: 100_000 });
      expect(await store.stat("a/missing")).toBeUndefined();
    });

    it("reads a byte range of an object (a blob inside a pack)", async () => {
      const store = await makeStore();
      const bytes = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251));
      await store.put("packs/p", bytes);
      expect((await readSmallObject(store, "packs/p", { range: { start: 70_000, end: 70_010 } })).equals(bytes.subarray(70_000, 70_010))).toBe(true);
      expect((await readSmallObject(store, "packs/p", { range: { start: 0, end: 300_000 } })).equals(bytes)).toBe(true);
      expect((await readSmallObject(store, "packs/p", { range: { start: 299_999, end: 300_000 } }))[0]).toBe(bytes[299_999]);
      expect((await readSmallObject(store, "packs/p", { range: { start: 5, end: 5 } })).length).toBe(0);
      await expect(store.get("nope/x", { range: { start: 0, end: 4 } })).rejects.toBeInstanceOf(NotFoundError);
    });

    it("rejects a missing key with NotFoundError", async () => {
      const store = await makeStore();
      await expect(store.get("nope/x")).rejects.toBeInstanceOf(NotFoundError);
    });

    it("overwrites atomically and never exposes a failed write", async () => {
      const store = await makeStore();
      await store.put("k", Buffer.from("first"));
      const failing = new Readable({
        read() {
          this.push(Buffer.alloc(1000, 7));
          this.destroy(new Error("source broke"));
        },
      });
      await expect(store.put("k", failing)).rejects.toThrow(/source broke/);
      await expect(store.put("new", Readable.from((async function* () {
        yield Buffer.from("partial");
        throw new Error("broke again");
      })()))).rejects.toThrow(/broke again/);
      expect((await readSmallObject(store, "k")).toString()).toBe("first");
      expect(await store.stat("new")).toBeUndefined();
      expect(await keys(store, "")).toEqual(["k"]);
    });

    it("creates with putIfAbsent only when the key is free", async () => {
      const store = await makeStore();
      expect(await store.putIfAbsent("locks/x.json", Buffer.from("1"))).toBe(true);
      expect(await store.putIfAbsent("locks/x.json", Buffer.from("2"))).toBe(false);
      expect((await readSmallObject(store, "locks/x.json")).toString()).toBe("1");
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => store.putIfAbsent("race", Buffer.from(String(i)))));
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it("lists by prefix and deletes, missing keys included", async () => {
      const store = await makeStore();
      for (const k of ["snapshots/1/a", "snapshots/1/paths/b", "snapshots/2/a", "snapshotsX/c", "locks/l"]) {
        await store.put(k, Buffer.from(k));
      }
      expect(await keys(store, "snapshots/")).toEqual(["snapshots/1/a", "snapshots/1/paths/b", "snapshots/2/a"]);
      expect(await keys(store, "snapshots/1/")).toEqual(["snapshots/1/a", "snapshots/1/paths/b"]);
      expect(await keys(store, "nothing/")).toEqual([]);
      await store.delete("snapshots/1/paths/b");
      await store.delete("snapshots/1/paths/b");
      await store.delete("never/was");
      expect(await keys(store, "snapshots/1/")).toEqual(["snapshots/1/a"]);
    });

    it("refuses keys that could escape the store", async () => {
      const store = await makeStore();
      for (const bad of ["../x", "/abs", "a/../../b", "a//b"]) {
        await expect(store.put(bad, Buffer.from("x"))).rejects.toThrow();
      }
    });
  });
}
