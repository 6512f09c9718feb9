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
  /** Its next run, for a daily HH:MM schedule in the host's time zone (OWUI_BACKUP_SCHEDULE_AT, _TZ). */
  nextRun: Date | undefined;
}

export async function readStatusData(
  store: Store,
  container: string,
  schedule: string | undefined,
  daily?: { at: string; timeZone: string },
): Promise<StatusData> {
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
    nextRun: daily ? nextDailyRun(daily.at, daily.timeZone) : undefined,
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

/** The wall-clock offset of `timeZone` at instant `t`, in ms (Intl does the time-zone rules). */
function offsetAt(t: number, timeZone: string): number {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-US", { timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" })
      .formatToParts(new Date(t))
      .map((p) => [p.type, p.value]),
  );
  const wall = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
  return wall - Math.floor(t / 1000) * 1000;
}

/**
 * The next time a daily HH:MM schedule fires in `timeZone` (the host's, where cron, the timer or Task
 * Scheduler run), after `now`; undefined for anything that is not HH:MM or an unknown zone.
 */
export function nextDailyRun(at: string, timeZone: string, now = Date.now()): Date | undefined {
  const match = /^(\d{2}):(\d{2})$/.exec(at);
  if (!match) return undefined;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone });
  } catch {
    return undefined;
  }
  for (let day = -1; day <= 2; day++) {
    const local = new Date(now + offsetAt(now, timeZone) + day * 86_400_000);
    const guess = Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate(), Number(match[1]), Number(match[2]));
    // Two passes: the offset at the guess, then at the corrected instant (daylight-saving edges).
    let t = guess - offsetAt(guess, timeZone);
    t = guess - offsetAt(t, timeZone);
    if (t > now) return new Date(t);
  }
  return undefined;
}
