import { createHash } from "node:crypto";
import os from "node:os";
import { readSmallObject } from "../store/store.js";
import { sha256Base64, sha256Hex } from "./digest.js";
import { CHUNK_BYTES, codecFields, type ChunkIndex, type IndexedFile } from "./chunk-index.js";
import type { ChunkStoreRecord } from "../snapshot/manifest.js";
import { compressIfWorthIt, decode, encode, preferredCodec, type Codec } from "./codec.js";
import { sameStored, type ChunkRef, type ChunkStore, type StoredChunks } from "./chunk-store.js";
import { writePackIndex, type BlobPlace, type BlobRecord, type PackIndex, type PackRecord } from "./pack-index.js";

/** Chunks smaller than this go into packs (small files, database pages, the tails of large files). */
export const PACKED_BELOW = 512 * 1024;
/** A pack is written once it holds this many bytes (or at the end of a path). */
const PACK_BYTES = 4 * 1024 * 1024;

export interface ChunkStats {
  /** Chunks written by this run, and their stored bytes. */
  newChunks: number;
  newBytes: number;
  /** Chunks the run needed that were already stored (earlier snapshots, or twice in this one). */
  reusedChunks: number;
  /** Packs written by this run. */
  newPacks: number;
}

/** How a chunk ended up stored. */
interface Placed {
  stored: number;
  codec: Codec;
  packed: boolean;
}

/** A job's place in the order of appends: wait for the one before, then let the next one go. */
interface Turn {
  wait: Promise<void>;
  pass: () => void;
}

interface OpenPack {
  parts: Buffer[];
  blobs: BlobRecord[];
  bytes: number;
  written: Promise<void>;
  done: (err?: unknown) => void;
}

/**
 * Cuts files into fixed-size chunks and stores each one not already stored: hash, test whether it
 * compresses, compress it, then put it on its own (1 MiB pieces) or append it to a pack (anything
 * smaller). Hashing and compression run on libuv's thread pool and several chunks are in flight at
 * once (bounded, so memory is a few chunks and one open pack whatever the data size), which keeps
 * every core busy while the next file is still being read.
 */
export class ChunkWriter {
  readonly stats: ChunkStats = { newChunks: 0, newBytes: 0, reusedChunks: 0, newPacks: 0 };
  /** Every distinct chunk handed out by this writer, with its stored size. */
  readonly referenced = new Map<string, number>();
  /** Whole jobs, until their chunk's place is known. */
  private readonly pending = new Set<Promise<unknown>>();
  /** Jobs still hashing, compressing or putting (they hold a slot). */
  private readonly staging = new Set<Promise<unknown>>();
  private readonly storing = new Map<string, Promise<Placed>>();
  /** Chunks this writer put on their own (or tried to), by id: in what form. */
  private readonly written = new Map<string, Codec>();
  /** Packs this writer put (or tried to): recorded in the pack index at the end, or deleted on failure. */
  private readonly packs: PackRecord[] = [];
  private readonly packKeys: string[] = [];
  private indexKey: string | undefined;
  private open: OpenPack | undefined;
  private appendTurn: Promise<void> = Promise.resolve();
  private inFlight = 0;
  private readonly waiters: (() => void)[] = [];
  private failure: unknown;
  private readonly concurrency: number;
  private readonly closed = new AbortController();
  private readonly signal: AbortSignal;
  private readonly codec: Exclude<Codec, "raw">;

  constructor(
    readonly chunks: ChunkStore,
    /** What the store holds already (ChunkStore.listStored), shared by every path of the run. */
    readonly stored: StoredChunks,
    /** Where the store's packed chunks are (ChunkStore.packIndex). */
    readonly packIndex: PackIndex,
    private readonly options: {
      level?: number;
      codec?: Exclude<Codec, "raw">;
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
    this.codec = options.codec ?? preferredCodec();
  }

  private get level(): number {
    return this.options.level ?? (this.codec === "zstd" ? 3 : 1);
  }

  /** Deletes the chunks, packs and pack index this writer stored (a failed run: the store gets back the space it took). */
  async discard(): Promise<void> {
    await this.close();
    for (const [id, codec] of this.written) await this.chunks.store.delete(this.chunks.key({ id, ...codecFields(codec) }));
    for (const key of this.packKeys) await this.chunks.store.delete(key);
    if (this.indexKey) await this.chunks.store.delete(this.indexKey);
    this.written.clear();
    this.packKeys.length = 0;
  }

  /** Stops what is still in flight (a failed run) and waits until no write is left running. */
  async close(): Promise<void> {
    if (this.pending.size > 0 || this.open) this.closed.abort(new Error("the backup stopped"));
    this.open?.done(new Error("the backup stopped"));
    this.open = undefined;
    while (this.pending.size > 0 || this.staging.size > 0) await Promise.allSettled([...this.pending, ...this.staging]);
  }

  /**
   * Reads one file's content to its end and schedules its chunks of `chunkBytes`; resolves once it is
   * read (the chunks may still be on their way), with the index entry that fills in as they are stored.
   */
  async addFile(name: string, size: number, body: AsyncIterable<Buffer>, chunkBytes = CHUNK_BYTES): Promise<IndexedFile> {
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
        const take = Math.min(rest.length, chunkBytes - length);
        parts.push(rest.subarray(0, take));
        length += take;
        rest = rest.subarray(take);
        if (length === chunkBytes) {
          // One piece that is the whole chunk needs no copy (tar-stream hands out fresh slices).
          await cut(parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, length));
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

  /** Whether a chunk an earlier snapshot references is still stored where it says (for reusing a file unread). */
  holds(ref: ChunkRef): boolean {
    if (!ref.packed) return sameStored(this.stored.chunks.get(ref.id), ref);
    return this.listedPlaces(ref.id).length > 0;
  }

  /** The places the pack index gives a chunk whose pack the listing shows, in its recorded size. */
  private listedPlaces(id: string): BlobPlace[] {
    return this.packIndex.find(id).filter((place) => this.stored.packs.get(place.pack) === place.packSize);
  }

  /** Waits for every chunk scheduled so far (writing the open pack); throws the first failure. */
  async flush(): Promise<void> {
    while (this.staging.size > 0) await Promise.allSettled([...this.staging]);
    if (this.failure === undefined) await this.writePack().catch((err: unknown) => (this.failure ??= err));
    else {
      // Its chunks' jobs wait for it: they fail with the run.
      this.open?.done(this.failure);
      this.open = undefined;
    }
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
    this.throwIfFailed();
  }

  /** Waits for the chunks of `files` and returns them as an index. */
  async index(files: IndexedFile[]): Promise<ChunkIndex> {
    await this.flush();
    return { chunkSize: CHUNK_BYTES, files };
  }

  /** Records the packs this run wrote in the pack index; call once every path is flushed, before the manifest. */
  async finish(): Promise<void> {
    await this.flush();
    if (this.packs.length === 0) return;
    // Known before the put: one cut off by an abort may still have reached the store.
    await writePackIndex(this.chunks, this.packs, this.signal, (key) => (this.indexKey = key));
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
    // Chunks go into packs in the order they were cut, so a file's chunks lie one after another there
    // and a restore reads them with one request per run: each job takes its turn at the open pack.
    const turn = this.appendTurn;
    let done_!: () => void;
    this.appendTurn = new Promise<void>((resolve) => (done_ = resolve));
    const staged = this.stage(piece, { wait: turn, pass: done_ });
    const release = staged
      .catch(() => undefined)
      .finally(() => {
        this.inFlight--;
        this.staging.delete(release);
        this.waiters.shift()?.();
      });
    this.staging.add(release);
    const job = staged
      .then(async ({ id, size, placed }) => {
        const where = await placed;
        this.referenced.set(id, where.stored);
        done({ id, size, stored: where.stored, ...codecFields(where.codec), ...(where.packed ? { packed: true as const } : {}) });
      })
      .catch((err: unknown) => {
        this.failure ??= err;
      })
      .finally(() => this.pending.delete(job));
    this.pending.add(job);
  }

  /** Hashes the chunk and starts storing it when it is new; resolves once its slot can be given back. */
  private async stage(plain: Buffer, turn: Turn): Promise<{ id: string; size: number; placed: Promise<Placed> }> {
    try {
      return await this.stageInTurn(plain, turn);
    } finally {
      // A job that appended nothing (stored already, alone, or failed) still keeps its place in the
      // order: the next job appends only after the one before this one has.
      void turn.wait.then(turn.pass);
    }
  }

  private async stageInTurn(plain: Buffer, turn: Turn): Promise<{ id: string; size: number; placed: Promise<Placed> }> {
    const id = await sha256Hex(plain);
    const existing = this.storing.get(id);
    if (existing) {
      this.stats.reusedChunks++;
      return { id, size: plain.length, placed: existing };
    }
    let settle!: (placed: Promise<Placed>) => void;
    const placed = new Promise<Placed>((resolve) => (settle = resolve));
    this.storing.set(id, placed);
    try {
      const later = await this.ensureStored(id, plain, turn);
      settle(later.placed);
    } catch (err) {
      settle(Promise.reject(err));
      placed.catch(() => undefined);
      throw err;
    }
    return { id, size: plain.length, placed };
  }

  /** The chunk as stored: an intact one already there, else written now (a damaged one again). */
  private async ensureStored(id: string, plain: Buffer, turn: Turn): Promise<{ placed: Promise<Placed> }> {
    const have = this.stored.chunks.get(id);
    if (have) {
      const damage = await this.damageOf(id, plain, have);
      if (!damage) {
        this.stats.reusedChunks++;
        return { placed: Promise.resolve({ ...have, packed: false }) };
      }
      this.options.onDamaged?.(this.chunks.key({ id, ...codecFields(have.codec) }), damage);
      // Same key and form: every snapshot that references it is healed with it.
      return { placed: Promise.resolve(await this.putAlone(id, plain, have.codec, true)) };
    }
    for (const place of this.listedPlaces(id)) {
      // A pack's bytes are named by their sha256; on a local store the chunk is read back all the same (cheap).
      if (this.chunks.store.localDirectory !== undefined) {
        const intact = await this.chunks.readRun([{ id, size: plain.length, stored: place.stored, gzip: false, packed: true }], [place], this.signal).then(
          () => true,
          () => false,
        );
        if (!intact) {
          this.options.onDamaged?.(`${this.chunks.packKey(place.pack)} at ${place.offset}`, "its content is not what its name says (corrupted)");
          continue;
        }
      }
      this.stats.reusedChunks++;
      return { placed: Promise.resolve({ stored: place.stored, codec: place.codec, packed: true }) };
    }
    const { codec, stored } = await compressIfWorthIt(plain, this.codec, this.level);
    if (plain.length >= PACKED_BELOW) return { placed: Promise.resolve(await this.putAlone(id, plain, codec, false, stored)) };
    await turn.wait;
    const { placed, filled } = this.append(id, plain.length, codec, stored, turn);
    // The job that fills a pack puts it before its slot is given back: a slow store slows the reader
    // down instead of letting full packs pile up in memory.
    if (filled) await filled;
    return { placed };
  }

  /**
   * Adds a stored chunk to the open pack (in its turn). `placed` resolves once the pack is written;
   * `filled` is the put of the pack this chunk filled, if it did.
   */
  private append(id: string, size: number, codec: Codec, stored: Buffer, turn: Turn): { placed: Promise<Placed>; filled?: Promise<void> } {
    this.signal.throwIfAborted();
    if (!this.open) {
      let done!: (err?: unknown) => void;
      const written = new Promise<void>((resolve, reject) => (done = (err) => (err ? reject(err) : resolve())));
      written.catch(() => undefined);
      this.open = { parts: [], blobs: [], bytes: 0, written, done };
    }
    const pack = this.open;
    pack.blobs.push({ id, offset: pack.bytes, stored: stored.length, size, codec });
    pack.parts.push(stored);
    pack.bytes += stored.length;
    this.stats.newChunks++;
    this.stats.newBytes += stored.length;
    const full = pack.bytes >= PACK_BYTES;
    if (full) this.open = undefined;
    turn.pass();
    const placed = pack.written.then((): Placed => ({ stored: stored.length, codec, packed: true }));
    // Whoever waits, a failed put is reported once, through the run's failure.
    placed.catch(() => undefined);
    return full ? { placed, filled: this.writePack(pack) } : { placed };
  }

  /** Writes a pack (the open one by default), and tells the chunks in it where they are. */
  private async writePack(pack = this.open): Promise<void> {
    if (!pack) return;
    if (pack === this.open) this.open = undefined;
    try {
      const body = Buffer.concat(pack.parts, pack.bytes);
      const id = createHash("sha256").update(body).digest("hex");
      const key = this.chunks.packKey(id);
      // The same bytes stored already (an index object that lists them could not be read, so their
      // chunks were packed again in the same order): written over all the same, which heals it if it
      // was damaged, but not this run's to delete if the run fails — older snapshots may need it.
      // Otherwise noted before the put: a put cut off by an abort may still have reached the store.
      if (this.stored.packs.get(id) !== body.length) this.packKeys.push(key);
      await this.chunks.store.put(key, body, { signal: this.signal, sha256: Buffer.from(id, "hex").toString("base64") });
      const record: PackRecord = { id, size: body.length, blobs: pack.blobs };
      this.packs.push(record);
      this.packIndex.addPacks([record]);
      this.stored.packs.set(id, body.length);
      this.stats.newPacks++;
      pack.done();
    } catch (err) {
      pack.done(err);
      throw err;
    }
  }

  /**
   * Why a chunk stored on its own that this run did not write cannot be trusted, or undefined when it
   * can. A stored size that differs from the chunk's (raw) or from what the last snapshot recorded
   * (compressed) gives it away. A local store is read back and compared, which is cheap; a remote one
   * only when the size proves nothing (a compressed chunk no snapshot recorded, e.g. one a killed run
   * was writing).
   */
  private async damageOf(id: string, plain: Buffer, have: { stored: number; codec: Codec }): Promise<string | undefined> {
    if (have.codec === "raw" && have.stored !== plain.length) return `it has ${have.stored} bytes, not ${plain.length}`;
    const known = this.options.knownSizes?.get(id);
    if (known !== undefined && have.stored !== known) return `it has ${have.stored} bytes, the last snapshot recorded ${known}`;
    const local = this.chunks.store.localDirectory !== undefined;
    if (!local && (have.codec === "raw" || known !== undefined)) return undefined;
    const stored = await readSmallObject(this.chunks.store, this.chunks.key({ id, ...codecFields(have.codec) })).catch(() => undefined);
    if (!stored) return "it cannot be read";
    const content = await decode(stored, have.codec, plain.length).catch(() => undefined);
    if (!content || !content.equals(plain)) return "its content is not what its name says (corrupted)";
    return undefined;
  }

  /** Puts a chunk as an object of its own, compressed in `codec` (already, when `stored` is given). */
  private async putAlone(id: string, plain: Buffer, codec: Codec, rewrite: boolean, stored?: Buffer): Promise<Placed> {
    const packed = stored ?? (codec === "raw" ? plain : await encode(plain, codec, this.level || 1));
    // A damaged chunk written again is not this run's to take back: the snapshots that share it need it.
    if (!rewrite) this.written.set(id, codec);
    await this.chunks.store.put(this.chunks.key({ id, ...codecFields(codec) }), packed, {
      signal: this.signal,
      sha256: codec === "raw" ? Buffer.from(id, "hex").toString("base64") : await sha256Base64(packed),
    });
    this.stored.chunks.set(id, { stored: packed.length, codec });
    this.stats.newChunks++;
    this.stats.newBytes += packed.length;
    return { stored: packed.length, codec, packed: false };
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
