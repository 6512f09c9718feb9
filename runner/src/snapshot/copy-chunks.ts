import { createHash } from "node:crypto";
import { readChunkIndex } from "../chunks/chunk-reader.js";
import { ChunkStore, sameStored, type ChunkRef } from "../chunks/chunk-store.js";
import type { PackRecord } from "../chunks/pack-index.js";
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
 * they are named by), with the source's pack index objects that list them, byte for byte. With `verify`, every chunk
 * the target already has is read and checked too, and a damaged one copied again.
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
  const needed = new Map<string, PackRecord>();
  for (const ref of packed) {
    const place = theirs.find(ref.id).find((p) => present.packs.get(p.pack) === p.packSize);
    const intact = place && (!options.verify || (await to.readRun([ref], [place], options.signal).then(() => true, () => false)));
    if (intact) continue;
    const origin = ours.find(ref.id)[0];
    if (!origin) throw new FailureError(`chunk ${ref.id} of snapshot ${manifest.id} is in no pack index of ${from.prefix} in ${source.location}`);
    needed.set(origin.pack, ours.packs.get(origin.pack) as PackRecord);
  }
  for (const pack of needed.values()) {
    options.signal.throwIfAborted();
    const bytes = await readSmallObject(source, from.packKey(pack.id), { signal: options.signal });
    if (bytes.length !== pack.size || createHash("sha256").update(bytes).digest("hex") !== pack.id) {
      throw new FailureError(`pack ${from.packKey(pack.id)} in ${source.location} is damaged; run \`owui-backup verify ${manifest.id}\` there`);
    }
    result.replaced.push(to.packKey(pack.id));
    await target.put(to.packKey(pack.id), bytes, { signal: options.signal, sha256: Buffer.from(pack.id, "hex").toString("base64") });
    result.bytes += bytes.length;
    options.onBytes?.(bytes.length);
  }
  // The source's index objects that list them, byte for byte (a copy stays the same objects).
  for (const [key, packs] of ours.objects) {
    if (!packs.some((p) => needed.has(p)) || (await target.stat(key))) continue;
    const bytes = await readSmallObject(source, key, { signal: options.signal });
    if (createHash("sha256").update(bytes).digest("hex") !== from.indexIdOf(key)) {
      throw new FailureError(`${key} in ${source.location} changed while it was copied; run the copy again`);
    }
    await target.put(key, bytes, { signal: options.signal, sha256: createHash("sha256").update(bytes).digest("base64") });
    result.bytes += bytes.length;
  }
  if (needed.size > 0) to.forgetPackIndex();
  return result;
}

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
