import { Writable, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { HashingStream } from "../archive/hashing.js";

/**
 * A snapshot store: a flat namespace of objects addressed by slash-separated keys.
 *
 * The contract every backend keeps (test/runner/store/store-contract.ts checks it):
 * - `put` is atomic: a reader sees the object complete or not at all, never a prefix of it.
 * - `putIfAbsent` creates an object only when the key is free and says whether it did.
 * - `get` of a missing key rejects with NotFoundError; `stat` resolves undefined.
 * - `list(prefix)` yields every complete object whose key starts with prefix, in no particular order.
 * - `delete` of a missing key succeeds.
 * Nothing here knows what a snapshot is; the layout of keys lives in layout.ts.
 */
export interface Store {
  /** Where the store is, for messages and output. Never holds a credential. */
  readonly location: string;
  /** What makes two stores the same place (for S3 also the endpoint and profile); never a credential. */
  readonly identity: string;
  /** A directory on this host where logs and state may live, when the store is local. */
  readonly localDirectory?: string;
  /** Fails with a one-line error when the store cannot be written, leaving nothing behind. */
  checkWritable(): Promise<void>;
  put(key: string, body: Readable | Uint8Array, options?: PutOptions): Promise<void>;
  putIfAbsent(key: string, body: Uint8Array): Promise<boolean>;
  /** The object's bytes, or with `range` only bytes start..end-1 of it (a blob inside a pack). */
  get(key: string, options?: GetOptions): Promise<Readable>;
  stat(key: string): Promise<StoredObject | undefined>;
  list(prefix: string): AsyncIterable<StoredObject>;
  delete(key: string): Promise<void>;
  /**
   * Drops writes under prefix that were started and never finished by a run that is gone (temporary
   * files, multipart uploads). Returns how many it dropped.
   */
  abortPartialWrites(prefix: string): Promise<number>;
}

export interface PutOptions {
  signal?: AbortSignal;
  /** sha256 of a byte body, base64, when the caller has it: a backend that can checks it on arrival. */
  sha256?: string;
}

export interface GetOptions {
  signal?: AbortSignal;
  /** Bytes [start, end) of the object; a range past its end yields what is there. */
  range?: { start: number; end: number };
}

export interface StoredObject {
  key: string;
  size: number;
}

/** Reads a whole small object (manifests, locks, state), or a range of one, into memory. */
export async function readSmallObject(store: Store, key: string, options: GetOptions = {}): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await store.get(key, options)) chunks.push(chunk as Buffer);
  if (chunks.length === 0) return Buffer.alloc(0);
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
}

export async function readJsonObject(store: Store, key: string): Promise<unknown> {
  return JSON.parse((await readSmallObject(store, key)).toString("utf8"));
}

export function jsonBody(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value, null, 2) + "\n", "utf8");
}

/** The sha256 (hex) of a stored object, streamed: memory does not grow with its size. */
export async function hashStoredObject(store: Store, key: string, signal?: AbortSignal): Promise<string> {
  const hashing = new HashingStream();
  const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
  await pipeline(await store.get(key, signal ? { signal } : {}), hashing, sink, signal ? { signal } : {});
  return hashing.digest();
}
