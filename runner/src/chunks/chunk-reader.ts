import { FailureError } from "../errors.js";
import type { TarHeader } from "../archive/tar-rewrite.js";
import { createHash } from "node:crypto";
import { promisify } from "node:util";
import { gunzip } from "node:zlib";
import type { Manifest, PathRecord } from "../snapshot/manifest.js";
import { layout } from "../store/layout.js";
import { readSmallObject, type Store } from "../store/store.js";
import { parseIndex, placeholderSize, realHeader, type ChunkIndex } from "./chunk-index.js";
import { ChunkStore, contiguousRun, type ChunkRef } from "./chunk-store.js";
import type { PackIndex } from "./pack-index.js";

const gunzipAsync = promisify(gunzip);

/** Reads (one chunk, or one range of packed chunks) in flight ahead of the chunk being written. */
const READ_AHEAD = 8;
/** Packed chunks read with one ranged request at most. */
const RUN_CHUNKS = 16;

/**
 * Reads the chunks of an index in order, READ_AHEAD reads at a time (packed chunks that lie one after
 * another in a pack are one read): each chunk is checked (size, sha256) before its bytes are handed
 * out, so nothing unverified reaches a container.
 */
class ChunkPrefetch {
  private started = 0;
  private taken = 0;
  /** Reads in flight, in order: the index of their first chunk and their checked contents. */
  private readonly reads: { first: number; count: number; plains: Promise<Buffer[]> }[] = [];

  constructor(
    private readonly refs: ChunkRef[],
    private readonly chunks: ChunkStore,
    private readonly packIndex: PackIndex | undefined,
    private readonly signal?: AbortSignal,
    /** Told the stored bytes of each chunk as it is handed out (progress counts what is read from the store). */
    private readonly onBytes?: (n: number) => void,
  ) {}

  async take(): Promise<Buffer> {
    this.fill();
    const i = this.taken++;
    const read = this.reads[0];
    if (!read || i < read.first || i >= read.first + read.count) throw new FailureError("the chunk index lists fewer chunks than the archive needs");
    if (i === read.first + read.count - 1) this.reads.shift();
    this.fill();
    const plain = (await read.plains)[i - read.first] as Buffer;
    this.onBytes?.((this.refs[i] as ChunkRef).stored);
    return plain;
  }

  private fill(): void {
    while (this.started < this.refs.length && this.reads.length < READ_AHEAD) {
      const first = this.started;
      const run = contiguousRun(this.refs, first, this.packIndex, RUN_CHUNKS);
      const count = Math.max(1, run.length);
      const refs = this.refs.slice(first, first + count);
      const plains =
        run.length > 1
          ? this.chunks.readRun(refs, run, this.signal).catch(async () => {
              // One damaged copy: each chunk on its own, from any other place that holds it (a chunk
              // none holds intact fails with what went wrong at each of its places).
              this.signal?.throwIfAborted();
              const each: Buffer[] = [];
              for (const ref of refs) each.push(await this.chunks.read(ref, this.signal));
              return each;
            })
          : this.chunks.read(refs[0] as ChunkRef, this.signal).then((plain) => [plain]);
      plains.catch(() => undefined); // reported when taken; one never taken (run aborted) is not an unhandled rejection
      this.reads.push({ first, count, plains });
      this.started += count;
    }
  }
}

/**
 * Puts the content back into an archive's placeholder entries, in archive order, from the path's
 * chunk index. `entry` returns the real header and content for a placeholder and undefined for any
 * other entry; `finish` checks that every indexed file was met.
 */
export function chunkExpander(index: ChunkIndex, chunks: ChunkStore, packIndex: PackIndex | undefined, signal?: AbortSignal, onBytes?: (n: number) => void) {
  const prefetch = new ChunkPrefetch(
    index.files.flatMap((f) => f.chunks),
    chunks,
    packIndex,
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
  // Format 3 gzips its indexes (a 64 KiB-chunked database lists thousands of sha256s).
  const json = object.name.endsWith(".gz")
    ? await gunzipAsync(bytes).catch(() => {
        throw new FailureError(`${object.name} is not valid gzip (corrupted)`);
      })
    : bytes;
  return parseIndex(JSON.parse(json.toString("utf8")), `${manifest.id}/${object.name}`);
}

/** The snapshot's chunk store, made once per run and shared by its paths, so the pack index is read once. */
export function snapshotChunkStore(store: Store, manifest: Manifest): ChunkStore | undefined {
  return manifest.chunkStore ? new ChunkStore(store, manifest.chunkStore.prefix) : undefined;
}

/** The expander for a path's archive, or undefined when the archive has no chunked files (format 1). */
export async function openChunkExpander(
  store: Store,
  manifest: Manifest,
  record: PathRecord,
  signal?: AbortSignal,
  onBytes?: (n: number) => void,
  /** The snapshot's chunk store, shared between its paths so the pack index is read once. */
  chunks?: ChunkStore,
): Promise<ChunkExpander | undefined> {
  const index = await readChunkIndex(store, manifest, record);
  if (!index) return undefined;
  if (!manifest.chunkStore) throw new FailureError(`snapshot ${manifest.id} has a chunk index but no chunk store`);
  const from = chunks ?? new ChunkStore(store, manifest.chunkStore.prefix);
  const packed = index.files.some((f) => f.chunks.some((c) => c.packed));
  return chunkExpander(index, from, packed ? await from.packIndex(signal) : undefined, signal, onBytes);
}
