import { promisify } from "node:util";
import { gunzip } from "node:zlib";
import { FailureError } from "../errors.js";
import { layout } from "../store/layout.js";
import { readSmallObject, type Store } from "../store/store.js";
import { sha256Hex } from "./digest.js";

const gunzipAsync = promisify(gunzip);
/** zlib's output buffer: its 16 KiB default means 64 callbacks and copies per 1 MiB chunk. */
export const OUTPUT_CHUNK = 256 * 1024;

/** One piece of a large file, stored once per container under its content's sha256. */
export interface ChunkRef {
  /** sha256 (hex) of the chunk's plain bytes: its name, and what every read checks. */
  id: string;
  /** Plain bytes. */
  size: number;
  /** Bytes as stored (after gzip when `gzip`). */
  stored: number;
  gzip: boolean;
}

export type StoredChunk = Pick<ChunkRef, "stored" | "gzip">;

/** The chunk is stored in the form and size a reference names (a store written at another level may hold the other form). */
export function sameStored(stored: StoredChunk | undefined, ref: Pick<ChunkRef, "gzip" | "stored">): boolean {
  return stored !== undefined && stored.gzip === ref.gzip && stored.stored === ref.stored;
}

const CHUNK_KEY = /\/([0-9a-f]{2})\/([0-9a-f]{64})(\.gz)?$/;

/**
 * The content-addressed chunks of one container in a store:
 *
 *   chunks/<container>/<first two hex digits>/<sha256>       plain bytes (incompressible content)
 *   chunks/<container>/<first two hex digits>/<sha256>.gz    gzip of the plain bytes
 *
 * One namespace per container, because the container's lock is what keeps a retention run from
 * deleting a chunk that a backup of the same container has written but not yet referenced.
 */
export class ChunkStore {
  readonly prefix: string;

  constructor(
    readonly store: Store,
    /** A container name, or a prefix as recorded in a manifest ("chunks/<container>/"). */
    containerOrPrefix: string,
  ) {
    this.prefix = containerOrPrefix.endsWith("/") ? containerOrPrefix : layout.chunks(containerOrPrefix);
  }

  key(chunk: Pick<ChunkRef, "id" | "gzip">): string {
    return `${this.prefix}${chunk.id.slice(0, 2)}/${chunk.id}${chunk.gzip ? ".gz" : ""}`;
  }

  /** Every chunk stored now, by id. A chunk stored both ways (two runs raced) is listed once. */
  async listStored(): Promise<Map<string, StoredChunk>> {
    const stored = new Map<string, StoredChunk>();
    for await (const object of this.store.list(this.prefix)) {
      const match = CHUNK_KEY.exec(object.key);
      if (!match || match[1] !== match[2]?.slice(0, 2)) continue;
      stored.set(match[2] as string, { stored: object.size, gzip: Boolean(match[3]) });
    }
    return stored;
  }

  /** The stored bytes of a chunk, checked: its plain content has the recorded size and hashes to its id. */
  async readStored(ref: ChunkRef, signal?: AbortSignal): Promise<{ stored: Buffer; plain: Buffer }> {
    signal?.throwIfAborted();
    const key = this.key(ref);
    const stored = await readSmallObject(this.store, key).catch((err: unknown) => {
      throw new FailureError(`chunk ${key} cannot be read: ${(err as Error).message}`);
    });
    // A raw chunk's size is its content's; a gzip chunk written again (healed) at another level may
    // differ in size from what older indexes recorded, so there the content is the authority.
    if (!ref.gzip && stored.length !== ref.size) throw new FailureError(`chunk ${key} has ${stored.length} bytes, the index says ${ref.size}`);
    const plain = ref.gzip
      ? await gunzipAsync(stored, { chunkSize: OUTPUT_CHUNK }).catch(() => {
          throw new FailureError(`chunk ${key} is not valid gzip (corrupted)`);
        })
      : stored;
    if (plain.length !== ref.size || (await sha256Hex(plain)) !== ref.id) {
      throw new FailureError(`chunk ${key} does not match its sha256 (content changed or corrupted)`);
    }
    return { stored, plain };
  }

  async read(ref: ChunkRef, signal?: AbortSignal): Promise<Buffer> {
    return (await this.readStored(ref, signal)).plain;
  }
}
