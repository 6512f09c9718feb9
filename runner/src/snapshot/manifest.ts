import { z } from "zod";

/**
 * Bumped when the layout of a snapshot changes; readers keep accepting every older format.
 * 1: one tar.gz per path holding every file.
 * 2: files of 256 KiB or more are content-addressed chunks shared between snapshots (chunkStore, and
 *    an index object per path); the tar.gz holds the rest and a placeholder for each chunked file.
 * 3: every file with content is chunked (the tar.gz holds only entries); chunks under 512 KiB are kept
 *    in packs (chunks/pack-index.ts); databases are cut into 64 KiB chunks; chunks are zstd where the
 *    runtime has it; indexes are gzip'd (.index.json.gz).
 */
export const MANIFEST_FORMAT = 3;

export const TRIGGERS = ["manual", "schedule", "watch", "pre-restore"] as const;
export type Trigger = (typeof TRIGGERS)[number];

/** How the SQLite files in a snapshot were made consistent. */
export const CONSISTENCY = ["online", "pause", "stop", "offline"] as const;
export type Consistency = (typeof CONSISTENCY)[number];

const objectRecord = z.object({
  /** Relative to the snapshot's prefix, e.g. "paths/app_backend_data.tar.gz". */
  name: z.string(),
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

const pathRecord = z.object({
  /** Absolute path inside the container. */
  path: z.string(),
  present: z.boolean(),
  /** Given by the user (a missing one is an error) or one of the defaults (a missing one is noted). */
  explicit: z.boolean(),
  type: z.enum(["directory", "file"]).optional(),
  /** True when the path is (inside) a volume or bind mount rather than the container's own layer. */
  mounted: z.boolean().optional(),
  /** Name of the archive object; absent when the path was not present. */
  archive: z.string().optional(),
  entries: z.number().int().nonnegative().optional(),
  files: z.number().int().nonnegative().optional(),
  bytes: z.number().int().nonnegative().optional(),
  sqlite: z.array(z.string()).optional(),
  /** Format 2: name of the object listing the chunks of the archive's chunked files, in archive order. */
  index: z.string().optional(),
  /** Format 2: chunked files found unchanged since the last snapshot (same size, mtime, ctime, inode) and not read. */
  unchanged: z.number().int().nonnegative().optional(),
});

const chunkStoreRecord = z.object({
  /** Where the chunks are, relative to the store, e.g. "chunks/open-webui/". */
  prefix: z.string().regex(/^chunks\/[A-Za-z0-9][A-Za-z0-9_.-]*\/$/),
  chunkSize: z.number().int().positive(),
  /** Distinct chunks the snapshot references, and their stored bytes. */
  chunks: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
  /** Chunks (and stored bytes) this snapshot's run had to write; the rest were already there. */
  newChunks: z.number().int().nonnegative(),
  newBytes: z.number().int().nonnegative(),
});

const externalRecord = z.object({
  kind: z.enum(["database", "vector-db", "file-storage"]),
  /** What it points at, with any credential removed. */
  target: z.string(),
  variable: z.string(),
});

export const manifestSchema = z.object({
  format: z.number().int().min(1),
  id: z.string(),
  tool: z.object({ name: z.string(), version: z.string() }),
  trigger: z.enum(TRIGGERS),
  reason: z.string().optional(),
  createdAt: z.string(),
  startedAt: z.string(),
  finishedAt: z.string(),
  container: z.object({ name: z.string(), id: z.string(), state: z.string() }),
  image: z.object({
    reference: z.string(),
    id: z.string(),
    openWebuiVersion: z.string().optional(),
  }),
  /**
   * Open WebUI's database as the consistent copy showed it (online backups): its Alembic revision (the
   * schema generation, which only goes forward) and row counts of its key tables.
   */
  database: z.object({ path: z.string(), alembicRevision: z.string().optional(), rows: z.record(z.string(), z.number().int().nonnegative()).optional() }).optional(),
  consistency: z.enum(CONSISTENCY),
  compression: z.literal("gzip"),
  paths: z.array(pathRecord),
  objects: z.array(objectRecord),
  chunkStore: chunkStoreRecord.optional(),
  external: z.array(externalRecord),
  /** Bytes of the snapshot's own objects plus every chunk it references: what a restore reads. */
  sizeBytes: z.number().int().nonnegative(),
  files: z.number().int().nonnegative(),
});

export type Manifest = z.infer<typeof manifestSchema>;
export type PathRecord = z.infer<typeof pathRecord>;
export type ObjectRecord = z.infer<typeof objectRecord>;
export type ExternalRecord = z.infer<typeof externalRecord>;
export type ChunkStoreRecord = z.infer<typeof chunkStoreRecord>;

export function parseManifest(value: unknown, where: string): Manifest {
  const result = manifestSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new Error(`manifest ${where} is invalid at ${issue?.path.join(".") || "(root)"}: ${issue?.message}`);
  }
  if (result.data.format > MANIFEST_FORMAT) {
    throw new Error(`manifest ${where} has format ${result.data.format}; upgrade owui-backup to read it`);
  }
  return result.data;
}

/** The summary `list --json` prints for each snapshot. */
export function summarize(manifest: Manifest) {
  return {
    id: manifest.id,
    createdAt: manifest.createdAt,
    container: manifest.container.name,
    image: manifest.image.reference,
    trigger: manifest.trigger,
    sizeBytes: manifest.sizeBytes,
    /** What this snapshot added to the store (all of it for format 1). */
    newBytes: newBytesOf(manifest),
    files: manifest.files,
  };
}

/** Bytes a snapshot's run wrote: its own objects and the chunks that were not stored before. */
export function newBytesOf(manifest: Manifest): number {
  const own = manifest.objects.reduce((sum, o) => sum + o.size, 0);
  return own + (manifest.chunkStore?.newBytes ?? 0);
}
