import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import fsp from "node:fs/promises";
import { describe, expect, it, vi } from "vitest";
import { LocalStore } from "../../../runner/src/store/local/local-store.js";
import { defaultStorePath, openStore } from "../../../runner/src/store/open-store.js";
import { storeContract } from "./store-contract.js";

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "owui-store-"));

storeContract("local directory", async () => new LocalStore(path.join(tempDir(), "store")));

describe("local store", () => {
  it("keeps every file private to the user (0600, directories 0700)", async () => {
    const root = path.join(tempDir(), "store");
    const store = new LocalStore(root);
    await store.put("snapshots/x/env.json", Buffer.from("{}"));
    await store.putIfAbsent("locks/c.json", Buffer.from("{}"));
    expect(fs.statSync(path.join(root, "snapshots/x/env.json")).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(root, "locks/c.json")).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(root, "snapshots/x")).mode & 0o777).toBe(0o700);
  });

  it("creates exclusively without hard links on filesystems that have none (FAT, exFAT, some shares)", async () => {
    const store = new LocalStore(path.join(tempDir(), "store"));
    const link = vi.spyOn(fsp, "link").mockRejectedValue(Object.assign(new Error("operation not permitted"), { code: "EPERM" }));
    try {
      expect(await store.putIfAbsent("locks/a.json", Buffer.from("1"))).toBe(true);
      expect(await store.putIfAbsent("locks/a.json", Buffer.from("2"))).toBe(false);
      expect(link).toHaveBeenCalled();
    } finally {
      link.mockRestore();
    }
    expect(fs.readFileSync(path.join(store.root, "locks/a.json"), "utf8")).toBe("1");
    expect(fs.readdirSync(path.join(store.root, "locks"))).toEqual(["a.json"]);
  });

  it("drops the temporary files of writes a dead run left, and nothing else", async () => {
    const root = path.join(tempDir(), "store");
    const store = new LocalStore(root);
    await store.put("snapshots/x/paths/a.tar.gz", Buffer.from("a"));
    fs.writeFileSync(path.join(root, "snapshots/x/paths/.tmp-b.tar.gz.abc123"), "half");
    fs.writeFileSync(path.join(root, "snapshots/x/.tmp-env.json.def456"), "half");
    const listed: string[] = [];
    for await (const o of store.list("snapshots/")) listed.push(o.key);
    expect(listed).toEqual(["snapshots/x/paths/a.tar.gz"]);
    expect(await store.abortPartialWrites("snapshots/x/")).toBe(2);
    expect(fs.readdirSync(path.join(root, "snapshots/x/paths"))).toEqual(["a.tar.gz"]);
    expect(fs.readdirSync(path.join(root, "snapshots/x"))).toEqual(["paths"]);
    expect(await store.abortPartialWrites("snapshots/none/")).toBe(0);
  });

  it("removes directories a delete leaves empty", async () => {
    const root = path.join(tempDir(), "store");
    const store = new LocalStore(root);
    await store.put("snapshots/x/paths/a.tar.gz", Buffer.from("a"));
    await store.delete("snapshots/x/paths/a.tar.gz");
    expect(fs.existsSync(path.join(root, "snapshots/x"))).toBe(false);
    expect(fs.existsSync(root)).toBe(true);
  });

  it("leaves no directory behind when a write fails", async () => {
    const root = path.join(tempDir(), "store");
    const store = new LocalStore(root);
    await store.put("keep", Buffer.from("x"));
    const failing = new (await import("node:stream")).Readable({ read() { this.destroy(new Error("gone")); } });
    await expect(store.put("snapshots/x/paths/a.tar.gz", failing)).rejects.toThrow("gone");
    expect(fs.readdirSync(root)).toEqual(["keep"]);
  });

  it("says in one line when the directory cannot be written", async () => {
    const file = path.join(tempDir(), "a-file");
    fs.writeFileSync(file, "x");
    const store = new LocalStore(path.join(file, "store"));
    await expect(store.checkWritable()).rejects.toThrow(/^store .*a-file\/store is not writable \(ENOTDIR\): pick another --store/);
  });

  it("opens paths and file:// URLs, rejects unknown schemes as usage errors", () => {
    expect(openStore("/tmp/x").location).toBe("/tmp/x");
    expect(openStore("file:///tmp/y").location).toBe("/tmp/y");
    expect(openStore("rel/dir").location).toBe(path.resolve("rel/dir"));
    expect(() => openStore("ftp://host/x")).toThrow(expect.objectContaining({ exitCode: 2 }));
  });

  it("defaults to the platform's per-user data directory", () => {
    expect(defaultStorePath({ XDG_DATA_HOME: "/data" }, "linux")).toBe("/data/owui-backup");
    expect(defaultStorePath({}, "linux")).toBe(path.join(os.homedir(), ".local/share/owui-backup"));
    expect(defaultStorePath({ LOCALAPPDATA: "C:\\Users\\u\\AppData\\Local" }, "win32")).toContain("owui-backup");
    expect(defaultStorePath({}, "darwin")).toContain(path.join("Library", "Application Support", "owui-backup"));
  });
});
