import { FailureError, NotFoundError, UsageError } from "../errors.js";
import { CHUNKS_PREFIX, layout, SNAPSHOTS_PREFIX, snapshotIdOfKey } from "../store/layout.js";
import { readJsonObject, type Store } from "../store/store.js";
import type { Owner } from "../util/owner.js";
import { isSnapshotId } from "./id.js";
import { parseManifest, type Manifest } from "./manifest.js";

export interface Catalog {
  /** Complete snapshots (those with a manifest), newest first. */
  snapshots: Manifest[];
  /** Ids that have objects but no manifest: being written, or left by a run that died. */
  incomplete: { id: string; owner?: Owner; keys: string[] }[];
  /** Ids whose manifest exists but cannot be read: never deleted automatically, reported by verify. */
  unreadable: { id: string; error: string }[];
  /** Bytes of every object under snapshots/, complete or not (chunks are counted by storedBytes). */
  totalBytes: number;
}

export async function readCatalog(store: Store): Promise<Catalog> {
  const keysById = new Map<string, string[]>();
  let totalBytes = 0;
  for await (const object of store.list(SNAPSHOTS_PREFIX)) {
    const id = snapshotIdOfKey(object.key);
    if (!id) continue;
    totalBytes += object.size;
    const keys = keysById.get(id) ?? [];
    keys.push(object.key);
    keysById.set(id, keys);
  }
  const snapshots: Manifest[] = [];
  const incomplete: Catalog["incomplete"] = [];
  const unreadable: Catalog["unreadable"] = [];
  for (const [id, keys] of keysById) {
    if (keys.includes(layout.manifest(id))) {
      try {
        snapshots.push(parseManifest(await readJsonObject(store, layout.manifest(id)), `${store.location}/${layout.manifest(id)}`));
      } catch (err) {
        // An unreadable manifest does not hide the other snapshots; verify reports it.
        unreadable.push({ id, error: (err as Error).message });
      }
    } else {
      let owner: Owner | undefined;
      if (keys.includes(layout.owner(id))) {
        owner = (await readJsonObject(store, layout.owner(id)).catch(() => undefined)) as Owner | undefined;
      }
      incomplete.push({ id, keys, ...(owner ? { owner } : {}) });
    }
  }
  snapshots.sort(newestFirst);
  return { snapshots, incomplete, unreadable, totalBytes };
}

export function newestFirst(a: Manifest, b: Manifest): number {
  return b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id);
}

/**
 * Finds the snapshot a user named. `latest` is the newest snapshot of the container that is not a
 * pre-restore safety snapshot, so restoring "latest" twice never brings back the state being replaced.
 */
export async function resolveSnapshot(store: Store, ref: string, container: string): Promise<Manifest> {
  if (ref === "latest") {
    const { snapshots, unreadable } = await readCatalog(store);
    const latest = snapshots.find((s) => s.container.name === container && s.trigger !== "pre-restore");
    // A manifest that cannot be read may be the newest snapshot: "latest" must not quietly mean an older
    // one. Its owner record says whose it is when a backup wrote it; one of another container is no matter.
    const candidates = unreadable.filter((u) => !latest || u.id > latest.id).sort((a, b) => b.id.localeCompare(a.id));
    let newer: (typeof unreadable)[number] | undefined;
    for (const u of candidates) {
      if (((await writtenFor(store, u.id)) ?? container) === container) {
        newer = u;
        break;
      }
    }
    if (newer) {
      throw new FailureError(
        `snapshot ${newer.id} may be the latest, but its manifest cannot be read (${newer.error}); ` +
          `run \`owui-backup verify ${newer.id}\`, or restore an older snapshot by its id (\`owui-backup list\`)`,
      );
    }
    if (!latest) {
      throw new NotFoundError(
        `no snapshot of container ${container} in store ${store.location}; run \`owui-backup list\` to see what is there`,
      );
    }
    return latest;
  }
  if (!isSnapshotId(ref)) {
    throw new UsageError(`"${ref}" is not a snapshot id (YYYYMMDD_HHMMSS) or "latest"`);
  }
  const key = layout.manifest(ref);
  const value = await readJsonObject(store, key).catch((err) => {
    if (err instanceof NotFoundError) {
      throw new NotFoundError(`snapshot ${ref} not found in store ${store.location}; run \`owui-backup list\``);
    }
    throw err;
  });
  try {
    return parseManifest(value, `${store.location}/${key}`);
  } catch (err) {
    throw new FailureError((err as Error).message);
  }
}

/** The container a snapshot was written for, from its owner record (`backup <container>`), if it says. */
async function writtenFor(store: Store, id: string): Promise<string | undefined> {
  const owner = (await readJsonObject(store, layout.owner(id)).catch(() => undefined)) as Partial<Owner> | undefined;
  const match = /^backup (\S+)$/.exec(owner?.command ?? "");
  return match?.[1];
}

/** Everything the store holds for snapshots: their objects and the chunks they share. */
export async function storedBytes(store: Store, catalog: Catalog): Promise<number> {
  let bytes = catalog.totalBytes;
  for await (const object of store.list(CHUNKS_PREFIX)) bytes += object.size;
  return bytes;
}

/** Deletes a snapshot: the manifest first, so a half-deleted snapshot is never listed. */
export async function deleteSnapshot(store: Store, id: string): Promise<void> {
  await store.delete(layout.manifest(id));
  await store.abortPartialWrites(layout.snapshotPrefix(id));
  const keys: string[] = [];
  for await (const object of store.list(layout.snapshotPrefix(id))) keys.push(object.key);
  // The owner marker goes last: until then the id stays reserved.
  keys.sort((a, b) => Number(a === layout.owner(id)) - Number(b === layout.owner(id)));
  for (const key of keys) await store.delete(key);
}
