import { createHash } from "node:crypto";
import type { Logger } from "pino";
import { FailureError, NotFoundError } from "../errors.js";
import { acquireLock } from "../state/lock.js";
import { layout } from "../store/layout.js";
import { hashStoredObject, jsonBody, readJsonObject, readSmallObject, type Store } from "../store/store.js";
import { currentOwner, isAbandonedWriter, type Owner } from "../util/owner.js";
import { deleteSnapshot } from "./catalog.js";
import type { Manifest } from "./manifest.js";
import { syncChunks } from "./copy-chunks.js";
import { putHashed } from "./writer.js";

export interface CopyResult {
  id: string;
  /**
   * "copied" now; "present": the target already holds the identical snapshot, checked; "repaired": it
   * held it, but objects or chunks were missing or damaged there and were written again from the source.
   */
  status: "copied" | "present" | "repaired";
  bytes: number;
  /** What a repair replaced: object names and chunk keys. */
  replaced?: string[];
}

/**
 * Copies one complete snapshot to another store under the same id, byte for byte: every object is
 * checked against the manifest's size and sha256 on the way, chunks the target lacks are copied
 * (checked against their sha256) before the manifest, and the manifest is written last, so
 * the copy is listed only once it is whole. A failed copy removes its snapshot objects; chunks it
 * copied stay (complete, and reused by the next copy or collected by the next prune there).
 */
export async function copySnapshot(
  source: Store,
  target: Store,
  manifest: Manifest,
  options: { signal: AbortSignal; log: Logger; onBytes?: (n: number) => void; verify?: boolean },
): Promise<CopyResult> {
  const id = manifest.id;
  const manifestBytes = await readSmallObject(source, layout.manifest(id));
  if (await target.stat(layout.manifest(id))) {
    const existing = await readSmallObject(target, layout.manifest(id));
    if (sha256(existing) !== sha256(manifestBytes)) {
      throw new FailureError(`snapshot ${id} in ${target.location} differs from the one in ${source.location}; left both as they are`);
    }
    // There already: a copy is still worth only what it holds. Check it, and mend what is missing or damaged.
    const release = await acquireLock(target, manifest.container.name, `copy ${id} (check)`);
    try {
      return await repairCopy(source, target, manifest, options);
    } finally {
      await release();
    }
  }
  await reserve(target, id);
  let bytes = 0;
  try {
    for (const object of manifest.objects) bytes += await copyObject(source, target, id, object, options);
    // Under the target's lock for this container: no retention there may collect a chunk this copy
    // counted on before its manifest references it.
    const release = await acquireLock(target, manifest.container.name, `copy ${id}`);
    try {
      bytes += (await syncChunks(source, target, manifest, options)).bytes;
      await target.put(layout.manifest(id), manifestBytes);
    } finally {
      await release();
    }
  } catch (err) {
    await deleteSnapshot(target, id).catch((cleanupErr: unknown) =>
      options.log.warn(`could not remove the incomplete copy of ${id} from ${target.location}: ${(cleanupErr as Error).message}`),
    );
    throw err;
  }
  return { id, status: "copied", bytes };
}

/**
 * Checks a snapshot the target already holds: every object's size, and every chunk it references is
 * there in the form and size its index names; with `verify`, every byte too (sha256 of each object and
 * chunk). What is missing or wrong is written again from the source, checked on the way.
 */
async function repairCopy(
  source: Store,
  target: Store,
  manifest: Manifest,
  options: { signal: AbortSignal; onBytes?: (n: number) => void; verify?: boolean },
): Promise<CopyResult> {
  const id = manifest.id;
  const replaced: string[] = [];
  let bytes = 0;
  for (const object of manifest.objects) {
    const key = layout.object(id, object.name);
    const there = await target.stat(key);
    const intact = there?.size === object.size && (!options.verify || (await hashStoredObject(target, key, options.signal)) === object.sha256);
    if (intact) continue;
    bytes += await copyObject(source, target, id, object, options);
    replaced.push(object.name);
  }
  const chunks = await syncChunks(source, target, manifest, { ...options, verify: options.verify ?? false });
  replaced.push(...chunks.replaced);
  bytes += chunks.bytes;
  return replaced.length > 0 ? { id, status: "repaired", bytes, replaced } : { id, status: "present", bytes: 0 };
}

/** One object of a snapshot from the source to the target, checked on the way against the manifest. Returns its size. */
async function copyObject(
  source: Store,
  target: Store,
  id: string,
  object: Manifest["objects"][number],
  options: { signal: AbortSignal; onBytes?: (n: number) => void },
): Promise<number> {
  const key = layout.object(id, object.name);
  const stored = await putHashed(target, key, await source.get(key, { signal: options.signal }), options);
  if (stored.size !== object.size || stored.sha256 !== object.sha256) {
    throw new FailureError(`${object.name} of snapshot ${id} in ${source.location} does not match its manifest; run \`owui-backup verify ${id}\` there`);
  }
  return object.size;
}

/** Reserves the id in the target, replacing an incomplete copy left by a run that is gone. */
async function reserve(target: Store, id: string): Promise<void> {
  const owner = jsonBody(currentOwner(`copy ${id}`));
  for (let attempt = 0; attempt < 2; attempt++) {
    if (await target.putIfAbsent(layout.owner(id), owner)) return;
    // Only "not there" or "not JSON" count as no owner; a store that fails to answer stops the copy.
    const holder = (await readJsonObject(target, layout.owner(id)).catch((err: unknown) => {
      if (err instanceof NotFoundError || err instanceof SyntaxError) return undefined;
      throw err;
    })) as Owner | undefined;
    // Another run may have completed the same copy in the meantime: never delete a complete snapshot.
    if (await target.stat(layout.manifest(id))) {
      throw new FailureError(`snapshot ${id} appeared in ${target.location} while copying; run the copy again to compare it`);
    }
    if (holder && !isAbandonedWriter(holder)) {
      throw new FailureError(`snapshot ${id} is being written to ${target.location} by pid ${holder.pid} on ${holder.host} since ${holder.since}`);
    }
    await deleteSnapshot(target, id);
  }
  throw new FailureError(`could not reserve snapshot ${id} in ${target.location}`);
}

function sha256(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}
