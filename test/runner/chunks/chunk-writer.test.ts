import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { TarHeader } from "../../../runner/src/archive/tar-rewrite.js";
import { CHUNK_BYTES, placeholderHeader } from "../../../runner/src/chunks/chunk-index.js";
import { chunkExpander } from "../../../runner/src/chunks/chunk-reader.js";
import { ChunkStore } from "../../../runner/src/chunks/chunk-store.js";
import { ChunkWriter } from "../../../runner/src/chunks/chunk-writer.js";
import type { Codec } from "../../../runner/src/chunks/codec.js";
import { loadPackIndex } from "../../../runner/src/chunks/pack-index.js";
import { LocalStore } from "../../../runner/src/store/local/local-store.js";

const fileHeader = (name: string, size: number) => ({ name, type: "file", size, mode: 0o644 }) as TarHeader;
const newStore = () => new LocalStore(fs.mkdtempSync(path.join(os.tmpdir(), "owui-chunks-")));
const signal = new AbortController().signal;
/** A body delivered in awkward pieces, as a tar stream delivers it. */
async function* pieces(bytes: Buffer, size = 65_537): AsyncIterable<Buffer> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}
const text = (bytes: number) => Buffer.from("chat message with some words in it; ".repeat(Math.ceil(bytes / 36)).slice(0, bytes));
const collect = async (body: AsyncIterable<Buffer>) => {
  const out: Buffer[] = [];
  for await (const b of body) out.push(b);
  return Buffer.concat(out);
};
/** Chunks stored on their own (not packs, not the pack index). */
const chunkFiles = (store: LocalStore) => allFiles(store).filter((f) => /^[0-9a-f]{2}\//.test(f));
const packFiles = (store: LocalStore) => allFiles(store).filter((f) => f.startsWith("packs/"));
const allFiles = (store: LocalStore) =>
  fs.existsSync(path.join(store.root, "chunks/c"))
    ? fs.readdirSync(path.join(store.root, "chunks/c"), { recursive: true }).map(String).filter((f) => fs.statSync(path.join(store.root, "chunks/c", f)).isFile())
    : [];
/** A writer over what the store holds now, as a backup starts one. */
async function writerFor(chunks: ChunkStore, options: { level?: number; codec?: Exclude<Codec, "raw">; knownSizes?: Map<string, number>; onDamaged?: (key: string) => void } = {}) {
  return new ChunkWriter(chunks, await chunks.listStored(), await loadPackIndex(chunks), { level: 1, codec: "gzip", signal, ...options });
}

describe("ChunkWriter and chunkExpander", () => {
  it("stores random content as it is and text gzipped, each distinct chunk once, and puts the files back exactly", async () => {
    const store = newStore();
    const chunks = new ChunkStore(store, "c");
    const writer = await writerFor(chunks);
    const random = randomBytes(2 * CHUNK_BYTES + 12_345);
    const words = text(CHUNK_BYTES + 7);
    const files = [
      await writer.addFile("data/models/blob", random.length, pieces(random)),
      await writer.addFile("data/uploads/notes.txt", words.length, pieces(words)),
      // The same content again under another name: no new chunk.
      await writer.addFile("data/uploads/copy.bin", random.length, pieces(random, 1 << 20)),
    ];
    const index = await writer.index(files);
    await writer.finish();

    expect(index.files.map((f) => f.chunks.length)).toEqual([3, 2, 3]);
    expect(index.files[0]!.chunks.every((c) => !c.gzip && c.stored === c.size)).toBe(true);
    expect(index.files[1]!.chunks[0]!.gzip).toBe(true);
    expect(index.files[1]!.chunks[0]!.stored).toBeLessThan(CHUNK_BYTES / 10);
    // 3 random + 2 text chunks; the copy reuses all 3 of its chunks.
    expect(writer.stats).toMatchObject({ newChunks: 5, reusedChunks: 3, newPacks: 1 });
    // The two tails (12,345 and 7 bytes) went into one pack; the 1 MiB pieces are objects of their own.
    expect(index.files.map((f) => f.chunks.map((c) => Boolean(c.packed)))).toEqual([[false, false, true], [false, true], [false, false, true]]);
    const stored = chunkFiles(store);
    expect(stored).toHaveLength(3);
    expect(packFiles(store)).toHaveLength(1);
    // Only the full text chunk is gzipped: the random ones and the 7-byte tail would not get smaller.
    expect(stored.filter((f) => f.endsWith(".gz"))).toHaveLength(1);
    for (const f of stored) expect(f).toMatch(/^([0-9a-f]{2})\/\1[0-9a-f]{62}(\.gz)?$/);
    expect(fs.statSync(path.join(store.root, "chunks/c", stored[0]!)).mode & 0o777).toBe(0o600);

    const expander = chunkExpander(index, chunks, await loadPackIndex(chunks), signal);
    const contents = [random, words, random];
    for (const [i, file] of index.files.entries()) {
      const full = expander.entry(placeholderHeader(fileHeader(file.name, file.size)));
      expect(full?.header).toMatchObject({ name: file.name, size: file.size, mode: 0o644 });
      expect(full?.header.pax).toBeUndefined();
      expect((await collect(full!.body)).equals(contents[i]!)).toBe(true);
    }
    expect(() => expander.finish()).not.toThrow();
    expect(expander.entry(fileHeader("data/small.txt", 3))).toBeUndefined();
  });

  it("a second writer over the same store sends nothing already there", async () => {
    const store = newStore();
    const chunks = new ChunkStore(store, "c");
    const content = randomBytes(3 * CHUNK_BYTES);
    const first = await writerFor(chunks);
    await first.index([await first.addFile("f", content.length, pieces(content))]);
    // One byte changed in the middle chunk: one new chunk.
    content[CHUNK_BYTES + 10] = content[CHUNK_BYTES + 10]! ^ 0xff;
    const second = await writerFor(chunks);
    await second.index([await second.addFile("f", content.length, pieces(content))]);
    expect(first.stats).toMatchObject({ newChunks: 3, newBytes: 3 * CHUNK_BYTES });
    expect(second.stats).toMatchObject({ newChunks: 1, newBytes: CHUNK_BYTES, reusedChunks: 2 });
  });

  it("a damaged or missing chunk fails the read with its name, before any of its bytes are handed out", async () => {
    const store = newStore();
    const chunks = new ChunkStore(store, "c");
    const writer = await writerFor(chunks);
    const content = randomBytes(2 * CHUNK_BYTES);
    const index = await writer.index([await writer.addFile("f", content.length, pieces(content))]);
    const [head, tail] = index.files[0]!.chunks;
    const file = path.join(store.root, chunks.key(tail!));
    const bytes = fs.readFileSync(file);
    bytes[5] = bytes[5]! ^ 1;
    fs.writeFileSync(file, bytes);
    await expect(chunks.read(head!)).resolves.toHaveLength(CHUNK_BYTES);
    await expect(chunks.read(tail!)).rejects.toThrow(/^chunk chunks\/c\/.* does not match its sha256/);
    fs.rmSync(file);
    await expect(chunks.read(tail!)).rejects.toThrow(/^chunk chunks\/c\/.* cannot be read/);

    const expander = chunkExpander(index, chunks, undefined, signal);
    const full = expander.entry(placeholderHeader(fileHeader("f", content.length)));
    const got: Buffer[] = [];
    await expect(
      (async () => {
        for await (const b of full!.body) got.push(b);
      })(),
    ).rejects.toThrow(/cannot be read/);
    expect(Buffer.concat(got).equals(content.subarray(0, CHUNK_BYTES))).toBe(true);
  });

  it("an archive that does not match its index is refused", () => {
    const chunks = new ChunkStore(newStore(), "c");
    const index = { chunkSize: CHUNK_BYTES, files: [{ name: "data/a", size: 0, chunks: [] }] };
    expect(() => chunkExpander(index, chunks, undefined).entry(placeholderHeader(fileHeader("data/b", 0)))).toThrow(
      /does not match the archive at "data\/b"/,
    );
    expect(() => chunkExpander(index, chunks, undefined).finish()).toThrow(/lists 1 files, the archive has 0/);
  });

  it("a failed run takes back the chunks it wrote and keeps those that were there", async () => {
    const store = newStore();
    const chunks = new ChunkStore(store, "c");
    const before = await writerFor(chunks);
    const kept = randomBytes(CHUNK_BYTES);
    const small = text(5000);
    await before.index([await before.addFile("kept", kept.length, pieces(kept)), await before.addFile("small", small.length, pieces(small))]);
    await before.finish();
    const failed = await writerFor(chunks);
    await failed.addFile("both", 2 * CHUNK_BYTES, pieces(Buffer.concat([kept, randomBytes(CHUNK_BYTES)])));
    await failed.addFile("small", small.length, pieces(small));
    await failed.addFile("new small", 6000, pieces(text(6000).reverse()));
    await failed.flush();
    await failed.finish();
    expect(chunkFiles(store)).toHaveLength(2);
    expect(packFiles(store)).toHaveLength(2);
    await failed.discard();
    expect(chunkFiles(store)).toEqual([...(await chunks.listStored()).chunks.keys()].map((id) => `${id.slice(0, 2)}/${id}`));
    expect(chunkFiles(store)).toHaveLength(1);
    expect(packFiles(store)).toHaveLength(1);
    expect(allFiles(store).filter((f) => f.startsWith("index/"))).toHaveLength(1);
  });
});

/** A store that is not a local directory (as S3 is): the writer may only trust sizes there, and read when it cannot. */
function asRemote(store: LocalStore) {
  return new Proxy(store, { get: (target, key) => (key === "localDirectory" ? undefined : Reflect.get(target, key)) }) as LocalStore;
}

describe("a damaged chunk already in the store is written again, never referenced as it is", () => {
  const damage = async (store: LocalStore, change: (bytes: Buffer) => Buffer) => {
    const stored = chunkFiles(store);
    for (const f of stored) {
      const file = path.join(store.root, "chunks/c", f);
      fs.writeFileSync(file, change(fs.readFileSync(file)));
    }
    return stored;
  };
  const backUp = async (store: LocalStore, content: Buffer, known = new Map<string, number>(), level = 1) => {
    const chunks = new ChunkStore(store, "c");
    const damaged: string[] = [];
    const writer = await writerFor(chunks, { level, knownSizes: known, onDamaged: (key) => damaged.push(key) });
    const index = await writer.index([await writer.addFile("data/f", content.length, pieces(content))]);
    return { writer, index, damaged, chunks };
  };
  const readsBack = async (chunks: ChunkStore, index: Awaited<ReturnType<typeof backUp>>["index"], content: Buffer) => {
    const expander = chunkExpander(index, chunks, await loadPackIndex(chunks), signal);
    // equals(), not toEqual(): a deep comparison of megabytes takes seconds.
    expect((await collect(expander.entry(placeholderHeader(fileHeader("data/f", content.length)))!.body)).equals(content)).toBe(true);
  };

  const flip = (at: number) => (b: Buffer) => Buffer.from(b.map((x, i) => (i === at ? x ^ 1 : x)));
  it.each([
    ["remote: truncated raw chunks (an S3 server killed mid-upload)", () => randomBytes(2 * CHUNK_BYTES), (b: Buffer) => b.subarray(0, 588_827), true, true],
    ["remote: truncated gzip chunks, sizes known from the last snapshot", () => text(2 * CHUNK_BYTES), (b: Buffer) => b.subarray(0, b.length - 100), true, true],
    ["remote: truncated gzip chunks, sizes unknown (left by a killed run)", () => text(2 * CHUNK_BYTES), (b: Buffer) => b.subarray(0, b.length - 100), false, true],
    ["local: a flipped byte in raw chunks", () => randomBytes(2 * CHUNK_BYTES), flip(1000), true, false],
    ["local: a flipped byte in gzip chunks", () => text(2 * CHUNK_BYTES), flip(200), true, false],
  ])("%s", async (_what, make, change, sizesKnown, remote) => {
    const local = newStore();
    const store = remote ? asRemote(local) : local;
    const content = make();
    const first = await backUp(store, content);
    const known = new Map(first.index.files[0]!.chunks.map((c) => [c.id, c.stored]));
    const damaged = await damage(local, change);
    const second = await backUp(store, content, sizesKnown ? known : new Map());
    expect(second.damaged.sort()).toEqual(damaged.map((f) => `chunks/c/${f}`).sort());
    expect(second.writer.stats.newChunks).toBe(damaged.length);
    await readsBack(second.chunks, second.index, content);
    // The first snapshot's references are healed too: same key, same form, same size.
    await readsBack(first.chunks, first.index, content);
  });

  it("a gzip chunk healed at another compression level still serves the snapshots that recorded its old size", async () => {
    const store = newStore();
    const content = text(2 * CHUNK_BYTES);
    const first = await backUp(store, content, new Map(), 9);
    await damage(store, flip(200));
    const second = await backUp(store, content, new Map(), 1);
    expect(second.damaged).toHaveLength(2);
    expect(second.index.files[0]!.chunks[0]!.stored).not.toBe(first.index.files[0]!.chunks[0]!.stored);
    await readsBack(first.chunks, first.index, content);
  });

  it("on a remote store a size that matches is trusted without reading; a truncated one is not", async () => {
    const local = newStore();
    const store = asRemote(local);
    const content = text(2 * CHUNK_BYTES);
    const first = await backUp(store, content);
    const known = new Map(first.index.files[0]!.chunks.map((c) => [c.id, c.stored]));
    const reads = { count: 0 };
    const counting = new Proxy(store, {
      get: (target, key) => (key === "get" ? (...args: unknown[]) => (reads.count++, Reflect.apply(target.get, target, args)) : Reflect.get(target, key)),
    }) as LocalStore;
    const unchanged = await backUp(counting, content, known);
    expect(unchanged.damaged).toEqual([]);
    expect(reads.count).toBe(0);
    await damage(local, (b) => b.subarray(0, 10));
    const healed = await backUp(counting, content, known);
    expect(healed.damaged).toHaveLength(2);
    await readsBack(healed.chunks, healed.index, content);
  });
});

describe("packs: small files and database pages as chunks kept together", () => {
  const uploads = () =>
    Array.from({ length: 300 }, (_, i) => ({
      name: `data/uploads/${i}.bin`,
      content: i % 3 === 0 ? randomBytes(1000 + i * 500) : text(1000 + i * 450),
    }));
  const backUpAll = async (chunks: ChunkStore, files: { name: string; content: Buffer }[], options: { codec?: Exclude<Codec, "raw">; chunkBytes?: number } = {}) => {
    const writer = await writerFor(chunks, options.codec ? { codec: options.codec, level: 3 } : {});
    const indexed = [];
    for (const f of files) indexed.push(await writer.addFile(f.name, f.content.length, pieces(f.content, 4096), options.chunkBytes));
    const index = await writer.index(indexed);
    await writer.finish();
    return { writer, index };
  };
  const restoreAll = async (chunks: ChunkStore, index: Awaited<ReturnType<typeof backUpAll>>["index"], files: { name: string; content: Buffer }[]) => {
    const expander = chunkExpander(index, chunks, await loadPackIndex(chunks), signal);
    for (const f of files) {
      const full = expander.entry(placeholderHeader(fileHeader(f.name, f.content.length)));
      expect((await collect(full!.body)).equals(f.content), f.name).toBe(true);
    }
    expander.finish();
  };

  it("300 small files go into a few packs of about 4 MiB, read back with one request per run of chunks", async () => {
    const store = newStore();
    const chunks = new ChunkStore(store, "c");
    const files = uploads();
    const { writer, index } = await backUpAll(chunks, files);
    expect(chunkFiles(store)).toEqual([]);
    const packs = packFiles(store).map((f) => fs.statSync(path.join(store.root, "chunks/c", f)).size);
    expect(packs.length).toBeGreaterThanOrEqual(2);
    expect(packs.length).toBe(writer.stats.newPacks);
    for (const size of packs.slice(0, -1)) expect(size).toBeLessThan(5 * 1024 * 1024);
    expect(index.files.every((f) => f.chunks.every((c) => c.packed))).toBe(true);
    const reads = { count: 0 };
    const counting = new Proxy(store, {
      get: (target, key) => (key === "get" ? (...args: unknown[]) => (reads.count++, Reflect.apply(target.get, target, args)) : Reflect.get(target, key)),
    }) as LocalStore;
    await restoreAll(new ChunkStore(counting, "c"), index, files);
    // 300 chunks; one listing of the index plus ranged reads of up to 16 chunks each.
    expect(reads.count).toBeLessThan(300 / 8);
  });

  it("a second backup of the same small files stores nothing: the pack index says they are there", async () => {
    const store = newStore();
    const chunks = new ChunkStore(store, "c");
    const files = uploads();
    await backUpAll(chunks, files);
    const before = allFiles(store).sort();
    const again = await backUpAll(chunks, files);
    expect(again.writer.stats).toMatchObject({ newChunks: 0, newPacks: 0 });
    expect(allFiles(store).sort()).toEqual(before);
    await restoreAll(chunks, again.index, files);
  });

  it("zstd chunks are named .zst on their own and read back from packs and alone", async () => {
    const store = newStore();
    const chunks = new ChunkStore(store, "c");
    const files = [...uploads().slice(0, 20), { name: "data/big.txt", content: text(3 * CHUNK_BYTES) }];
    const { index } = await backUpAll(chunks, files, { codec: "zstd" });
    expect(chunkFiles(store).filter((f) => f.endsWith(".zst"))).toHaveLength(3);
    expect(index.files.at(-1)!.chunks.every((c) => c.zstd && !c.gzip)).toBe(true);
    await restoreAll(chunks, index, files);
  });

  it("a database cut into 64 KiB chunks: a changed page costs one 64 KiB chunk in a new pack", async () => {
    const store = newStore();
    const chunks = new ChunkStore(store, "c");
    const db = randomBytes(4 * CHUNK_BYTES);
    const first = await backUpAll(chunks, [{ name: "data/webui.db", content: db }], { chunkBytes: 64 * 1024 });
    expect(first.index.files[0]!.chunks).toHaveLength(64);
    db[3 * CHUNK_BYTES + 5] = db[3 * CHUNK_BYTES + 5]! ^ 1;
    const second = await backUpAll(chunks, [{ name: "data/webui.db", content: db }], { chunkBytes: 64 * 1024 });
    expect(second.writer.stats).toMatchObject({ newChunks: 1, newBytes: 64 * 1024, newPacks: 1 });
    await restoreAll(chunks, second.index, [{ name: "data/webui.db", content: db }]);
  });

  it("a packed chunk damaged on a local store is written again into a new pack, and reads fall back to it", async () => {
    const store = newStore();
    const chunks = new ChunkStore(store, "c");
    const files = uploads().slice(0, 40);
    const first = await backUpAll(chunks, files);
    const [pack] = packFiles(store);
    const file = path.join(store.root, "chunks/c", pack!);
    const bytes = fs.readFileSync(file);
    bytes[100] = bytes[100]! ^ 1;
    fs.writeFileSync(file, bytes);
    const damaged: string[] = [];
    const writer = await writerFor(chunks, { onDamaged: (key) => damaged.push(key) });
    const indexed = [];
    for (const f of files) indexed.push(await writer.addFile(f.name, f.content.length, pieces(f.content)));
    const second = await writer.index(indexed);
    await writer.finish();
    expect(damaged).toEqual([`chunks/c/${pack} at 0`]);
    expect(writer.stats.newChunks).toBe(1);
    // The first snapshot's reference finds the chunk's second place.
    await restoreAll(chunks, first.index, files);
    await restoreAll(chunks, second, files);
  });
});

describe("packs under pressure and after failures", () => {
  it("a slow store holds the reader back: full packs are never put more than one per slot at a time", async () => {
    const store = newStore();
    let inFlight = 0;
    let most = 0;
    const slow = new Proxy(store, {
      get: (target, key) =>
        key === "put"
          ? async (...args: Parameters<LocalStore["put"]>) => {
              if (!String(args[0]).endsWith(".pack")) return target.put(...args);
              most = Math.max(most, ++inFlight);
              await new Promise((resolve) => setTimeout(resolve, 150));
              try {
                return await target.put(...args);
              } finally {
                inFlight--;
              }
            }
          : Reflect.get(target, key),
    }) as LocalStore;
    const chunks = new ChunkStore(slow, "c");
    const writer = new ChunkWriter(chunks, await chunks.listStored(), await loadPackIndex(chunks), { level: 1, codec: "gzip", signal, concurrency: 1 });
    const indexed = [];
    for (let i = 0; i < 80; i++) {
      const content = randomBytes(300 * 1024);
      indexed.push(await writer.addFile(`data/uploads/${i}.bin`, content.length, pieces(content)));
    }
    await writer.index(indexed);
    await writer.finish();
    expect(writer.stats.newPacks).toBeGreaterThanOrEqual(5);
    expect(most).toBe(1);
  });

  it("packed chunks lie in a pack in the order they were cut, whatever stored chunks come between them", async () => {
    const store = newStore();
    const chunks = new ChunkStore(store, "c");
    const stored = Array.from({ length: 30 }, () => randomBytes(20 * 1024));
    const before = await writerFor(chunks);
    for (const [i, content] of stored.entries()) await before.addFile(`old/${i}`, content.length, pieces(content));
    await before.finish();

    // New chunks of very different sizes (slow and quick to compress), each followed by a stored one.
    const fresh = Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? text(400 * 1024 + i) : randomBytes(100 + i)));
    const writer = await writerFor(chunks);
    const indexed = [];
    for (const [i, content] of fresh.entries()) {
      indexed.push(await writer.addFile(`new/${i}`, content.length, pieces(content)));
      indexed.push(await writer.addFile(`again/${i}`, stored[i]!.length, pieces(stored[i]!)));
    }
    const index = await writer.index(indexed);
    await writer.finish();
    const cut = index.files.filter((f) => f.name.startsWith("new/")).map((f) => f.chunks[0]!.id);
    const packs = (await loadPackIndex(chunks)).packs;
    const placed = [...packs.values()].filter((p) => p.blobs.some((b) => cut.includes(b.id))).flatMap((p) => p.blobs.map((b) => b.id));
    expect(placed).toEqual(cut);
  });

  it("a failed run that packed again what a pack it could not find already holds leaves that pack in place", async () => {
    const store = newStore();
    const chunks = new ChunkStore(store, "c");
    const files = Array.from({ length: 40 }, (_, i) => text(3000 + i * 100));
    const first = await writerFor(chunks);
    for (const [i, content] of files.entries()) await first.addFile(`data/${i}`, content.length, pieces(content));
    await first.finish();
    const [pack] = packFiles(store);
    // The pack index object is damaged: the next run does not know the pack holds these chunks.
    const indexDir = path.join(store.root, "chunks/c/index");
    const [indexObject] = fs.readdirSync(indexDir);
    const good = fs.readFileSync(path.join(indexDir, indexObject!));
    fs.writeFileSync(path.join(indexDir, indexObject!), Buffer.concat([good, Buffer.from("x")]));

    const again = await writerFor(chunks);
    for (const [i, content] of files.entries()) await again.addFile(`data/${i}`, content.length, pieces(content));
    await again.flush();
    expect(packFiles(store)).toEqual([pack]);
    await again.discard();
    expect(packFiles(store)).toEqual([pack]);
    fs.writeFileSync(path.join(indexDir, indexObject!), good);
    expect((await loadPackIndex(chunks)).unreadable).toEqual([]);
  });
});
