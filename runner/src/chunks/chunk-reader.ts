import { FailureError } from "../errors.js";
import type { TarHeader } from "../archive/tar-rewrite.js";
import { createHash } from "node:crypto";
import type { Manifest, PathRecord } from "../snapshot/manifest.js";
import { layout } from "../store/layout.js";
import { readSmallObject, type Store } from "../store/store.js";
import { parseIndex, placeholderSize, realHeader, type ChunkIndex } from "./chunk-index.js";
import { ChunkStore, type ChunkRef } from "./chunk-store.js";

/** Chunks read ahead of the one being written: downloads and gunzip overlap with writing. */
const READ_AHEAD = 8;

/**
 * Reads the chunks of an index in order, READ_AHEAD at a time: each read is checked (size, sha256)
 * before its bytes are handed out, so nothing unverified reaches a container.
 */
class ChunkPrefetch {
  private started = 0;
  private taken = 0;
  private readonly reads = new Map<number, Promise<Buffer>>();

  constructor(
    private readonly refs: ChunkRef[],
    private readonly chunks: ChunkStore,
    private readonly signal?: AbortSignal,
    /** Told the stored bytes of each chunk as it is handed out (progress counts what is read from the store). */
    private readonly onBytes?: (n: number) => void,
  ) {}

  async take(): Promise<Buffer> {
    this.fill();
    const i = this.taken++;
    const read = this.reads.get(i);
    if (!read) throw new FailureError("the chunk index lists fewer chunks than the archive needs");
    this.reads.delete(i);
    this.fill();
    const plain = await read;
    this.onBytes?.((this.refs[i] as ChunkRef).stored);
    return plain;
  }

  private fill(): void {
    while (this.started < this.refs.length && this.started < this.taken + READ_AHEAD) {
      const read = this.chunks.read(this.refs[this.started] as ChunkRef, this.signal);
      read.catch(() => undefined); // reported when taken; one never taken (run aborted) is not an unhandled rejection
      this.reads.set(this.started++, read);
    }
  }
}

/**
 * Puts the content back into an archive's placeholder entries, in archive order, from the path's
 * chunk index. `entry` returns the real header and content for a placeholder and undefined for any
 * other entry; `finish` checks that every indexed file was met.
 */
export function chunkExpander(index: ChunkIndex, chunks: ChunkStore, signal?: AbortSignal, onBytes?: (n: number) => void) {
  const prefetch = new ChunkPrefetch(
    index.files.flatMap((f) => f.chunks),
    chunks,
    signal,
    onBytes,
  );
  let next = 0;
  return {
    entry(header: TarHeader): { header: TarHeader; body: AsyncIterable<Buffer> } | undefined {
      const size = placeholderSize(header);
      if (size === undefined) return undefined;
      const file = index.files[next++];
      if (!file || file.name !== header.name || file.size !== size) {
        throw new FailureError(`the chunk index does not match the archive at ${JSON.stringify(header.name)}`);
      }
      const count = file.chunks.length;
      return {
        header: realHeader(header, size),
        body: (async function* () {
          for (let i = 0; i < count; i++) yield await prefetch.take();
        })(),
      };
    },
    finish(): void {
      if (next !== index.files.length) {
        throw new FailureError(`the chunk index lists ${index.files.length} files, the archive has ${next} of them`);
      }
    },
  };
}

export type ChunkExpander = ReturnType<typeof chunkExpander>;

/** The index of a path's archive, checked against the manifest's sha256; undefined when it has none. */
export async function readChunkIndex(store: Store, manifest: Manifest, record: PathRecord): Promise<ChunkIndex | undefined> {
  if (!record.index) return undefined;
  const object = manifest.objects.find((o) => o.name === record.index);
  if (!object) throw new FailureError(`snapshot ${manifest.id} does not list the chunk index ${record.index}`);
  const bytes = await readSmallObject(store, layout.object(manifest.id, object.name));
  if (createHash("sha256").update(bytes).digest("hex") !== object.sha256) {
    throw new FailureError(`${object.name} sha256 mismatch (content changed or corrupted)`);
  }
  return parseIndex(JSON.parse(bytes.toString("utf8")), `${manifest.id}/${object.name}`);
}

/** The expander for a path's archive, or undefined when the archive has no chunked files (format 1). */
export async function openChunkExpander(
  store: Store,
  manifest: Manifest,
  record: PathRecord,
  signal?: AbortSignal,
  onBytes?: (n: number) => void,
): Promise<ChunkExpander | undefined> {
  const index = await readChunkIndex(store, manifest, record);
  if (!index) return undefined;
  if (!manifest.chunkStore) throw new FailureError(`snapshot ${manifest.id} has a chunk index but no chunk store`);
  return chunkExpander(index, new ChunkStore(store, manifest.chunkStore.prefix), signal, onBytes);
}
