import type { Logger } from "pino";
import { oneLine } from "../errors.js";
import path from "node:path/posix";
import { parseManifest, type Manifest } from "../snapshot/manifest.js";
import { layout } from "../store/layout.js";
import { readJsonObject, type Store } from "../store/store.js";
import { readRunState } from "../state/run-state.js";
import { readChunkIndex } from "./chunk-reader.js";
import type { IndexedFile } from "./chunk-index.js";
import type { ChunkRef } from "./chunk-store.js";

/**
 * The chunked files of the container's last successful snapshot, by backed-up path and archive name:
 * what a backup compares the listed stats with to skip reading unchanged files. Empty when there is
 * none, it has no chunks (format 1), or it cannot be read (then everything is read, as the first time).
 */
export async function previousFiles(store: Store, container: string, log: Logger): Promise<PreviousSnapshot> {
  const byPath = new Map<string, Map<string, IndexedFile>>();
  try {
    const last = (await readRunState(store, container)).lastSuccess;
    if (!last) return { byPath };
    const manifest = parseManifest(await readJsonObject(store, layout.manifest(last.id)), last.id);
    if (manifest.container.name !== container) return { byPath };
    for (const record of manifest.paths) {
      const index = await readChunkIndex(store, manifest, record);
      if (index) byPath.set(record.path, new Map(index.files.map((f) => [f.name, f])));
    }
    return { byPath, ...(manifest.database ? { database: manifest.database } : {}) };
  } catch (err) {
    log.debug(`the last snapshot's chunk lists could not be read (${oneLine(err)}); every file is read`);
    return { byPath: new Map() };
  }
}

export interface PreviousSnapshot {
  /** Backed-up path → archive name → the file as the last snapshot indexed it. */
  byPath: Map<string, Map<string, IndexedFile>>;
  /** What the last snapshot recorded of Open WebUI's database (kept when the database was not copied again). */
  database?: Manifest["database"];
}

/** Container path → `source` of each database the last snapshot copied, whose chunks `holds` says are still stored. */
export function previousDatabaseSources(previous: PreviousSnapshot, holds: (ref: ChunkRef) => boolean): Map<string, string> {
  const sources = new Map<string, string>();
  for (const [root, files] of previous.byPath) {
    for (const file of files.values()) {
      if (file.source && file.chunks.every(holds)) sources.set(path.join(path.dirname(root), file.name), file.source);
    }
  }
  return sources;
}
