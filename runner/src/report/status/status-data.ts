import { readCatalog } from "../../snapshot/catalog.js";
import { newBytesOf, type Manifest } from "../../snapshot/manifest.js";
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
  /** The newest snapshot, and the newest scheduled one, among all of the container's (not only the history's). */
  last: SnapshotPoint | undefined;
  lastScheduled: SnapshotPoint | undefined;
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
  const point = (m: Manifest): SnapshotPoint => ({
    id: m.id,
    createdAt: m.createdAt,
    trigger: m.trigger,
    ...(m.reason ? { reason: m.reason } : {}),
    sizeBytes: m.sizeBytes,
    newBytes: newBytesOf(m),
    durationMs: Math.max(0, Date.parse(m.finishedAt) - Date.parse(m.startedAt)) || 0,
  });
  const history = mine.slice(0, 60).reverse().map(point);
  const scheduled = mine.find((m) => m.trigger === "schedule");
  const pin = await readPin(store, container);
  return {
    container,
    store: store.location,
    history,
    last: mine[0] ? point(mine[0]) : undefined,
    lastScheduled: scheduled ? point(scheduled) : undefined,
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
  const last = data.lastScheduled ?? data.last;
  if (!last) return { ok: false, why: `no snapshot of ${data.container} yet` };
  const age = now - Date.parse(last.createdAt);
  const kind = data.lastScheduled ? "scheduled backup" : "backup";
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

/** The wall-clock hour and minute of instant `t` in `timeZone`. */
function wallClock(t: number, timeZone: string): string {
  return new Intl.DateTimeFormat("en-GB", { timeZone, hourCycle: "h23", hour: "2-digit", minute: "2-digit" }).format(new Date(t));
}

/**
 * The next time a daily HH:MM schedule fires in `timeZone` (the host's, where cron, the timer or Task
 * Scheduler run), after `now`; undefined for anything that is not a valid HH:MM or an unknown zone.
 * Around daylight-saving changes: a time that happens twice fires the first time; a time the clock
 * skips fires when the clock changes (as cron and systemd do).
 */
export function nextDailyRun(at: string, timeZone: string, now = Date.now()): Date | undefined {
  const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(at);
  if (!match) return undefined;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone });
  } catch {
    return undefined;
  }
  for (let day = -1; day <= 2; day++) {
    const local = new Date(now + offsetAt(now, timeZone) + day * 86_400_000);
    const guess = Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate(), Number(match[1]), Number(match[2]));
    // The offsets a day either side bracket any change on that day.
    const before = guess - offsetAt(guess - 86_400_000, timeZone);
    const after = guess - offsetAt(guess + 86_400_000, timeZone);
    const exact = [...new Set([before, after])].filter((t) => wallClock(t, timeZone) === at).sort((a, b) => a - b);
    let fires = exact[0];
    if (fires === undefined) {
      // Skipped by a forward change: the instant the offset changes, found by bisection.
      let [lo, hi] = [Math.min(before, after), Math.max(before, after)];
      const start = offsetAt(lo, timeZone);
      while (hi - lo > 1000) {
        const mid = lo + Math.floor((hi - lo) / 2);
        if (offsetAt(mid, timeZone) === start) lo = mid;
        else hi = mid;
      }
      fires = hi;
    }
    if (fires > now) return new Date(fires);
  }
  return undefined;
}
