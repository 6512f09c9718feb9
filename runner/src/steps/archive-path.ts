import type Docker from "dockerode";
import path from "node:path/posix";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import { createGzip, gzip } from "node:zlib";
import type { Logger } from "pino";
import * as tar from "tar-stream";
import { drain, peek, prepend } from "../archive/entry-chunks.js";
import { createEntryPolicy, UnsafeEntryError } from "../archive/entry-policy.js";
import { CountingStream } from "../archive/hashing.js";
import { databaseOfSidecar, isSqliteHeader, SQLITE_MAGIC } from "../archive/sqlite-files.js";
import {
  rewriteTar,
  type AppendedEntry,
  type EntryAction,
  type RewriteHooks,
  type TarHeader,
  type TarSource,
} from "../archive/tar-rewrite.js";
import { CHUNK_BYTES, DATABASE_CHUNK_BYTES, isChunkable, placeholderHeader, type IndexedFile } from "../chunks/chunk-index.js";
import type { ChunkWriter } from "../chunks/chunk-writer.js";
import { readArchive } from "../docker/archive.js";
import { statusOf } from "../docker/client.js";
import { openFileEntry } from "../docker/file-entry.js";
import type { PathRecord } from "../snapshot/manifest.js";
import type { SnapshotWriter } from "../snapshot/writer.js";
import { snapshotObjects } from "../store/layout.js";
import { Stages } from "../util/settle.js";
import type { PlannedPath } from "./plan-paths.js";
import type { StagedCopy } from "./sqlite-online.js";
import { planReads, wholeRead, type ArchivePiece, type ReadPlan } from "./plan-reads.js";

const gzipAsync = promisify(gzip);

/** How live SQLite files are made consistent while a path is archived. */
export type SqliteHandling =
  /** Nothing writes (container stopped or frozen): archive files as they are, -wal included. */
  | { kind: "as-is" }
  /** Online mode: swap each live database for its copy made by SQLite's backup API. */
  | { kind: "staged"; copies: Map<string, StagedCopy> }
  /** Pause mode: read the databases (and their journals) last, with the container paused for just that. */
  | { kind: "paused-read"; pause: () => Promise<() => Promise<void>> };

export interface ArchiveContext {
  docker: Docker;
  containerId: string;
  log: Logger;
  signal: AbortSignal;
  /** Unset: each codec's default. */
  compressionLevel: number | undefined;
  /** Large files go here (format 2); without it every file stays in the tar.gz (format 1). */
  chunks?: ChunkWriter;
  /** The chunked files of this path in the last snapshot, by archive name: unchanged ones are not read again. */
  previous?: Map<string, IndexedFile>;
  onBytes?: (n: number) => void;
}

/**
 * Streams one container path into the snapshot: Docker tar stream → (SQLite handling) → large files
 * to content-addressed chunks, the rest → gzip → store, hashing as it goes. Nothing is buffered beyond
 * a few chunks and nothing touches local disk.
 */
export async function archivePath(
  ctx: ArchiveContext,
  writer: SnapshotWriter,
  planned: PlannedPath,
  handling: SqliteHandling,
): Promise<PathRecord> {
  const stages = new Stages(ctx.signal);
  const signal = stages.signal;
  const name = snapshotObjects.archive(planned.archiveName);
  const parent = path.dirname(planned.path);
  const sqlite: string[] = [];
  const chunks = ctx.chunks;
  const plan: ReadPlan =
    handling.kind === "staged" && planned.type === "directory" && ctx.chunks
      ? await planReads(ctx.docker, ctx.containerId, planned.path, [...handling.copies.keys()], ctx.previous ?? new Map(), (ref) => chunks?.holds(ref) ?? false)
      : wholeRead(planned.path);
  // Databases whose files did not change since the last snapshot were not copied: its chunks are reused.
  const sources = new Map<string, string>();
  if (handling.kind === "staged") {
    for (const [live, copy] of handling.copies) {
      const name = path.relative(parent, live);
      if (name.startsWith("..")) continue;
      if (copy.source) sources.set(name, copy.source);
      const previous = ctx.previous?.get(name);
      if (copy.unchanged && previous) plan.reuse.set(name, previous);
    }
  }
  const hooks = hooksFor(handling, { ...ctx, signal }, parent, sqlite, plan.leftOut);
  hooks.admit = admitFor(ctx, planned);
  const indexed: IndexedFile[] = [];
  let reused = 0;
  if (chunks) {
    hooks.divert = {
      wants: isChunkable,
      take: async (header, body) => {
        const listed = plan.reuse.get(header.name);
        // A file read whole that changed size since the listing is chunked as it is now.
        const unchanged = listed && listed.size === header.size ? listed : undefined;
        if (unchanged) {
          // Left out of the reads (nothing to drain), or read whole: its bytes go nowhere.
          await drain(body[Symbol.asyncIterator]());
          indexed.push(chunks.reuse(unchanged));
          reused++;
        } else {
          // Databases and their journals are cut along page boundaries, finer (see DATABASE_CHUNK_BYTES).
          const content = body[Symbol.asyncIterator]();
          const { head, read } = await peek(content, SQLITE_MAGIC.length);
          const database = isSqliteHeader(head) || databaseOfSidecar(header.name.replace(/\/+$/, "")) !== undefined;
          const file = await chunks.addFile(header.name, header.size ?? 0, prepend(read, content), database ? DATABASE_CHUNK_BYTES : CHUNK_BYTES);
          const stat = plan.stats.get(header.name);
          const source = sources.get(header.name);
          indexed.push({ ...file, ...(stat ? { stat } : {}), ...(source ? { source } : {}) });
        }
        return placeholderHeader(header);
      },
    };
  }

  const pack = tar.pack();
  const gzip = createGzip({ level: ctx.compressionLevel ?? 1, chunkSize: 256 * 1024 });
  const [stats, , object] = await stages.settle([
    rewriteTar(readPieces({ ...ctx, signal }, plan.pieces, planned.path), pack, hooks, signal),
    pipeline(pack as unknown as NodeJS.ReadableStream, gzip, { signal }),
    writer.putStream(name, gzip, signal),
  ] as const);
  let index: string | undefined;
  if (chunks && indexed.length > 0) {
    index = snapshotObjects.index(planned.archiveName);
    await writer.putBytes(index, await gzipAsync(Buffer.from(JSON.stringify(await chunks.index(indexed)))));
  }
  return {
    path: planned.path,
    present: true,
    explicit: planned.explicit,
    ...(planned.type ? { type: planned.type } : {}),
    mounted: planned.mounted,
    archive: object.name,
    entries: stats.entries,
    files: stats.files,
    bytes: stats.bytes,
    ...(sqlite.length > 0 ? { sqlite } : {}),
    ...(index ? { index } : {}),
    ...(reused > 0 ? { unchanged: reused } : {}),
  };
}

/**
 * Every header the snapshot holds is rebuilt by the rules a restore applies (archive/entry-policy.ts),
 * so a snapshot never holds what a restore would refuse. What the container has that no restore could
 * put back through the engine (device files, fifos, a symlink pointing above the restore directory) is
 * left out with a warning instead of failing the backup.
 */
function admitFor(ctx: ArchiveContext, planned: PlannedPath): (header: TarHeader) => TarHeader | undefined {
  const policy = createEntryPolicy(path.basename(planned.path), planned.type);
  return (header) => {
    try {
      const admitted = policy(header);
      if (!admitted) ctx.log.warn({ path: planned.path }, `left out of the snapshot: ${JSON.stringify(header.name)} is a ${header.type}, which holds no data`);
      return admitted;
    } catch (err) {
      if (!(err instanceof UnsafeEntryError)) throw err;
      ctx.log.warn({ path: planned.path }, `left out of the snapshot: ${err.message}`);
      return undefined;
    }
  };
}

/** The pieces in order, each read opened only when its turn comes (the engine serves one at a time). */
async function* readPieces(ctx: ArchiveContext, pieces: ArchivePiece[], root: string): TarSource & AsyncIterable<unknown> {
  for (const piece of pieces) {
    if (piece.kind === "entry") {
      yield { header: piece.header };
      continue;
    }
    let raw: Readable;
    try {
      raw = await readArchive(ctx.docker, ctx.containerId, piece.path, ctx.signal);
    } catch (err) {
      // A child removed since the listing is simply not in the snapshot; the path itself must be there.
      if (statusOf(err) === 404 && piece.path !== root) continue;
      throw err;
    }
    const counted = new CountingStream(ctx.onBytes);
    // pipeline, not pipe: a dropped engine connection must fail the run, not leave it waiting.
    pipeline(raw, counted, { signal: ctx.signal }).catch(() => undefined);
    yield { archive: counted, prefix: piece.prefix };
  }
}

function hooksFor(handling: SqliteHandling, ctx: ArchiveContext, parent: string, sqlite: string[], leftOut: TarHeader[]): RewriteHooks {
  const containerPath = (entryName: string) => path.join(parent, entryName.replace(/\/+$/, ""));
  if (handling.kind === "as-is") {
    return {
      peekBytes: SQLITE_MAGIC.length,
      onEntry: (header, head) => {
        if (isSqliteHeader(head)) sqlite.push(containerPath(header.name));
        return { action: "keep" };
      },
    };
  }
  if (handling.kind === "staged") return stagedHooks(handling.copies, ctx, containerPath, sqlite, leftOut);
  return pausedReadHooks(handling.pause, ctx, containerPath, sqlite);
}

function stagedHooks(
  copies: Map<string, StagedCopy>,
  ctx: ArchiveContext,
  containerPath: (name: string) => string,
  sqlite: string[],
  /** Live databases the reads left out (see plan-reads.ts): their copies are appended all the same. */
  leftOut: TarHeader[],
): RewriteHooks {
  const databases: TarHeader[] = leftOut.filter((h) => copies.has(containerPath(h.name)));
  for (const header of databases) sqlite.push(containerPath(header.name));
  return {
    peekBytes: SQLITE_MAGIC.length,
    onEntry: (header, head): EntryAction => {
      if (header.type !== "file") return { action: "keep" };
      const live = containerPath(header.name);
      if (copies.has(live)) {
        // Replaced by its consistent copy at the end of the archive (see RewriteHooks.trailer).
        databases.push(header);
        sqlite.push(live);
        return { action: "drop" };
      }
      const database = databaseOfSidecar(live);
      if (database && copies.has(database)) return { action: "drop" };
      if (isSqliteHeader(head)) {
        ctx.log.warn({ path: live }, `${live} appeared after the databases were copied; it is archived as it is`);
        sqlite.push(live);
      }
      return { action: "keep" };
    },
    trailer: async function* (): AsyncIterable<AppendedEntry> {
      for (const header of databases) {
        const live = containerPath(header.name);
        const copy = copies.get(live) as StagedCopy;
        const previous = copy.unchanged ? ctx.previous?.get(header.name) : undefined;
        if (previous) {
          // Not copied: the last snapshot's chunks stand for it (see archivePath).
          yield { header: { ...header, size: previous.size } };
          continue;
        }
        if (copy.unchanged) throw new Error(`${live} was not copied, but the last snapshot does not list it`);
        const staged = await openFileEntry(ctx.docker, ctx.containerId, copy.staged, ctx.signal);
        if (!staged) throw new Error(`the consistent copy of ${live} vanished from ${copy.staged}`);
        // The live entry's name, mode, owner and time; the copy's content.
        yield { header: { ...header, size: staged.header.size }, body: staged.body };
      }
    },
  };
}

function pausedReadHooks(
  pause: () => Promise<() => Promise<void>>,
  ctx: ArchiveContext,
  containerPath: (name: string) => string,
  sqlite: string[],
): RewriteHooks {
  const databases: TarHeader[] = [];
  const sidecars: TarHeader[] = [];
  return {
    peekBytes: SQLITE_MAGIC.length,
    onEntry: (header, head): EntryAction => {
      if (header.type !== "file") return { action: "keep" };
      // Sidecars may come before their database in the stream: hold them all back and sort them out at the end.
      if (databaseOfSidecar(header.name.replace(/\/+$/, ""))) {
        sidecars.push(header);
        return { action: "drop" };
      }
      if (isSqliteHeader(head)) {
        databases.push(header);
        sqlite.push(containerPath(header.name));
        return { action: "drop" };
      }
      return { action: "keep" };
    },
    trailer: async function* (): AsyncIterable<AppendedEntry> {
      const databaseNames = new Set(databases.map((h) => h.name.replace(/\/+$/, "")));
      const owned = (h: TarHeader) => databaseNames.has(databaseOfSidecar(h.name.replace(/\/+$/, "")) as string);
      // Files that only looked like sidecars are archived as usual, unpaused.
      for (const header of sidecars.filter((h) => !owned(h))) {
        const entry = await openFileEntry(ctx.docker, ctx.containerId, containerPath(header.name), ctx.signal);
        if (entry) yield { header: { ...entry.header, name: header.name }, body: entry.body };
      }
      if (databases.length === 0) return;
      const toRead = [
        ...databases,
        // The WAL or rollback journal read in the same frozen instant makes the pair crash-consistent; -shm is rebuilt by SQLite.
        ...sidecars.filter((h) => owned(h) && !h.name.endsWith("-shm")),
      ];
      const unpause = await pause();
      try {
        for (const header of toRead) {
          const entry = await openFileEntry(ctx.docker, ctx.containerId, containerPath(header.name), ctx.signal);
          if (entry) yield { header: { ...entry.header, name: header.name }, body: entry.body };
        }
      } finally {
        await unpause();
      }
    },
  };
}
