import { once } from "node:events";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as tar from "tar-stream";
import { drain, peek, prepend } from "./entry-chunks.js";

export type TarHeader = tar.Header;

export type EntryAction =
  | { action: "keep" }
  | { action: "drop" }
  /** Write this header and content instead of the entry's own (which is read and discarded). */
  | { action: "replace"; header: TarHeader; body: AsyncIterable<Buffer> };

/** Takes some entries' content out of the archive (to chunks) and writes a stand-in header for them. */
export interface Diverter {
  wants(header: TarHeader): boolean;
  /** Consumes `body` to its end and returns the header to write, with no content. */
  take(header: TarHeader, body: AsyncIterable<Buffer>): Promise<TarHeader>;
}

export interface AppendedEntry {
  header: TarHeader;
  body?: AsyncIterable<Buffer>;
}

export interface RewriteHooks {
  /**
   * Read at least this many bytes of each regular file (fewer if the file is shorter) and hand them to
   * onEntry before it decides; 0 decides on the header alone.
   */
  peekBytes?: number;
  onEntry?(header: TarHeader, head: Buffer): EntryAction | Promise<EntryAction>;
  /**
   * Entries written after the source has ended, e.g. consistent copies of databases. They can only come
   * after it: the engine holds the container's lock until an archive stream is read to its end, so a
   * second archive request during the first would wait forever.
   */
  trailer?(): AsyncIterable<AppendedEntry>;
  /** Applied to every entry written, kept or appended. */
  divert?: Diverter;
  /**
   * The header written for each entry (kept, replaced or appended), rebuilt by the caller's rules (see
   * archive/entry-policy.ts); undefined leaves the entry out, its content read and dropped. Runs before
   * `divert`. May throw to stop the archive.
   */
  admit?(header: TarHeader): TarHeader | undefined;
}

export interface RewriteStats {
  entries: number;
  files: number;
  bytes: number;
}

/**
 * Streams a tar archive from `source` into `pack`, entry by entry, letting hooks keep or drop each
 * entry and append more once the source has ended. Headers pass through as `admit` rebuilds them
 * (without it, unchanged). Memory stays flat: one chunk at a time, with backpressure from `pack`.
 * Finalizes `pack` when done.
 */
export async function rewriteTar(
  source: TarSource,
  pack: tar.Pack,
  hooks: RewriteHooks = {},
  signal?: AbortSignal,
): Promise<RewriteStats> {
  const stats: RewriteStats = { entries: 0, files: 0, bytes: 0 };
  try {
    for await (const { header, chunks } of entriesOf(source, signal)) {
      const { head, read } = await peek(chunks, header.type === "file" ? hooks.peekBytes ?? 0 : 0);
      const decision: EntryAction = hooks.onEntry ? await hooks.onEntry(header, head) : { action: "keep" };
      if (decision.action === "drop") {
        await drain(chunks);
        continue;
      }
      if (decision.action === "replace") {
        await drain(chunks);
        await writeEntry(pack, decision.header, decision.body, stats, hooks, signal);
        continue;
      }
      await writeEntry(pack, header, prepend(read, chunks), stats, hooks, signal);
    }
    if (hooks.trailer) {
      for await (const extra of hooks.trailer()) await writeEntry(pack, extra.header, extra.body, stats, hooks, signal);
    }
    pack.finalize();
    return stats;
  } catch (err) {
    // The sources are destroyed by entriesOfArchive, which the loop's early exit returns from.
    pack.destroy(err as Error);
    throw err;
  }
}

/**
 * One tar stream, or several in a row with entries written in between (a directory read child by
 * child): each archive's names are put under its prefix.
 */
export type TarSource = Readable | AsyncIterable<{ header: TarHeader } | { archive: Readable; prefix: string }>;

const EMPTY: AsyncIterator<Buffer> = { next: async () => ({ done: true, value: undefined }) };

async function* entriesOf(source: TarSource, signal?: AbortSignal): AsyncIterable<{ header: TarHeader; chunks: AsyncIterator<Buffer> }> {
  if (source instanceof Readable) {
    yield* entriesOfArchive(source, "", signal);
    return;
  }
  for await (const piece of source) {
    if ("header" in piece) yield { header: piece.header, chunks: EMPTY };
    else yield* entriesOfArchive(piece.archive, piece.prefix, signal);
  }
}

/** The entries of one tar stream; each entry's chunks must be read to the end before the next. */
async function* entriesOfArchive(archive: Readable, prefix: string, signal?: AbortSignal) {
  const extract = tar.extract();
  const feeding = pipeline(archive, extract as unknown as NodeJS.WritableStream, signal ? { signal } : {});
  feeding.catch(() => undefined); // surfaced through the entry iterator, or awaited below
  try {
    for await (const entry of extract) {
      const header = prefix ? underPrefix(entry.header, prefix) : entry.header;
      yield { header, chunks: entry[Symbol.asyncIterator]() as AsyncIterator<Buffer> };
    }
    await feeding;
  } finally {
    archive.destroy();
    extract.destroy();
  }
}

/** An entry moved under `prefix`; a hard link's target (relative to the archive root) moves with it. */
function underPrefix(header: TarHeader, prefix: string): TarHeader {
  return {
    ...header,
    name: prefix + header.name,
    ...(header.type === "link" && header.linkname ? { linkname: prefix + header.linkname } : {}),
  };
}

/** Headers as written: pax keys that duplicate header fields are dropped so they cannot disagree. */
function cleanHeader(header: TarHeader): TarHeader {
  if (!header.pax) return header;
  const { path: _p, linkpath: _l, size: _s, ...rest } = header.pax as Record<string, string>;
  const out = { ...header };
  if (Object.keys(rest).length > 0) out.pax = rest;
  else delete out.pax;
  return out;
}

async function writeEntry(
  pack: tar.Pack,
  header: TarHeader,
  body: AsyncIterable<Buffer> | undefined,
  stats: RewriteStats,
  hooks: Pick<RewriteHooks, "admit" | "divert">,
  signal?: AbortSignal,
) {
  signal?.throwIfAborted();
  if (hooks.admit) {
    const admitted = hooks.admit(header);
    if (!admitted) {
      if (body) for await (const _ of body);
      return;
    }
    header = admitted;
  }
  const divert = hooks.divert;
  stats.entries++;
  if (header.type === "file" || header.type === "contiguous-file") {
    stats.files++;
    stats.bytes += header.size ?? 0;
  }
  if (divert?.wants(header)) {
    header = await divert.take(header, body ?? (async function* () {})());
    body = undefined;
  }
  await new Promise<void>((resolve, reject) => {
    // A destroyed pack may never call back: the signal is what unblocks a failed run.
    const onAbort = () => reject(signal?.reason ?? new Error("aborted"));
    signal?.addEventListener("abort", onAbort, { once: true });
    const done = (err?: Error | null) => {
      signal?.removeEventListener("abort", onAbort);
      if (err) reject(err);
      else resolve();
    };
    const sink = pack.entry(cleanHeader(header), done);
    // A short or long body ("Size mismatch") is reported as an error event too; handle it here.
    sink.on("error", done);
    (async () => {
      if (body) {
        for await (const chunk of body) {
          if (!sink.write(chunk)) await once(sink as unknown as NodeJS.EventEmitter, "drain", signal ? { signal } : {});
        }
      }
      (sink as unknown as NodeJS.WritableStream).end();
    })().catch((err: Error) => {
      sink.destroy(err);
      done(err);
    });
  });
}
