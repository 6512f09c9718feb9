import type { Logger } from "pino";
import type { Catalog } from "../snapshot/catalog.js";
import type { Store } from "../store/store.js";
import { readChunkIndex } from "./chunk-reader.js";
import { ChunkStore } from "./chunk-store.js";

export interface CollectResult {
  removed: number;
  bytes: number;
  /** Why nothing was looked at, when nothing was. */
  skipped?: string;
}

/**
 * Deletes the chunks of a container that no complete snapshot references any more. Runs under the
 * container's lock (so no backup of it is between writing a chunk and writing its manifest), and
 * deletes nothing when any manifest or index cannot be read: a chunk is only garbage when it is
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
  await store.abortPartialWrites(chunks.prefix);
  let removed = 0;
  let bytes = 0;
  for (const [id, stored] of await chunks.listStored()) {
    if (referenced.has(id)) continue;
    await store.delete(chunks.key({ id, gzip: stored.gzip }));
    removed++;
    bytes += stored.stored;
  }
  if (removed > 0) log.info({ removed, bytes }, `removed ${removed} chunks no snapshot uses`);
  return { removed, bytes };
}
