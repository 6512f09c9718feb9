import type Docker from "dockerode";
import { findContainer, type ContainerInfo } from "../docker/container.js";
import { oneLine } from "../errors.js";
import { runBackup } from "../run/backup-run.js";
import type { RunContext } from "../run/context.js";
import { readCatalog } from "../snapshot/catalog.js";
import type { Manifest } from "../snapshot/manifest.js";
import { writePin } from "../snapshot/pins.js";
import { DEFAULT_PATHS } from "../steps/plan-paths.js";
import type { Store } from "../store/store.js";
import { measureDataBytes } from "./data-size.js";
import { compareFingerprints, fingerprintOf, reasonOf, type Change, type Fingerprint } from "./fingerprint.js";
import type { WatchState } from "./watch-state.js";

/** One look at the container: undefined when it does not exist (removed, not yet created again). */
export async function observe(docker: Docker, container: string, paths: readonly string[] | undefined): Promise<{ info: ContainerInfo; fingerprint: Fingerprint } | undefined> {
  const info = await findContainer(docker, container);
  if (!info) return undefined;
  return { info, fingerprint: fingerprintOf(info, await measureDataBytes(docker, info, paths ?? DEFAULT_PATHS)) };
}

export interface Assessment {
  changes: Change[];
  /** The snapshot's reason when the changes call for a backup, else undefined. */
  reason?: string;
}

export function assess(state: WatchState, now: Fingerprint, growthPercent: number): Assessment {
  const changes = compareFingerprints(state.fingerprint, now, { growthPercent, sizeReference: state.sizeReference });
  const reason = reasonOf(changes);
  return reason ? { changes, reason } : { changes };
}

export function baseline(container: string, fingerprint: Fingerprint, lastBackup?: WatchState["lastBackup"]): WatchState {
  return { format: 1, container, savedAt: new Date().toISOString(), fingerprint, sizeReference: fingerprint.dataBytes, ...(lastBackup ? { lastBackup } : {}) };
}

/** Information only: remember what was seen, keeping the size reference (growth counts from the last backup). */
export function acceptSeen(state: WatchState, now: Fingerprint): WatchState {
  return { ...state, savedAt: new Date().toISOString(), fingerprint: now, sizeReference: state.sizeReference ?? now.dataBytes };
}

/**
 * True when the only critical change is a restart made by a stop-mode backup (the nightly schedule's,
 * or anyone's): the container started again while that snapshot was being written.
 */
export async function restartWasABackup(store: Store, container: string, assessment: Assessment, now: Fingerprint): Promise<boolean> {
  const critical = assessment.changes.filter((c) => c.critical);
  if (critical.length === 0 || critical.some((c) => c.kind !== "restart")) return false;
  const last = (await readCatalog(store)).snapshots.find((s) => s.container.name === container);
  if (!last || last.consistency !== "stop") return false;
  const started = Date.parse(now.startedAt);
  return started >= Date.parse(last.startedAt) && started <= Date.parse(last.finishedAt) + 5_000;
}

/**
 * Backs up for these changes (trigger `watch`, the reason in the snapshot) and returns the state to keep.
 * That state is what the look saw before the backup — a change made while the backup ran is then still
 * a change at the next look — except that the container's own restart (a stop-mode backup) and its new
 * size are taken from a look after it. On an image change the last snapshot of the old image is pinned
 * first, so the backup's retention already keeps it.
 */
export async function backUpChanges(
  ctx: RunContext & { copies?: Store[] },
  state: WatchState,
  seen: Fingerprint,
  assessment: Assessment & { reason: string },
): Promise<{ manifest: Manifest; state: WatchState }> {
  if (state.fingerprint.image.id !== seen.image.id) await pinLastOfImage(ctx, state);
  const { manifest } = await runBackup(ctx, { trigger: "watch", reason: assessment.reason, copyTo: ctx.copies ?? [] });
  const after = (await observe(ctx.docker, ctx.config.container, ctx.config.paths))?.fingerprint;
  const onlyRestarted = after && after.containerId === seen.containerId && compareFingerprints(seen, after, { growthPercent: Infinity }).every((c) => c.kind === "restart" || c.kind === "size");
  const fingerprint = onlyRestarted ? after : seen;
  return { manifest, state: baseline(state.container, fingerprint, { id: manifest.id, at: manifest.finishedAt }) };
}

/** Pins the newest snapshot of the old image in the store and its copies; a failure is a warning, the backup goes on. */
async function pinLastOfImage(ctx: RunContext & { copies?: Store[] }, state: WatchState): Promise<void> {
  try {
    const { snapshots } = await readCatalog(ctx.store);
    const before = snapshots.find((s) => s.container.name === state.container && s.image.id === state.fingerprint.image.id);
    if (!before) {
      ctx.log.warn(`the image of ${state.container} changed and no snapshot of the old image is in ${ctx.store.location}; nothing to pin`);
      return;
    }
    const pin = { id: before.id, reason: `last snapshot before the image changed from ${state.fingerprint.image.reference}`, pinnedAt: new Date().toISOString() };
    for (const store of [ctx.store, ...(ctx.copies ?? [])]) await writePin(store, state.container, pin);
    ctx.log.info({ id: before.id }, `pinned ${before.id}: the last snapshot of ${state.fingerprint.image.reference}, kept until the next image change`);
  } catch (err) {
    ctx.log.warn(`could not pin the last snapshot of the old image: ${oneLine(err)}`);
  }
}
