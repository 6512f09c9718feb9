import type Docker from "dockerode";
import path from "node:path/posix";
import { PassThrough } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import * as tar from "tar-stream";
import { CountingStream, HashingStream } from "../archive/hashing.js";
import { createEntryPolicy } from "../archive/entry-policy.js";
import { rewriteTar, type EntryAction, type TarHeader } from "../archive/tar-rewrite.js";
import { writeArchive } from "../docker/archive.js";
import { openChunkExpander } from "../chunks/chunk-reader.js";
import type { ChunkStore } from "../chunks/chunk-store.js";
import { FailureError } from "../errors.js";
import type { Manifest, PathRecord } from "../snapshot/manifest.js";
import { layout } from "../store/layout.js";
import type { Store } from "../store/store.js";
import { Stages } from "../util/settle.js";

/**
 * Streams one archive of a snapshot into a container: store → gunzip → entry check → chunked files
 * filled in from their chunks (each checked against its sha256) → every header rebuilt and checked
 * by the entry policy → Docker putArchive into the path's parent directory. The snapshot was verified
 * before with the same policy; this guards against it changing in between, and the sha256 is
 * compared at the end.
 */
export async function restorePath(
  ctx: { docker: Docker; store: Store; signal: AbortSignal; onBytes?: (n: number) => void; chunks?: ChunkStore },
  manifest: Manifest,
  record: PathRecord,
  containerId: string,
  /** Container paths inside the archive to leave alone (files mounted into the container). */
  skip: string[] = [],
): Promise<void> {
  const object = manifest.objects.find((o) => o.name === record.archive);
  if (!object) throw new FailureError(`snapshot ${manifest.id} has no archive for ${record.path}`);
  const stages = new Stages(ctx.signal);
  const signal = stages.signal;
  const hashing = new HashingStream();
  // Every header sent to the engine is rebuilt by the same rules verify applied (see entry-policy.ts).
  const admit = createEntryPolicy(path.basename(record.path), record.type);
  const parent = path.dirname(record.path);
  const expander = await openChunkExpander(ctx.store, manifest, record, signal, ctx.onBytes, ctx.chunks);
  const skipped = new Set<string>();
  const onEntry = async (header: TarHeader): Promise<EntryAction> => {
    const full = expander?.entry(header);
    const name = path.normalize(header.name.replace(/\/+$/, ""));
    // A hard link to a skipped file would link to the host's file (or fail half-way): left out too.
    if (skip.includes(path.join(parent, name)) || (header.type === "link" && skipped.has(path.normalize(header.linkname ?? "")))) {
      skipped.add(name);
      // Its chunks are still taken, in order, so the next chunked file gets its own.
      if (full) for await (const _ of full.body);
      return { action: "drop" };
    }
    return full ? { action: "replace", ...full } : { action: "keep" };
  };
  const pack = tar.pack();
  const body = new PassThrough();
  const unpacked = new PassThrough();
  // Opened last and piped at once: an aborted source must never be left without a listener.
  const source = await ctx.store.get(layout.object(manifest.id, object.name), { signal });
  await stages.settle([
    pipeline(source, new CountingStream(ctx.onBytes), hashing, createGunzip(), unpacked, { signal }),
    rewriteTar(unpacked, pack, { onEntry, admit }, signal).then((stats) => {
      expander?.finish();
      return stats;
    }),
    pipeline(pack as unknown as NodeJS.ReadableStream, body, { signal }),
    writeArchive(ctx.docker, containerId, parent, body, signal),
  ] as const);
  if (hashing.digest() !== object.sha256) {
    throw new FailureError(`${object.name} changed in the store while it was being restored (sha256 mismatch)`);
  }
}
