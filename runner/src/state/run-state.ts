import { layout } from "../store/layout.js";
import { jsonBody, readJsonObject, type Store } from "../store/store.js";
import type { Owner } from "../util/owner.js";
import type { LockHolder } from "./lock.js";

/**
 * What the store records about the runs for a container (state/<container>.json), beyond the catalog:
 * how the last runs ended, and what a run changed that a run killed outright (SIGKILL, power loss)
 * could not undo, so that the next run, `status` and the watcher can see it and set it right.
 */
export interface RunState {
  lastSuccess?: { id: string; at: string; trigger: string };
  lastFailure?: { at: string; trigger: string; error: string };
  /** A pause or stop a run made: written just before it, removed just after the run undid it. */
  held?: HeldContainer;
  /** A restore that began changing the container: removed only when a restore of it finishes. */
  restoring?: RestoreInProgress;
}

export interface HeldContainer {
  action: "paused" | "stopped";
  /** The run that did it, as its lock names it: while that lock is held, the run is alive. */
  by: LockHolder;
  at: string;
}

export interface RestoreInProgress {
  /** The snapshot being restored. */
  id: string;
  /** The state from before the restore, when a safety snapshot was taken. */
  safety?: string;
  at: string;
  by: Owner;
}

export async function readRunState(store: Store, container: string): Promise<RunState> {
  return ((await readJsonObject(store, layout.state(container)).catch(() => undefined)) as RunState | undefined) ?? {};
}

/** Read, change, write. Callers hold the container's lock, or act only on records of runs that are gone. */
export async function updateRunState(store: Store, container: string, change: (state: RunState) => RunState): Promise<void> {
  const current = await readRunState(store, container);
  await store.put(layout.state(container), jsonBody(change(current)));
}

export async function recordRun(store: Store, container: string, update: RunState): Promise<void> {
  await updateRunState(store, container, (current) => ({ ...current, ...update }));
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
