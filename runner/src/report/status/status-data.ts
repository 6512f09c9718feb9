import { readCatalog } from "../../snapshot/catalog.js";
import { newBytesOf } from "../../snapshot/manifest.js";
import { readPin } from "../../snapshot/pins.js";
import { readDrills, type DrillRecord } from "../../state/drills.js";
import { readRunState, type RunState } from "../../state/run-state.js";
import type { Store } from "../../store/store.js";

export interface SnapshotPoint {
  id: string;
  createdAt: string;
  trigger: string;
  reason?: string;
  sizeBytes: number;
  newBytes: number;
  durationMs: number;
}

/** What the status page, /healthz and /metrics look at: read from the store on each request. */
export interface StatusData {
  container: string;
  store: string;
  /** Oldest first, at most the last 60. */
  history: SnapshotPoint[];
  snapshots: number;
  state: RunState;
  pinned: { id: string; reason: string } | undefined;
  lastDrill: DrillRecord | undefined;
  /** The schedule as the Pulumi program set it up (OWUI_BACKUP_SCHEDULE), for people. */
  schedule: string | undefined;
}

export async function readStatusData(store: Store, container: string, schedule: string | undefined): Promise<StatusData> {
  const catalog = await readCatalog(store);
  const mine = catalog.snapshots.filter((s) => s.container.name === container);
  const history = mine
    .slice(0, 60)
    .reverse()
    .map((m) => ({
      id: m.id,
      createdAt: m.createdAt,
      trigger: m.trigger,
      ...(m.reason ? { reason: m.reason } : {}),
      sizeBytes: m.sizeBytes,
      newBytes: newBytesOf(m),
      durationMs: Math.max(0, Date.parse(m.finishedAt) - Date.parse(m.startedAt)),
    }));
  const pin = await readPin(store, container);
  return {
    container,
    store: store.location,
    history,
    snapshots: mine.length,
    state: await readRunState(store, container),
    pinned: pin ? { id: pin.id, reason: pin.reason } : undefined,
    lastDrill: (await readDrills(store, container)).at(-1),
    schedule,
  };
}

/**
 * Healthy while the last scheduled backup (any backup, for a container that never had a scheduled
 * one) is younger than `withinMs` and no backup failed after it.
 */
export function health(data: StatusData, withinMs: number, now = Date.now()): { ok: boolean; why: string } {
  const scheduled = data.history.filter((s) => s.trigger === "schedule");
  const last = (scheduled.length > 0 ? scheduled : data.history).at(-1);
  if (!last) return { ok: false, why: `no snapshot of ${data.container} yet` };
  const age = now - Date.parse(last.createdAt);
  const kind = scheduled.length > 0 ? "scheduled backup" : "backup";
  if (data.state.lastFailure && data.state.lastFailure.at > last.createdAt) {
    return { ok: false, why: `the last backup failed at ${data.state.lastFailure.at}: ${data.state.lastFailure.error}` };
  }
  if (age > withinMs) return { ok: false, why: `the last ${kind} (${last.id}) is ${Math.round(age / 3_600_000)} h old, more than ${Math.round(withinMs / 3_600_000)} h` };
  return { ok: true, why: `the last ${kind} (${last.id}) is ${Math.round(age / 60_000)} min old` };
}
