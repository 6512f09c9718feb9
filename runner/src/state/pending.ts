import { layout } from "../store/layout.js";
import { jsonBody, readJsonObject, type Store } from "../store/store.js";
import type { LockHolder } from "./lock.js";

/**
 * What a run changed in the container and has not finished setting right, written down before it is
 * changed (state/<container>.pending.json) so that a run killed outright (SIGKILL, OOM, power cut) is
 * found out and set right by the next one. Only a holder of the container's lock writes it: the run
 * that makes the change, or the put-back step once it has taken the lock from a run that is gone.
 */
export interface PendingChanges {
  /** A pause or stop a run made: written just before it, removed just after the run undid it. */
  held?: HeldContainer;
  /** A restore that began changing the container: removed only when a restore of all its paths finishes. */
  restoring?: RestoreInProgress;
}

export interface HeldContainer {
  action: "paused" | "stopped";
  /** The run that did it, as its lock names it: while that lock is held, the run is alive. */
  by: LockHolder;
  /** The container as the engine knows it: another engine's container of the same name is never touched. */
  containerId: string;
  at: string;
}

export interface RestoreInProgress {
  /** The snapshot being restored. */
  id: string;
  /** The state from before the restore, when a safety snapshot was taken. */
  safety?: string;
  /** The container paths it was making equal to the snapshot. */
  paths: string[];
  at: string;
  by: LockHolder;
}

export async function readPending(store: Store, container: string): Promise<PendingChanges> {
  return ((await readJsonObject(store, layout.pending(container)).catch(() => undefined)) as PendingChanges | undefined) ?? {};
}

/** Sets or removes (undefined) parts of the record; callers hold the container's lock. */
export async function updatePending(store: Store, container: string, change: Partial<Record<keyof PendingChanges, PendingChanges[keyof PendingChanges] | undefined>>): Promise<void> {
  const next: Record<string, unknown> = { ...(await readPending(store, container)), ...change };
  for (const key of Object.keys(next)) if (next[key] === undefined) delete next[key];
  if (Object.keys(next).length === 0) await store.delete(layout.pending(container));
  else await store.put(layout.pending(container), jsonBody(next));
}

/** How to get out of an unfinished restore: the same restore again, or the state from before it. */
export function unfinishedRestoreWayOut(restoring: Pick<RestoreInProgress, "id" | "safety">): string {
  return restoring.safety
    ? `run \`owui-backup restore ${restoring.id}\` again, or \`owui-backup restore ${restoring.safety}\` for the state from before it`
    : `run \`owui-backup restore ${restoring.id}\` again, or restore another snapshot`;
}

/** The one line every refused backup and `status` give while a restore is unfinished. */
export function interruptedRestoreMessage(restoring: RestoreInProgress): string {
  return `a restore of ${restoring.id} was interrupted at ${restoring.at} and the container holds half-restored data: ${unfinishedRestoreWayOut(restoring)}`;
}
