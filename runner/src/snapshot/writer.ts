import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { PassThrough } from "node:stream";
import { createHash } from "node:crypto";
import { CountingStream, HashingStream } from "../archive/hashing.js";
import { FailureError } from "../errors.js";
import { layout } from "../store/layout.js";
import { jsonBody, type Store } from "../store/store.js";
import { currentOwner } from "../util/owner.js";
import { Stages } from "../util/settle.js";
import { deleteSnapshot } from "./catalog.js";
import { candidateIds } from "./id.js";
import type { Manifest, ObjectRecord } from "./manifest.js";

/**
 * Streams `body` into `key` of a store while counting and hashing it (sha256), for the manifest or to
 * check against it. Whichever side fails first tears down the other, so neither is left waiting.
 */
export async function putHashed(
  store: Store,
  key: string,
  body: Readable,
  options: { signal?: AbortSignal | undefined; onBytes?: (n: number) => void },
): Promise<{ size: number; sha256: string }> {
  const hashing = new HashingStream();
  const through = new PassThrough();
  const stages = new Stages(options.signal);
  const streamOptions = { signal: stages.signal };
  const source = options.onBytes
    ? pipeline(body, hashing, new CountingStream(options.onBytes), through, streamOptions)
    : pipeline(body, hashing, through, streamOptions);
  await stages.settle([source, store.put(key, through, streamOptions)] as const);
  return { size: hashing.bytes, sha256: hashing.digest() };
}

/**
 * Writes one snapshot into a store: reserves an id, records size and sha256 of every object as it is
 * written, and writes the manifest last. Until `commit`, the snapshot is invisible; `discard` removes
 * everything it wrote.
 */
export class SnapshotWriter {
  readonly objects: ObjectRecord[] = [];

  private constructor(
    private readonly store: Store,
    readonly id: string,
  ) {}

  static async begin(store: Store, command: string, now = new Date()): Promise<SnapshotWriter> {
    const owner = jsonBody(currentOwner(command, now));
    for (const id of candidateIds(now)) {
      if (await store.stat(layout.manifest(id))) continue;
      if (await store.putIfAbsent(layout.owner(id), owner)) return new SnapshotWriter(store, id);
    }
    throw new FailureError(`no free snapshot id for ${now.toISOString()} in store ${store.location}`);
  }

  async putJson(name: string, value: unknown): Promise<ObjectRecord> {
    return this.putBytes(name, jsonBody(value));
  }

  async putBytes(name: string, body: Buffer): Promise<ObjectRecord> {
    await this.store.put(layout.object(this.id, name), body);
    return this.record({ name, size: body.length, sha256: createHash("sha256").update(body).digest("hex") });
  }

  /** Streams `body` into the object `name`; resolves once it is stored. */
  async putStream(name: string, body: Readable, signal?: AbortSignal): Promise<ObjectRecord> {
    return this.record({ name, ...(await putHashed(this.store, layout.object(this.id, name), body, { signal })) });
  }

  private record(object: ObjectRecord): ObjectRecord {
    this.objects.push(object);
    return object;
  }

  async commit(manifest: Manifest): Promise<void> {
    await this.store.put(layout.manifest(this.id), jsonBody(manifest));
  }

  async discard(): Promise<void> {
    await deleteSnapshot(this.store, this.id);
  }
}
