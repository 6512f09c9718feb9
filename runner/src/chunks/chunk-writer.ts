import os from "node:os";
import { promisify } from "node:util";
import { deflateRaw, gunzip, gzip } from "node:zlib";
import { readSmallObject } from "../store/store.js";
import { sha256Base64, sha256Hex } from "./digest.js";
import { CHUNK_BYTES, type ChunkIndex, type IndexedFile } from "./chunk-index.js";
import type { ChunkStoreRecord } from "../snapshot/manifest.js";
import { OUTPUT_CHUNK, type ChunkRef, type ChunkStore, type StoredChunk } from "./chunk-store.js";

const gzipAsync = promisify(gzip);
const deflateRawAsync = promisify(deflateRaw);
const gunzipAsync = promisify(gunzip);

/** Bytes of a chunk test-compressed to decide whether compressing all of it is worth the CPU. */
const SAMPLE_BYTES = 32 * 1024;
/** Compressing must save at least this share, or the chunk is stored as it is. */
const WORTH_IT = 0.9;

export interface ChunkStats {
  /** Chunks written by this run, and their stored bytes. */
  newChunks: number;
  newBytes: number;
  /** Chunks the run needed that were already stored (earlier snapshots, or twice in this one). */
  reusedChunks: number;
}

/**
 * Cuts large files into fixed-size chunks and stores each one not already stored: hash, test whether
 * it compresses, gzip it, put it. Hashing and compression run on libuv's thread pool and several
 * chunks are in flight at once (bounded, so memory is a few chunks whatever the data size), which
 * keeps every core busy while the next file is still being read.
 */
export class ChunkWriter {
  readonly stats: ChunkStats = { newChunks: 0, newBytes: 0, reusedChunks: 0 };
  /** Every distinct chunk handed out by this writer, with its stored size. */
  readonly referenced = new Map<string, number>();
  private readonly pending = new Set<Promise<unknown>>();
  private readonly storing = new Map<string, Promise<StoredChunk>>();
  /** Chunks this writer put (or tried to), by id: whether gzip'd. */
  private readonly written = new Map<string, boolean>();
  private inFlight = 0;
  private readonly waiters: (() => void)[] = [];
  private failure: unknown;
  private readonly concurrency: number;
  private readonly closed = new AbortController();
  private readonly signal: AbortSignal;

  constructor(
    readonly chunks: ChunkStore,
    /** What the store holds already (ChunkStore.listStored), shared by every path of the run. */
    readonly stored: Map<string, StoredChunk>,
    private readonly options: {
      level: number;
      signal: AbortSignal;
      concurrency?: number;
      /** Stored sizes of chunks as the last snapshot recorded them: a listed chunk of another size is damaged. */
      knownSizes?: ReadonlyMap<string, number>;
      /** Told of each stored chunk found damaged (and written again). */
      onDamaged?: (key: string, why: string) => void;
    },
  ) {
    this.concurrency = options.concurrency ?? Math.max(4, 2 * os.availableParallelism());
    this.signal = AbortSignal.any([options.signal, this.closed.signal]);
  }

  /** Deletes the chunks this writer stored (a failed run: the store gets back the space it took). */
  async discard(): Promise<void> {
    await this.close();
    for (const [id, gzip] of this.written) await this.chunks.store.delete(this.chunks.key({ id, gzip }));
    this.written.clear();
  }

  /** Stops what is still in flight (a failed run) and waits until no write is left running. */
  async close(): Promise<void> {
    if (this.pending.size > 0) this.closed.abort(new Error("the backup stopped"));
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /**
   * Reads one file's content to its end and schedules its chunks; resolves once it is read (the
   * chunks may still be on their way), with the index entry that fills in as they are stored.
   */
  async addFile(name: string, size: number, body: AsyncIterable<Buffer>): Promise<IndexedFile> {
    const file: IndexedFile = { name, size, chunks: [] };
    let parts: Buffer[] = [];
    let length = 0;
    const cut = async (piece: Buffer) => {
      const slot = file.chunks.length;
      file.chunks.push(undefined as unknown as ChunkRef);
      await this.schedule(piece, (ref) => (file.chunks[slot] = ref));
    };
    for await (const data of body) {
      let rest = data;
      while (rest.length > 0) {
        const take = Math.min(rest.length, CHUNK_BYTES - length);
        parts.push(rest.subarray(0, take));
        length += take;
        rest = rest.subarray(take);
        if (length === CHUNK_BYTES) {
          await cut(Buffer.concat(parts, length));
          parts = [];
          length = 0;
        }
      }
    }
    if (length > 0 || size === 0) await cut(Buffer.concat(parts, length));
    this.throwIfFailed();
    return file;
  }

  /** A file whose chunks are taken as they are from an earlier snapshot (all of them are stored). */
  reuse(file: IndexedFile): IndexedFile {
    for (const ref of file.chunks) {
      this.referenced.set(ref.id, ref.stored);
      this.stats.reusedChunks++;
    }
    return file;
  }

  /** Waits for every chunk scheduled so far; throws the first failure. */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
    this.throwIfFailed();
  }

  /** Waits for the chunks of `files` and returns them as an index. */
  async index(files: IndexedFile[]): Promise<ChunkIndex> {
    await this.flush();
    return { chunkSize: CHUNK_BYTES, files };
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
    this.signal.throwIfAborted();
  }

  /** Waits for a free slot (backpressure on the reader), then stores the chunk in the background. */
  private async schedule(piece: Buffer, done: (ref: ChunkRef) => void): Promise<void> {
    this.throwIfFailed();
    while (this.inFlight >= this.concurrency) await new Promise<void>((resolve) => this.waiters.push(resolve));
    this.throwIfFailed();
    this.inFlight++;
    const job = this.store(piece)
      .then((ref) => {
        this.referenced.set(ref.id, ref.stored);
        done(ref);
      })
      .catch((err: unknown) => {
        this.failure ??= err;
      })
      .finally(() => {
        this.inFlight--;
        this.pending.delete(job);
        this.waiters.shift()?.();
      });
    this.pending.add(job);
  }

  private async store(plain: Buffer): Promise<ChunkRef> {
    const id = await sha256Hex(plain);
    let storing = this.storing.get(id);
    if (storing) {
      this.stats.reusedChunks++;
    } else {
      storing = this.ensureStored(id, plain);
      this.storing.set(id, storing);
    }
    return { id, size: plain.length, ...(await storing) };
  }

  /** The chunk as stored: an intact one already there, else written now (a damaged one again, in its form). */
  private async ensureStored(id: string, plain: Buffer): Promise<StoredChunk> {
    const have = this.stored.get(id);
    if (!have) return this.put(id, plain);
    const damage = await this.damageOf(id, plain, have);
    if (!damage) {
      this.stats.reusedChunks++;
      return have;
    }
    this.options.onDamaged?.(this.chunks.key({ id, gzip: have.gzip }), damage);
    // Same key and form: every snapshot that references it is healed with it.
    return this.put(id, plain, { gzip: have.gzip, rewrite: true });
  }

  /**
   * Why a chunk this run did not write cannot be trusted, or undefined when it can. A stored size that
   * differs from the chunk's (raw) or from what the last snapshot recorded (gzip) gives it away. A local
   * store is read back and compared, which is cheap; a remote one only when the size proves nothing (a
   * gzip chunk no snapshot recorded, e.g. one a killed run was writing).
   */
  private async damageOf(id: string, plain: Buffer, have: StoredChunk): Promise<string | undefined> {
    if (!have.gzip && have.stored !== plain.length) return `it has ${have.stored} bytes, not ${plain.length}`;
    const known = this.options.knownSizes?.get(id);
    if (known !== undefined && have.stored !== known) return `it has ${have.stored} bytes, the last snapshot recorded ${known}`;
    const local = this.chunks.store.localDirectory !== undefined;
    if (!local && (!have.gzip || known !== undefined)) return undefined;
    const stored = await readSmallObject(this.chunks.store, this.chunks.key({ id, gzip: have.gzip })).catch(() => undefined);
    if (!stored) return "it cannot be read";
    const content = have.gzip ? await gunzipAsync(stored, { chunkSize: OUTPUT_CHUNK }).catch(() => undefined) : stored;
    if (!content || !content.equals(plain)) return "its content is not what its name says (corrupted)";
    return undefined;
  }

  private async put(id: string, plain: Buffer, form?: { gzip: boolean; rewrite: boolean }): Promise<StoredChunk> {
    const packed = form ? (form.gzip ? await gzipAsync(plain, { level: this.options.level || 1, chunkSize: OUTPUT_CHUNK }) : plain) : await this.compress(plain);
    const gzip = packed !== plain;
    // Noted before the put: a put cut off by an abort may still have reached the store. A damaged
    // chunk written again is not this run's to take back: the snapshots that share it need it.
    if (!form?.rewrite) this.written.set(id, gzip);
    await this.chunks.store.put(this.chunks.key({ id, gzip }), packed, {
      signal: this.signal,
      sha256: gzip ? await sha256Base64(packed) : Buffer.from(id, "hex").toString("base64"),
    });
    const stored: StoredChunk = { stored: packed.length, gzip };
    this.stored.set(id, stored);
    this.stats.newChunks++;
    this.stats.newBytes += packed.length;
    return stored;
  }

  /** The gzip of `plain`, or `plain` itself when compressing would not pay (random data, media, models). */
  private async compress(plain: Buffer): Promise<Buffer> {
    if (this.options.level === 0) return plain;
    const sample = plain.subarray(0, SAMPLE_BYTES);
    const test = await deflateRawAsync(sample, { level: 1 });
    if (test.length > sample.length * WORTH_IT) return plain;
    const packed = await gzipAsync(plain, { level: this.options.level, chunkSize: OUTPUT_CHUNK });
    return packed.length < plain.length * WORTH_IT ? packed : plain;
  }
}

/** What a snapshot records about the chunks its run referenced and wrote. */
export function chunkStoreRecord(writer: ChunkWriter): ChunkStoreRecord {
  return {
    prefix: writer.chunks.prefix,
    chunkSize: CHUNK_BYTES,
    chunks: writer.referenced.size,
    bytes: [...writer.referenced.values()].reduce((sum, n) => sum + n, 0),
    newChunks: writer.stats.newChunks,
    newBytes: writer.stats.newBytes,
  };
}
