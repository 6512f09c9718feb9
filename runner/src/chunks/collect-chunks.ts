import type { Logger } from "pino";
import type { Catalog } from "../snapshot/catalog.js";
import type { Store } from "../store/store.js";
import { readChunkIndex } from "./chunk-reader.js";
import { codecFields } from "./chunk-index.js";
import { ChunkStore } from "./chunk-store.js";
import { loadPackIndex, writePackIndex, type PackIndex, type PackRecord } from "./pack-index.js";

export interface CollectResult {
  removed: number;
  bytes: number;
  /** Why nothing was looked at, when nothing was. */
  skipped?: string;
}

/**
 * Deletes the chunks and packs of a container that no complete snapshot references any more (a pack
 * as soon as none of the chunks in it is referenced: packs are not rewritten). Runs under the
 * container's lock (so no backup of it is between writing a chunk and writing its manifest), and
 * deletes nothing when any manifest, index or pack index cannot be read: a chunk is only garbage when it is
 * certainly unused.
 */
export async function collectChunks(
  store: Store,
  container: string,
  catalog: Catalog,
  log: Logger,
  /** Chunks kept whatever the catalog says (the snapshot this run just wrote, should a listing lag). */
  keep: Iterable<string> = [],
): Promise<CollectResult> {
  const chunks = new ChunkStore(store, container);
  if (catalog.unreadable.length > 0) {
    return { removed: 0, bytes: 0, skipped: `unreadable manifests (${catalog.unreadable.map((u) => u.id).join(", ")})` };
  }
  const referenced = new Set<string>(keep);
  for (const manifest of catalog.snapshots.filter((s) => s.chunkStore?.prefix === chunks.prefix)) {
    for (const record of manifest.paths) {
      const index = await readChunkIndex(store, manifest, record).catch((err: unknown) => err as Error);
      if (index instanceof Error) return { removed: 0, bytes: 0, skipped: `the chunk index of ${manifest.id} cannot be read (${index.message})` };
      for (const file of index?.files ?? []) for (const ref of file.chunks) referenced.add(ref.id);
    }
  }
  const packIndex = await loadPackIndex(chunks);
  if (packIndex.unreadable.length > 0) {
    return { removed: 0, bytes: 0, skipped: `a pack index cannot be read (${packIndex.unreadable.map((u) => `${u.key}: ${u.why}`).join("; ")})` };
  }
  await store.abortPartialWrites(chunks.prefix);
  const listed = await chunks.listStored();
  let removed = 0;
  let bytes = 0;
  for (const [id, stored] of listed.chunks) {
    if (referenced.has(id)) continue;
    await store.delete(chunks.key({ id, ...codecFields(stored.codec) }));
    removed++;
    bytes += stored.stored;
  }
  // A pack lives while any chunk in it is referenced; one no index lists (a killed run's) is garbage too.
  const live = new Set([...packIndex.packs.values()].filter((p) => p.blobs.some((b) => referenced.has(b.id))).map((p) => p.id));
  for (const [pack, size] of listed.packs) {
    if (live.has(pack)) continue;
    await store.delete(chunks.packKey(pack));
    removed++;
    bytes += size;
  }
  await rewritePackIndex(chunks, packIndex, live);
  if (removed > 0) log.info({ removed, bytes }, `removed ${removed} chunks and packs no snapshot uses`);
  return { removed, bytes };
}

/** Index objects merged past this count: every backup that packs something adds one. */
const MAX_INDEX_OBJECTS = 16;

/**
 * Drops the deleted packs from the pack index: the index objects that list one are replaced by one
 * object listing their live packs (written before the old ones go, so a run killed in between leaves
 * a chunk listed twice, never not at all). Past MAX_INDEX_OBJECTS, all of them are merged.
 */
async function rewritePackIndex(chunks: ChunkStore, packIndex: PackIndex, live: Set<string>): Promise<void> {
  const merge = packIndex.objects.size > MAX_INDEX_OBJECTS;
  const stale = [...packIndex.objects].filter(([, packs]) => merge || packs.some((p) => !live.has(p)));
  if (stale.length === 0 || (stale.length === 1 && !stale[0]?.[1].some((p) => !live.has(p)))) return;
  const kept = [...new Set(stale.flatMap(([, packs]) => packs.filter((p) => live.has(p))))].map((p) => packIndex.packs.get(p) as PackRecord);
  const written = kept.length > 0 ? await writePackIndex(chunks, kept) : undefined;
  for (const [key] of stale) if (key !== written) await chunks.store.delete(key);
  chunks.forgetPackIndex();
}
