import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { readCatalog } from "../../../runner/src/snapshot/catalog.js";
import { copySnapshot } from "../../../runner/src/snapshot/copy.js";
import type { Manifest } from "../../../runner/src/snapshot/manifest.js";
import { LocalStore } from "../../../runner/src/store/local/local-store.js";
import { layout } from "../../../runner/src/store/layout.js";
import { jsonBody, readSmallObject } from "../../../runner/src/store/store.js";
import { writeSyntheticSnapshot } from "../../helpers/synthetic.js";

const log = pino({ level: "silent" });
const options = { signal: new AbortController().signal, log };
const newStore = () => new LocalStore(fs.mkdtempSync(path.join(os.tmpdir(), "owui-copy-")));
const keys = async (store: LocalStore) => {
  const out: string[] = [];
  for await (const o of store.list("")) out.push(o.key);
  return out.sort();
};

/** A snapshot with one archive object whose size and sha256 the manifest records. */
async function snapshotWithObject(store: LocalStore, content = Buffer.from("archive bytes")): Promise<Manifest> {
  const base = await writeSyntheticSnapshot(store, { createdAt: "2025-05-01T02:00:00Z" });
  const manifest: Manifest = {
    ...base,
    objects: [{ name: "paths/data.tar.gz", size: content.length, sha256: createHash("sha256").update(content).digest("hex") }],
  };
  await store.put(layout.object(manifest.id, "paths/data.tar.gz"), content);
  await store.put(layout.manifest(manifest.id), jsonBody(manifest));
  return manifest;
}

describe("copySnapshot", () => {
  it("copies every object and the manifest byte for byte, and skips a snapshot already there", async () => {
    const [source, target] = [newStore(), newStore()];
    const manifest = await snapshotWithObject(source);
    expect(await copySnapshot(source, target, manifest, options)).toEqual({ id: manifest.id, status: "copied", bytes: 13 });
    for (const key of [layout.manifest(manifest.id), layout.object(manifest.id, "paths/data.tar.gz")]) {
      expect((await readSmallObject(target, key)).equals(await readSmallObject(source, key))).toBe(true);
    }
    expect(await copySnapshot(source, target, manifest, options)).toEqual({ id: manifest.id, status: "present", bytes: 0 });
  });

  it("refuses a damaged source object and leaves nothing in the target", async () => {
    const [source, target] = [newStore(), newStore()];
    const manifest = await snapshotWithObject(source);
    await source.put(layout.object(manifest.id, "paths/data.tar.gz"), Buffer.from("archive bytez"));
    await expect(copySnapshot(source, target, manifest, options)).rejects.toThrow(
      `paths/data.tar.gz of snapshot ${manifest.id} in ${source.location} does not match its manifest`,
    );
    expect(await keys(target)).toEqual([]);
  });

  it("never overwrites a different snapshot under the same id", async () => {
    const [source, target] = [newStore(), newStore()];
    const manifest = await snapshotWithObject(source);
    await snapshotWithObject(target, Buffer.from("other bytes"));
    await expect(copySnapshot(source, target, manifest, options)).rejects.toThrow(/differs from the one in/);
  });

  it("replaces an incomplete copy left by a run that died", async () => {
    const [source, target] = [newStore(), newStore()];
    const manifest = await snapshotWithObject(source);
    const dead = spawnSync(process.execPath, ["-e", "0"]).pid as number;
    await target.put(layout.owner(manifest.id), jsonBody({ pid: dead, host: os.hostname(), since: new Date().toISOString(), command: "copy" }));
    await target.put(layout.object(manifest.id, "paths/half.tar.gz"), Buffer.from("half"));
    expect((await copySnapshot(source, target, manifest, options)).status).toBe("copied");
    expect((await readCatalog(target)).snapshots.map((s) => s.id)).toEqual([manifest.id]);
    expect(await keys(target)).not.toContain(layout.object(manifest.id, "paths/half.tar.gz"));
  });
});
