import { createHash } from "node:crypto";
import { readChunkIndex } from "../chunks/chunk-reader.js";
import { ChunkStore, sameStored, type ChunkRef } from "../chunks/chunk-store.js";
import { writePackIndex, type PackRecord } from "../chunks/pack-index.js";
import { FailureError } from "../errors.js";
import { readSmallObject, type Store } from "../store/store.js";
import type { Manifest } from "./manifest.js";

export interface ChunkSync {
  bytes: number;
  /** Keys written: chunks and packs the target lacked, or held damaged or in another form. */
  replaced: string[];
}

/**
 * Makes the target hold every chunk the snapshot references: chunks of their own the target lacks
 * (or holds in another form) are copied one by one, each read and checked against its sha256 first;
 * packs holding packed chunks the target cannot find are copied whole (checked against the sha256
 * they are named by), with the source's pack index objects that list them, byte for byte. A packed
 * chunk whose every pack in the source is damaged (somewhere, not necessarily in it) is read and
 * checked on its own and written into a new pack on the target. With `verify`, every chunk the target
 * already has is read and checked too, and a damaged one copied again.
 */
export async function syncChunks(
  source: Store,
  target: Store,
  manifest: Manifest,
  options: { signal: AbortSignal; onBytes?: (n: number) => void; verify?: boolean },
): Promise<ChunkSync> {
  const result: ChunkSync = { bytes: 0, replaced: [] };
  if (!manifest.chunkStore) return result;
  const from = new ChunkStore(source, manifest.chunkStore.prefix);
  const to = new ChunkStore(target, manifest.chunkStore.prefix);
  const refs = await referencedChunks(source, manifest);
  const present = await to.listStored();

  const alone: ChunkRef[] = [];
  for (const ref of [...refs.values()].filter((r) => !r.packed)) {
    const there = present.chunks.get(ref.id);
    // A chunk the target holds in another form (written there at another level) is copied to the key this index names.
    if (!sameStored(there, ref) || (options.verify && !(await to.readStored(ref, options.signal).then(() => true, () => false)))) alone.push(ref);
  }
  result.replaced.push(...alone.map((ref) => to.key(ref)));
  result.bytes += await putChunks(from, to, alone, options);

  const packed = [...refs.values()].filter((r) => r.packed);
  if (packed.length === 0) return result;
  const theirs = await to.packIndex(options.signal);
  const ours = await from.packIndex(options.signal);
  // Packs copied whole, packs of the source that failed their check, and chunks to repack on the target.
  const copied = new Set<string>();
  const damaged = new Set<string>();
  const repack: ChunkRef[] = [];
  for (const ref of packed) {
    const place = theirs.find(ref.id).find((p) => present.packs.get(p.pack) === p.packSize);
    const intact = place && (!options.verify || (await to.readRun([ref], [place], options.signal).then(() => true, () => false)));
    if (intact) continue;
    const origins = ours.find(ref.id);
    if (origins.length === 0) {
      const unreadable = ours.unreadable.length > 0 ? ` (cannot be read: ${ours.unreadable.map((u) => `${u.key}: ${u.why}`).join("; ")})` : "";
      throw new FailureError(`chunk ${ref.id} of snapshot ${manifest.id} is in no pack index of ${from.prefix} in ${source.location}${unreadable}`);
    }
    if (origins.some((o) => copied.has(o.pack))) continue;
    let done = false;
    for (const origin of origins.filter((o) => !damaged.has(o.pack))) {
      if (await copyPack(source, target, from, to, ours.packs.get(origin.pack) as PackRecord, options.signal, result, options.onBytes)) {
        copied.add(origin.pack);
        done = true;
        break;
      }
      damaged.add(origin.pack);
    }
    // Every pack that holds it is damaged somewhere (not necessarily in this chunk): the chunk itself,
    // read and checked from whichever place holds it intact, goes into a new pack on the target.
    if (!done) repack.push(ref);
  }
  // The source's index objects that list the packs copied, byte for byte (a copy stays the same
  // objects); one the target holds but cannot read is written again.
  const unreadableThere = new Set(theirs.unreadable.map((u) => u.key));
  for (const [key, packs] of ours.objects) {
    if (!packs.some((p) => copied.has(p))) continue;
    if (!unreadableThere.has(key) && (await target.stat(key))) continue;
    const bytes = await readSmallObject(source, key, { signal: options.signal });
    if (createHash("sha256").update(bytes).digest("hex") !== from.indexIdOf(key)) {
      throw new FailureError(`${key} in ${source.location} changed while it was copied; run the copy again`);
    }
    result.replaced.push(key);
    await target.put(key, bytes, { signal: options.signal, sha256: createHash("sha256").update(bytes).digest("base64") });
    result.bytes += bytes.length;
  }
  if (repack.length > 0) await repackChunks(from, to, repack, options.signal, result, options.onBytes);
  if (copied.size > 0 || repack.length > 0) to.forgetPackIndex();
  return result;
}

/** Copies one pack whole if its bytes are what its name says; false when they are not (or cannot be read). */
async function copyPack(
  source: Store,
  target: Store,
  from: ChunkStore,
  to: ChunkStore,
  pack: PackRecord,
  signal: AbortSignal,
  result: ChunkSync,
  onBytes?: (n: number) => void,
): Promise<boolean> {
  signal.throwIfAborted();
  const bytes = await readSmallObject(source, from.packKey(pack.id), { signal }).catch(() => undefined);
  signal.throwIfAborted();
  if (!bytes || bytes.length !== pack.size || createHash("sha256").update(bytes).digest("hex") !== pack.id) return false;
  result.replaced.push(to.packKey(pack.id));
  await target.put(to.packKey(pack.id), bytes, { signal, sha256: Buffer.from(pack.id, "hex").toString("base64") });
  result.bytes += bytes.length;
  onBytes?.(bytes.length);
  return true;
}

/** Writes these chunks, each read and checked, into new packs on the target, with one index object for them. */
async function repackChunks(from: ChunkStore, to: ChunkStore, refs: ChunkRef[], signal: AbortSignal, result: ChunkSync, onBytes?: (n: number) => void): Promise<void> {
  const packs: PackRecord[] = [];
  let parts: Buffer[] = [];
  let blobs: PackRecord["blobs"] = [];
  let bytes = 0;
  const put = async () => {
    const body = Buffer.concat(parts, bytes);
    const id = createHash("sha256").update(body).digest("hex");
    result.replaced.push(to.packKey(id));
    await to.store.put(to.packKey(id), body, { signal, sha256: Buffer.from(id, "hex").toString("base64") });
    packs.push({ id, size: body.length, blobs });
    result.bytes += body.length;
    onBytes?.(body.length);
    parts = [];
    blobs = [];
    bytes = 0;
  };
  for (const ref of refs) {
    const { stored, codec } = await from.readStored(ref, signal);
    blobs.push({ id: ref.id, offset: bytes, stored: stored.length, size: ref.size, codec });
    parts.push(stored);
    bytes += stored.length;
    if (bytes >= REPACK_BYTES) await put();
  }
  if (bytes > 0) await put();
  const key = await writePackIndex(to, packs, signal);
  result.replaced.push(key);
}

/** A pack written by a copy that repacks chunks is closed at this size (as a backup's are). */
const REPACK_BYTES = 4 * 1024 * 1024;

/** Every chunk the snapshot's indexes reference, by id. */
async function referencedChunks(source: Store, manifest: Manifest): Promise<Map<string, ChunkRef>> {
  const refs = new Map<string, ChunkRef>();
  for (const record of manifest.paths) {
    const index = await readChunkIndex(source, manifest, record);
    for (const ref of index?.files.flatMap((f) => f.chunks) ?? []) refs.set(ref.id, ref);
  }
  return refs;
}

/** Writes these chunks from the source into the target, each read and checked first, a few at a time. */
async function putChunks(
  from: ChunkStore,
  to: ChunkStore,
  chunks: ChunkRef[],
  options: { signal: AbortSignal; onBytes?: (n: number) => void },
): Promise<number> {
  const signal = options.signal;
  const missing = [...chunks];
  let bytes = 0;
  const worker = async () => {
    for (let ref = missing.pop(); ref; ref = missing.pop()) {
      const { stored } = await from.readStored(ref, signal);
      await to.store.put(to.key(ref), stored, { signal, sha256: createHash("sha256").update(stored).digest("base64") });
      bytes += stored.length;
      options.onBytes?.(stored.length);
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return bytes;
}
