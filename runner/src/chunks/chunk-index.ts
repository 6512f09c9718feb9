import { z } from "zod";
import type { TarHeader } from "../archive/tar-rewrite.js";
import type { Codec } from "./codec.js";

/**
 * A path's archive (paths/<name>.tar.gz) keeps every entry, but a regular file of CHUNKED_MIN_BYTES
 * or more is written there with no content and the pax record PLACEHOLDER_KEY = its real size; its
 * content is in chunks, listed by the path's index (paths/<name>.index.json) in archive order.
 * Format 2 chunked files of 256 KiB or more; format 3 chunks every file that has content.
 */
export const PLACEHOLDER_KEY = "OWUIBACKUP.size";
export const CHUNKED_MIN_BYTES = 1;
/**
 * Fixed-size pieces: SQLite changes pages in place, so a few changed rows change a few 1 MiB chunks of
 * a database and nothing else (content-defined cutting pays off for insertions, which these files
 * do not have).
 */
export const CHUNK_BYTES = 1024 * 1024;
/**
 * SQLite databases are cut finer, along page boundaries (every page size divides 64 KiB): a row
 * inserted under a random UUID key or a chat rewritten in place dirties a few scattered pages, and
 * each costs one 64 KiB chunk instead of a 1 MiB one. The size was chosen by measurement (npm run bench).
 */
export const DATABASE_CHUNK_BYTES = 64 * 1024;

const chunkRef = z.object({
  id: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().nonnegative(),
  stored: z.number().int().nonnegative(),
  gzip: z.boolean(),
  /** Format 3: stored as zstd (`gzip` is then false). */
  zstd: z.literal(true).optional(),
  /**
   * Format 3: kept inside a pack with other small chunks, not as an object of its own; where is in the
   * container's pack index (chunks/pack-index.ts).
   */
  packed: z.literal(true).optional(),
});

/** How a chunk reference says its bytes are stored. */
export function codecOf(ref: { gzip: boolean; zstd?: true | undefined }): Codec {
  return ref.zstd ? "zstd" : ref.gzip ? "gzip" : "raw";
}

/** The reference fields that say how a chunk is stored in `codec`. */
export function codecFields(codec: Codec): { gzip: boolean; zstd?: true } {
  return codec === "zstd" ? { gzip: false, zstd: true } : { gzip: codec === "gzip" };
}

export const indexSchema = z.object({
  chunkSize: z.number().int().positive(),
  files: z.array(
    z.object({
      /** The entry's name in the archive. */
      name: z.string(),
      size: z.number().int().nonnegative(),
      chunks: z.array(chunkRef),
      /**
       * The file's stat when it was read (online mode): a later backup that finds the same size,
       * mtime, ctime and inode reuses these chunks without reading the file. Absent when unknown or
       * when the file had changed within the last seconds (its time could not tell a later change apart).
       */
      stat: z.object({ mtimeNs: z.string(), ctimeNs: z.string(), ino: z.string() }).optional(),
      /**
       * Format 3, a live SQLite database copied with the backup API: the stat of the database and of its
       * -wal and -journal taken before the copy. A later backup that finds them all the same reuses
       * these chunks without copying the database again.
       */
      source: z.string().optional(),
    }),
  ),
});

export type ChunkIndex = z.infer<typeof indexSchema>;
export type IndexedFile = ChunkIndex["files"][number];

export function parseIndex(value: unknown, where: string): ChunkIndex {
  const result = indexSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new Error(`chunk index ${where} is invalid at ${issue?.path.join(".") || "(root)"}: ${issue?.message}`);
  }
  for (const file of result.data.files) {
    if (file.chunks.reduce((sum, c) => sum + c.size, 0) !== file.size) {
      throw new Error(`chunk index ${where}: the chunks of ${file.name} do not add up to its size`);
    }
  }
  return result.data;
}

export function isChunkable(header: TarHeader): boolean {
  return (header.type === "file" || header.type === "contiguous-file") && (header.size ?? 0) >= CHUNKED_MIN_BYTES;
}

/** The archive's stand-in for a chunked file: same header, no content, the real size in a pax record. */
export function placeholderHeader(header: TarHeader): TarHeader {
  return { ...header, type: "file", size: 0, pax: { ...(header.pax ?? {}), [PLACEHOLDER_KEY]: String(header.size ?? 0) } };
}

/** The real size of a placeholder entry, or undefined for an ordinary entry. */
export function placeholderSize(header: TarHeader): number | undefined {
  const value = (header.pax as Record<string, string> | undefined)?.[PLACEHOLDER_KEY];
  return value === undefined ? undefined : Number(value);
}

/** The header a placeholder stands for: its real size, without the marker. */
export function realHeader(header: TarHeader, size: number): TarHeader {
  const { [PLACEHOLDER_KEY]: _marker, ...pax } = (header.pax ?? {}) as Record<string, string>;
  const out: TarHeader = { ...header, size };
  if (Object.keys(pax).length > 0) out.pax = pax;
  else delete out.pax;
  return out;
}
