import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { TarHeader } from "../../../runner/src/archive/tar-rewrite.js";
import { placeholderHeader, type ChunkIndex } from "../../../runner/src/chunks/chunk-index.js";
import { chunkExpander } from "../../../runner/src/chunks/chunk-reader.js";
import { ChunkStore } from "../../../runner/src/chunks/chunk-store.js";
import { ChunkWriter } from "../../../runner/src/chunks/chunk-writer.js";
import { loadPackIndex } from "../../../runner/src/chunks/pack-index.js";
import { syncChunks } from "../../../runner/src/snapshot/copy-chunks.js";
import type { Manifest } from "../../../runner/src/snapshot/manifest.js";
import { LocalStore } from "../../../runner/src/store/local/local-store.js";
import { layout } from "../../../runner/src/store/layout.js";

const signal = new AbortController().signal;
const MANUAL_RESTORE = path.resolve(import.meta.dirname, "../../../docs/manual-restore.py");
const newStore = () => new LocalStore(fs.mkdtempSync(path.join(os.tmpdir(), "owui-copy-chunks-")));
const files = Array.from({ length: 40 }, (_, i) => ({ name: `data/uploads/${i}.bin`, content: randomBytes(2000 + i * 700) }));
const packFiles = (store: LocalStore) =>
  fs
    .readdirSync(path.join(store.root, "chunks/c/packs"), { recursive: true })
    .map(String)
    .filter((f) => f.endsWith(".pack"))
    .map((f) => path.join(store.root, "chunks/c/packs", f));
const indexFiles = (store: LocalStore) => fs.readdirSync(path.join(store.root, "chunks/c/index")).map((f) => path.join(store.root, "chunks/c/index", f));
async function* once(bytes: Buffer): AsyncIterable<Buffer> {
  yield bytes;
}
const flipByte = (file: string, at: number) => {
  const bytes = fs.readFileSync(file);
  bytes[at] = bytes[at]! ^ 1;
  fs.writeFileSync(file, bytes);
};

/** Backs the files up into the store's chunk namespace and records a snapshot whose one path index lists them. */
async function backUp(store: LocalStore, id: string): Promise<{ manifest: Manifest; index: ChunkIndex }> {
  const chunks = new ChunkStore(store, "c");
  const writer = new ChunkWriter(chunks, await chunks.listStored(), await loadPackIndex(chunks), { level: 1, codec: "gzip", signal });
  const indexed = [];
  for (const f of files) indexed.push(await writer.addFile(f.name, f.content.length, once(f.content)));
  const index = await writer.index(indexed);
  await writer.finish();
  const body = Buffer.from(JSON.stringify(index));
  await store.put(layout.object(id, "paths/data.index.json"), body);
  const manifest = {
    id,
    paths: [{ path: "/app/backend/data", index: "paths/data.index.json" }],
    objects: [{ name: "paths/data.index.json", size: body.length, sha256: createHash("sha256").update(body).digest("hex") }],
    chunkStore: { prefix: "chunks/c/" },
  } as unknown as Manifest;
  return { manifest, index };
}

async function expectRestores(store: LocalStore, index: ChunkIndex): Promise<void> {
  const chunks = new ChunkStore(store, "c");
  const expander = chunkExpander(index, chunks, await loadPackIndex(chunks), signal);
  for (const f of files) {
    const entry = expander.entry(placeholderHeader({ name: f.name, type: "file", size: f.content.length, mode: 0o644 } as TarHeader));
    const out: Buffer[] = [];
    for await (const b of entry!.body) out.push(b);
    expect(Buffer.concat(out).equals(f.content), f.name).toBe(true);
  }
}

describe("syncChunks with packs", () => {
  it("a chunk healed into a second pack is copied from the place that checks out; the damaged pack's other chunks are repacked on the target", async () => {
    const [source, target] = [newStore(), newStore()];
    const first = await backUp(source, "20250501T020000Z-aaaa");
    const [damagedPack] = packFiles(source);
    flipByte(damagedPack!, 100);
    // The next backup finds the damaged chunk and writes it into a new pack: the chunk now has two places.
    await backUp(source, "20250502T020000Z-bbbb");
    expect(packFiles(source)).toHaveLength(2);

    const sync = await syncChunks(source, target, first.manifest, { signal });
    expect(sync.bytes).toBeGreaterThan(0);
    // Every pack on the target is what its name says, and its index reads.
    for (const file of packFiles(target)) expect(createHash("sha256").update(fs.readFileSync(file)).digest("hex")).toBe(path.basename(file, ".pack"));
    expect((await loadPackIndex(new ChunkStore(target, "c"))).unreadable).toEqual([]);
    await expectRestores(target, first.index);
    // A second copy finds everything there.
    expect((await syncChunks(source, target, first.manifest, { signal })).replaced).toEqual([]);
  });

  it("a pack index object damaged on the target is written again by the next copy", async () => {
    const [source, target] = [newStore(), newStore()];
    const { manifest, index } = await backUp(source, "20250501T020000Z-aaaa");
    await syncChunks(source, target, manifest, { signal });
    const [indexObject] = indexFiles(target);
    const good = fs.readFileSync(indexObject!);
    flipByte(indexObject!, 20);
    expect((await loadPackIndex(new ChunkStore(target, "c"))).unreadable).toHaveLength(1);

    await syncChunks(source, target, manifest, { signal });
    expect(fs.readFileSync(indexObject!).equals(good)).toBe(true);
    expect((await loadPackIndex(new ChunkStore(target, "c"))).unreadable).toEqual([]);
    await expectRestores(target, index);
  });
});

describe("docs/manual-restore.py", () => {
  it("reads a packed chunk from whichever of its places checks out", async () => {
    const store = newStore();
    const first = await backUp(store, "20250501T020000Z-aaaa");
    flipByte(packFiles(store)[0]!, 100);
    await backUp(store, "20250502T020000Z-bbbb");
    const refs = first.index.files.flatMap((f) => f.chunks);
    // The script's own functions, over the healed store: the damaged chunk has a good second place.
    const script = `
import importlib.util, json, sys, hashlib
spec = importlib.util.spec_from_file_location("manual_restore", sys.argv[1])
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
places = m.pack_index(sys.argv[2])
print(json.dumps([hashlib.sha256(m.read_chunk(ref, sys.argv[2], places)).hexdigest() for ref in json.load(sys.stdin)]))`;
    const out = execFileSync("python3", ["-c", script, MANUAL_RESTORE, path.join(store.root, "chunks/c")], { input: JSON.stringify(refs) });
    expect(JSON.parse(out.toString())).toEqual(refs.map((r) => r.id));
  });
});
