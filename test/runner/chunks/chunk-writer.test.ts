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
const chunkFiles = (store: LocalStore) =>
  fs.existsSync(path.join(store.root, "chunks")) ? fs.readdirSync(path.join(store.root, "chunks/c"), { recursive: true }).map(String).filter((f) => f.includes("/")) : [];

describe("ChunkWriter and chunkExpander", () => {
  it("stores random content as it is and text gzipped, each distinct chunk once, and puts the files back exactly", async () => {
    const store = newStore();
    const chunks = new ChunkStore(store, "c");
    const writer = new ChunkWriter(chunks, await chunks.listStored(), { level: 1, signal });
    const random = randomBytes(2 * CHUNK_BYTES + 12_345);
    const words = text(CHUNK_BYTES + 7);
    const files = [
      await writer.addFile("data/models/blob", random.length, pieces(random)),
      await writer.addFile("data/uploads/notes.txt", words.length, pieces(words)),
      // The same content again under another name: no new chunk.
      await writer.addFile("data/uploads/copy.bin", random.length, pieces(random, 1 << 20)),
    ];
    const index = await writer.index(files);

    expect(index.files.map((f) => f.chunks.length)).toEqual([3, 2, 3]);
    expect(index.files[0]!.chunks.every((c) => !c.gzip && c.stored === c.size)).toBe(true);
    expect(index.files[1]!.chunks[0]!.gzip).toBe(true);
    expect(index.files[1]!.chunks[0]!.stored).toBeLessThan(CHUNK_BYTES / 10);
    // 3 random + 2 text chunks; the copy reuses all 3 of its chunks.
    expect(writer.stats).toMatchObject({ newChunks: 5, reusedChunks: 3 });
    const stored = chunkFiles(store);
    expect(stored).toHaveLength(5);
    // Only the full text chunk is gzipped: the random ones and the 7-byte tail would not get smaller.
    expect(stored.filter((f) => f.endsWith(".gz"))).toHaveLength(1);
    for (const f of stored) expect(f).toMatch(/^([0-9a-f]{2})\/\1[0-9a-f]{62}(\.gz)?$/);
    expect(fs.statSync(path.join(store.root, "chunks/c", stored[0]!)).mode & 0o777).toBe(0o600);

    const expander = chunkExpander(index, chunks, signal);
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
    const first = new ChunkWriter(chunks, await chunks.listStored(), { level: 1, signal });
    await first.index([await first.addFile("f", content.length, pieces(content))]);
    // One byte changed in the middle chunk: one new chunk.
    content[CHUNK_BYTES + 10] = content[CHUNK_BYTES + 10]! ^ 0xff;
    const second = new ChunkWriter(chunks, await chunks.listStored(), { level: 1, signal });
    await second.index([await second.addFile("f", content.length, pieces(content))]);
    expect(first.stats).toMatchObject({ newChunks: 3, newBytes: 3 * CHUNK_BYTES });
    expect(second.stats).toMatchObject({ newChunks: 1, newBytes: CHUNK_BYTES, reusedChunks: 2 });
  });

  it("a damaged or missing chunk fails the read with its name, before any of its bytes are handed out", async () => {
    const store = newStore();
    const chunks = new ChunkStore(store, "c");
    const writer = new ChunkWriter(chunks, new Map(), { level: 1, signal });
    const content = randomBytes(CHUNK_BYTES + 100);
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

    const expander = chunkExpander(index, chunks, signal);
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
    expect(() => chunkExpander(index, chunks).entry(placeholderHeader(fileHeader("data/b", 0)))).toThrow(
      /does not match the archive at "data\/b"/,
    );
    expect(() => chunkExpander(index, chunks).finish()).toThrow(/lists 1 files, the archive has 0/);
  });

  it("a failed run takes back the chunks it wrote and keeps those that were there", async () => {
    const store = newStore();
    const chunks = new ChunkStore(store, "c");
    const before = new ChunkWriter(chunks, new Map(), { level: 1, signal });
    const kept = randomBytes(CHUNK_BYTES);
    await before.index([await before.addFile("kept", kept.length, pieces(kept))]);
    const failed = new ChunkWriter(chunks, await chunks.listStored(), { level: 1, signal });
    await failed.addFile("both", 2 * CHUNK_BYTES, pieces(Buffer.concat([kept, randomBytes(CHUNK_BYTES)])));
    await failed.flush();
    expect(chunkFiles(store)).toHaveLength(2);
    await failed.discard();
    expect(chunkFiles(store)).toEqual([...(await chunks.listStored()).keys()].map((id) => `${id.slice(0, 2)}/${id}`));
    expect(chunkFiles(store)).toHaveLength(1);
  });
});
