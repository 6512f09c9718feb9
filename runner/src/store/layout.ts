/**
 * Where each thing lives in a store. Every backend uses these keys, so a snapshot copied between stores
 * byte for byte stays a snapshot.
 *
 *   snapshots/<id>/owner.json             written first: who is writing it (reserves the id)
 *   snapshots/<id>/container.json         full `docker inspect` of the container
 *   snapshots/<id>/env.json               its environment variables
 *   snapshots/<id>/paths/<name>.tar.gz    one archive per backed-up path (large files as placeholders)
 *   snapshots/<id>/paths/<name>.index.json.gz  the chunks of that archive's files, in archive order
 *                                         (format 3; format 2: .index.json, large files only)
 *   chunks/<container>/...                the content of files, stored once: chunks of their own, packs
 *                                         of small chunks and the pack index (see chunks/chunk-store.ts)
 *   snapshots/<id>/manifest.json          written last: a snapshot exists only when this does
 *   locks/<container>.json                one run at a time per container and store
 *   state/<container>.json                last success and last failure, for `status`
 *   state/<container>.pending.json        a pause, stop or restore a run began and has not finished (state/pending.ts)
 *   pins/<container>.json                 the snapshot retention keeps for the watcher (last before an image change)
 *   drills/<container>.json               results of restore rehearsals (drill), by snapshot
 */
export const SNAPSHOTS_PREFIX = "snapshots/";
export const CHUNKS_PREFIX = "chunks/";

export const layout = {
  snapshotPrefix: (id: string) => `${SNAPSHOTS_PREFIX}${id}/`,
  owner: (id: string) => `${SNAPSHOTS_PREFIX}${id}/owner.json`,
  manifest: (id: string) => `${SNAPSHOTS_PREFIX}${id}/manifest.json`,
  object: (id: string, name: string) => `${SNAPSHOTS_PREFIX}${id}/${name}`,
  lock: (container: string) => `locks/${container}.json`,
  state: (container: string) => `state/${container}.json`,
  pending: (container: string) => `state/${container}.pending.json`,
  pin: (container: string) => `pins/${container}.json`,
  drills: (container: string) => `drills/${container}.json`,
  chunks: (container: string) => `${CHUNKS_PREFIX}${container}/`,
};

/** Names of objects inside a snapshot, relative to its prefix. */
export const snapshotObjects = {
  container: "container.json",
  env: "env.json",
  archive: (name: string) => `paths/${name}.tar.gz`,
  index: (name: string) => `paths/${name}.index.json.gz`,
};

/** The snapshot id of a key under snapshots/, or undefined. */
export function snapshotIdOfKey(key: string): string | undefined {
  if (!key.startsWith(SNAPSHOTS_PREFIX)) return undefined;
  const rest = key.slice(SNAPSHOTS_PREFIX.length);
  const slash = rest.indexOf("/");
  return slash > 0 ? rest.slice(0, slash) : undefined;
}
