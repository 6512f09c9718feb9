import { createHash } from "node:crypto";
import { promisify } from "node:util";
import { gunzip, gzip } from "node:zlib";
import { z } from "zod";
import { oneLine } from "../errors.js";
import { readSmallObject } from "../store/store.js";
import type { Codec } from "./codec.js";
import type { ChunkStore } from "./chunk-store.js";

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);
const hex64 = z.string().regex(/^[0-9a-f]{64}$/);

/**
 * Where packed chunks are. A pack (chunks/<container>/packs/<ab>/<sha256>.pack) is small chunks stored
 * one after the other, each compressed on its own; a pack index object
 * (chunks/<container>/index/<sha256>.json.gz) lists packs and the place of every chunk in them. A
 * backup writes one index object for the packs it wrote; prune merges them. Snapshots name chunks by
 * id only, so packs can be rewritten (and their index with them) without touching a snapshot.
 */
const packIndexSchema = z.object({
  packs: z.array(
    z.object({
      /** sha256 of the pack's bytes: its name. */
      id: hex64,
      size: z.number().int().nonnegative(),
      blobs: z.array(
        z.object({
          id: hex64,
          offset: z.number().int().nonnegative(),
          stored: z.number().int().nonnegative(),
          size: z.number().int().nonnegative(),
          codec: z.enum(["raw", "gzip", "zstd"]),
        }),
      ),
    }),
  ),
});

export type PackRecord = z.infer<typeof packIndexSchema>["packs"][number];
export type BlobRecord = PackRecord["blobs"][number];

/** One place a chunk is kept: a range of a pack. */
export interface BlobPlace extends BlobRecord {
  pack: string;
  packSize: number;
}

/** Every pack index object of a container, merged. */
export class PackIndex {
  /** Chunk id → the places it is kept (usually one; two when it was written again). */
  readonly places = new Map<string, BlobPlace[]>();
  readonly packs = new Map<string, PackRecord>();
  /** Index object key → the packs it lists. */
  readonly objects = new Map<string, string[]>();
  /** Index objects that could not be read, with why. */
  readonly unreadable: { key: string; why: string }[] = [];

  /** An index object read from the store, and the packs it lists. */
  add(key: string, packs: PackRecord[]): void {
    this.objects.set(key, packs.map((p) => p.id));
    this.addPacks(packs);
  }

  /** Packs known before any index object lists them (written by this run). */
  addPacks(packs: PackRecord[]): void {
    for (const pack of packs) {
      if (this.packs.has(pack.id)) continue;
      this.packs.set(pack.id, pack);
      for (const blob of pack.blobs) {
        const place: BlobPlace = { ...blob, pack: pack.id, packSize: pack.size };
        const list = this.places.get(blob.id);
        if (list) list.push(place);
        else this.places.set(blob.id, [place]);
      }
    }
  }

  find(id: string): BlobPlace[] {
    return this.places.get(id) ?? [];
  }
}

/** Reads every pack index object of the container; one that cannot be read is listed in `unreadable`. */
export async function loadPackIndex(chunks: ChunkStore, signal?: AbortSignal): Promise<PackIndex> {
  const index = new PackIndex();
  const keys: string[] = [];
  for await (const object of chunks.store.list(chunks.indexPrefix)) {
    if (chunks.isIndexKey(object.key)) keys.push(object.key);
  }
  for (const key of keys.sort()) {
    signal?.throwIfAborted();
    try {
      index.add(key, await readPackIndexObject(chunks, key));
    } catch (err) {
      index.unreadable.push({ key, why: oneLine(err) });
    }
  }
  return index;
}

async function readPackIndexObject(chunks: ChunkStore, key: string): Promise<PackRecord[]> {
  const stored = await readSmallObject(chunks.store, key);
  if (createHash("sha256").update(stored).digest("hex") !== chunks.indexIdOf(key)) {
    throw new Error(`${key} does not match its sha256 (corrupted)`);
  }
  const parsed = packIndexSchema.safeParse(JSON.parse((await gunzipAsync(stored)).toString("utf8")));
  if (!parsed.success) throw new Error(`${key} is not a pack index: ${parsed.error.issues[0]?.message}`);
  return parsed.data.packs;
}

/** Writes one index object listing `packs` (its key is told to `onKey` before the put); returns its key. */
export async function writePackIndex(chunks: ChunkStore, packs: PackRecord[], signal?: AbortSignal, onKey?: (key: string) => void): Promise<string> {
  const body = await gzipAsync(Buffer.from(JSON.stringify({ packs })));
  const id = createHash("sha256").update(body).digest("hex");
  const key = chunks.indexKey(id);
  onKey?.(key);
  await chunks.store.put(key, body, { ...(signal ? { signal } : {}), sha256: Buffer.from(id, "hex").toString("base64") });
  return key;
}

