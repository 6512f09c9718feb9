import { z } from "zod";

/** Bumped when the layout of a snapshot changes; readers keep accepting every older format. */
export const MANIFEST_FORMAT = 1;

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
  consistency: z.enum(CONSISTENCY),
  compression: z.literal("gzip"),
  paths: z.array(pathRecord),
  objects: z.array(objectRecord),
  external: z.array(externalRecord),
  sizeBytes: z.number().int().nonnegative(),
  files: z.number().int().nonnegative(),
});

export type Manifest = z.infer<typeof manifestSchema>;
export type PathRecord = z.infer<typeof pathRecord>;
export type ObjectRecord = z.infer<typeof objectRecord>;
export type ExternalRecord = z.infer<typeof externalRecord>;

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
    files: manifest.files,
  };
}
