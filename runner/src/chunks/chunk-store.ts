import { FailureError } from "../errors.js";
import { layout } from "../store/layout.js";
import { readSmallObject, type Store } from "../store/store.js";
import { codecOf } from "./chunk-index.js";
import { codecSuffix, decode, type Codec } from "./codec.js";
import { sha256Hex } from "./digest.js";
import { loadPackIndex, type BlobPlace, type PackIndex } from "./pack-index.js";


/** One piece of a file, stored once per container under its content's sha256. */
export interface ChunkRef {
  /** sha256 (hex) of the chunk's plain bytes: its name, and what every read checks. */
  id: string;
  /** Plain bytes. */
  size: number;
  /** Bytes as stored (after compression). */
  stored: number;
  gzip: boolean;
  zstd?: true;
  /** Kept inside a pack; where is in the pack index. */
  packed?: true;
}

/** A chunk stored as an object of its own: its stored size and form, from a listing. */
export interface StoredChunk {
  stored: number;
  codec: Codec;
}

/** What a listing of the container's chunk namespace found: chunks of their own, and packs with their sizes. */
export interface StoredChunks {
  chunks: Map<string, StoredChunk>;
  packs: Map<string, number>;
}

/** The chunk is stored on its own in the form and size a reference names (a store written at another level may hold another form). */
export function sameStored(stored: StoredChunk | undefined, ref: Pick<ChunkRef, "gzip" | "zstd" | "stored">): boolean {
  return stored !== undefined && stored.codec === codecOf(ref) && stored.stored === ref.stored;
}

const CHUNK_KEY = /\/([0-9a-f]{2})\/([0-9a-f]{64})(\.gz|\.zst)?$/;
const PACK_KEY = /packs\/([0-9a-f]{2})\/([0-9a-f]{64})\.pack$/;
const INDEX_KEY = /index\/([0-9a-f]{64})\.json\.gz$/;

/**
 * The content-addressed chunks of one container in a store:
 *
 *   chunks/<container>/<ab>/<sha256>[.gz|.zst]        a chunk on its own (the 1 MiB pieces of large files)
 *   chunks/<container>/packs/<ab>/<sha256>.pack       small chunks one after the other (format 3)
 *   chunks/<container>/index/<sha256>.json.gz         where each packed chunk is (chunks/pack-index.ts)
 *
 * One namespace per container, because the container's lock is what keeps a retention run from
 * deleting a chunk that a backup of the same container has written but not yet referenced.
 */
export class ChunkStore {
  readonly prefix: string;
  private packIndexLoad?: Promise<PackIndex>;

  constructor(
    readonly store: Store,
    /** A container name, or a prefix as recorded in a manifest ("chunks/<container>/"). */
    containerOrPrefix: string,
  ) {
    this.prefix = containerOrPrefix.endsWith("/") ? containerOrPrefix : layout.chunks(containerOrPrefix);
  }

  key(chunk: Pick<ChunkRef, "id" | "gzip" | "zstd">): string {
    return `${this.prefix}${chunk.id.slice(0, 2)}/${chunk.id}${codecSuffix(codecOf(chunk))}`;
  }

  packKey(pack: string): string {
    return `${this.prefix}packs/${pack.slice(0, 2)}/${pack}.pack`;
  }

  get indexPrefix(): string {
    return `${this.prefix}index/`;
  }

  indexKey(id: string): string {
    return `${this.indexPrefix}${id}.json.gz`;
  }

  isIndexKey(key: string): boolean {
    return key.startsWith(this.indexPrefix) && INDEX_KEY.test(key);
  }

  indexIdOf(key: string): string | undefined {
    return INDEX_KEY.exec(key)?.[1];
  }

  /** Every chunk and pack stored now. A chunk stored in two forms (two runs raced) is listed once. */
  async listStored(): Promise<StoredChunks> {
    const found: StoredChunks = { chunks: new Map(), packs: new Map() };
    for await (const object of this.store.list(this.prefix)) {
      const rest = object.key.slice(this.prefix.length);
      const pack = PACK_KEY.exec(rest);
      if (pack && rest.startsWith("packs/") && pack[1] === pack[2]?.slice(0, 2)) {
        found.packs.set(pack[2] as string, object.size);
        continue;
      }
      const match = CHUNK_KEY.exec(object.key);
      if (!match || rest.includes("/", 3) || match[1] !== match[2]?.slice(0, 2)) continue;
      found.chunks.set(match[2] as string, { stored: object.size, codec: match[3] === ".gz" ? "gzip" : match[3] === ".zst" ? "zstd" : "raw" });
    }
    return found;
  }

  /** The container's pack index, read once per ChunkStore. */
  packIndex(signal?: AbortSignal): Promise<PackIndex> {
    this.packIndexLoad ??= loadPackIndex(this, signal);
    return this.packIndexLoad;
  }

  /** Forgets the pack index read so far (after this process rewrote it). */
  forgetPackIndex(): void {
    delete this.packIndexLoad;
  }

  /** The stored bytes of a chunk, checked: its plain content has the recorded size and hashes to its id. */
  async readStored(ref: ChunkRef, signal?: AbortSignal): Promise<{ stored: Buffer; plain: Buffer; codec: Codec }> {
    signal?.throwIfAborted();
    if (ref.packed) return this.readPacked(ref, signal);
    const key = this.key(ref);
    const stored = await readSmallObject(this.store, key, signal ? { signal } : {}).catch((err: unknown) => {
      throw new FailureError(`chunk ${key} cannot be read: ${(err as Error).message}`);
    });
    // A raw chunk's size is its content's; a compressed chunk written again (healed) at another level
    // may differ in size from what older indexes recorded, so there the content is the authority.
    if (codecOf(ref) === "raw" && stored.length !== ref.size) throw new FailureError(`chunk ${key} has ${stored.length} bytes, the index says ${ref.size}`);
    return { stored, plain: await this.checked(key, stored, codecOf(ref), ref), codec: codecOf(ref) };
  }

  async read(ref: ChunkRef, signal?: AbortSignal): Promise<Buffer> {
    return (await this.readStored(ref, signal)).plain;
  }

  /**
   * Packed chunks that lie one after the other in one pack, read with one ranged request and checked
   * one by one. `places` must be contiguous (see contiguousRun).
   */
  async readRun(refs: ChunkRef[], places: BlobPlace[], signal?: AbortSignal): Promise<Buffer[]> {
    const first = places[0] as BlobPlace;
    const last = places[places.length - 1] as BlobPlace;
    const key = this.packKey(first.pack);
    const bytes = await readSmallObject(this.store, key, { range: { start: first.offset, end: last.offset + last.stored }, ...(signal ? { signal } : {}) }).catch(
      (err: unknown) => {
        throw new FailureError(`pack ${key} cannot be read: ${(err as Error).message}`);
      },
    );
    return Promise.all(
      places.map((place, i) => {
        const stored = bytes.subarray(place.offset - first.offset, place.offset - first.offset + place.stored);
        return this.checked(`${key} at ${place.offset}`, stored, place.codec, refs[i] as ChunkRef);
      }),
    );
  }

  /** A packed chunk from the first of its places that holds it intact. */
  private async readPacked(ref: ChunkRef, signal?: AbortSignal): Promise<{ stored: Buffer; plain: Buffer; codec: Codec }> {
    const index = await this.packIndex(signal);
    const places = index.find(ref.id);
    if (places.length === 0) {
      const why = index.unreadable.length > 0 ? `these cannot be read: ${index.unreadable.map((u) => `${u.key} (${u.why})`).join("; ")}` : "the index object that listed it is gone";
      throw new FailureError(`chunk ${ref.id} is packed, but no pack index of ${this.prefix} says where: ${why}`);
    }
    const failures: string[] = [];
    for (const place of places) {
      const key = this.packKey(place.pack);
      try {
        const stored = await readSmallObject(this.store, key, { range: { start: place.offset, end: place.offset + place.stored }, ...(signal ? { signal } : {}) });
        return { stored, plain: await this.checked(`${key} at ${place.offset}`, stored, place.codec, ref), codec: place.codec };
      } catch (err) {
        signal?.throwIfAborted();
        failures.push(err instanceof FailureError ? err.message : `pack ${key} cannot be read: ${(err as Error).message}`);
      }
    }
    throw new FailureError(failures.join("; and "));
  }

  private async checked(where: string, stored: Buffer, codec: Codec, ref: Pick<ChunkRef, "id" | "size">): Promise<Buffer> {
    const plain = await decode(stored, codec, ref.size).catch((err: unknown) => {
      throw new FailureError(`chunk ${where} is not valid ${codec} (corrupted): ${(err as Error).message}`);
    });
    if (plain.length !== ref.size || (await sha256Hex(plain)) !== ref.id) {
      throw new FailureError(`chunk ${where} does not match its sha256 (content changed or corrupted)`);
    }
    return plain;
  }
}

/** Bytes read at most in one ranged request of a pack. */
const RUN_BYTES = 8 * 1024 * 1024;

/**
 * How many of `refs` (from the start) can be read as one range of one pack: packed chunks whose first
 * place follows the previous one's end. 0 when the first is not packed or not in the index.
 */
export function contiguousRun(refs: ChunkRef[], start: number, index: PackIndex | undefined, max: number): BlobPlace[] {
  const run: BlobPlace[] = [];
  for (let i = start; i < refs.length && run.length < max; i++) {
    const ref = refs[i] as ChunkRef;
    if (!ref.packed || !index) break;
    const place = index.find(ref.id)[0];
    if (!place) break;
    const prev = run[run.length - 1];
    if (prev && (place.pack !== prev.pack || place.offset !== prev.offset + prev.stored || place.offset + place.stored - (run[0] as BlobPlace).offset > RUN_BYTES)) break;
    run.push(place);
  }
  return run;
}
