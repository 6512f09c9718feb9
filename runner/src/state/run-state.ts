import { layout } from "../store/layout.js";
import { jsonBody, readJsonObject, type Store } from "../store/store.js";

/** What `status` reports beyond the catalog: how the last runs for a container ended (state/<container>.json). */
export interface RunState {
  lastSuccess?: { id: string; at: string; trigger: string; durationMs?: number };
  lastFailure?: { at: string; trigger: string; error: string };
  /** Failed backups since the store first saw this container (the metric owui_backup_failures_total). */
  failures?: number;
}

export async function readRunState(store: Store, container: string): Promise<RunState> {
  return ((await readJsonObject(store, layout.state(container)).catch(() => undefined)) as RunState | undefined) ?? {};
}

export async function recordRun(store: Store, container: string, update: RunState): Promise<void> {
  const current = await readRunState(store, container);
  const failures = (current.failures ?? 0) + (update.lastFailure ? 1 : 0);
  await store.put(layout.state(container), jsonBody({ ...current, ...update, failures }));
}
