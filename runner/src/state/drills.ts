import { layout } from "../store/layout.js";
import { jsonBody, readJsonObject, type Store } from "../store/store.js";

/** What a drill found for one snapshot. */
export interface DrillRecord {
  id: string;
  at: string;
  ok: boolean;
  image: string;
  /** The checks that failed, one line each. */
  failed: string[];
  durationMs: number;
}

/** The results of the drills of a container's snapshots (drills/<container>.json), newest last. */
export async function readDrills(store: Store, container: string): Promise<DrillRecord[]> {
  const value = (await readJsonObject(store, layout.drills(container)).catch(() => undefined)) as { drills?: DrillRecord[] } | undefined;
  return Array.isArray(value?.drills) ? value.drills : [];
}

/** Adds a drill's result; keeps the last one per snapshot, at most `keep` snapshots. */
export async function recordDrill(store: Store, container: string, record: DrillRecord, keep = 100): Promise<void> {
  const drills = (await readDrills(store, container)).filter((d) => d.id !== record.id);
  drills.push(record);
  await store.put(layout.drills(container), jsonBody({ drills: drills.slice(-keep) }));
}
