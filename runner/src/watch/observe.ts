import type Docker from "dockerode";
import { findContainer, type ContainerInfo } from "../docker/container.js";
import { runBackup } from "../run/backup-run.js";
import type { RunContext } from "../run/context.js";
import { readCatalog } from "../snapshot/catalog.js";
import type { Manifest } from "../snapshot/manifest.js";
import { writePin } from "../snapshot/pins.js";
import { DEFAULT_PATHS } from "../steps/plan-paths.js";
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
  const changes = compareFingerprints(state.fingerprint, now, { growthPercent, bytesAtBackup: state.lastBackup?.dataBytes });
  const reason = reasonOf(changes);
  return reason ? { changes, reason } : { changes };
}

export function baseline(container: string, fingerprint: Fingerprint, lastBackup?: WatchState["lastBackup"]): WatchState {
  return { format: 1, container, savedAt: new Date().toISOString(), fingerprint, ...(lastBackup ? { lastBackup } : {}) };
}

/**
 * Backs up for these changes (trigger `watch`, the reason in the snapshot) and returns the state to keep:
 * the container as it is after the backup (a stop-mode backup restarts it; that is not a change). On an
 * image change the last snapshot of the old image is pinned first, before retention runs.
 */
export async function backUpChanges(ctx: RunContext, state: WatchState, assessment: Assessment & { reason: string }): Promise<{ manifest: Manifest; state: WatchState }> {
  if (assessment.changes.some((c) => c.kind === "image")) await pinLastOfImage(ctx, state);
  const { manifest } = await runBackup(ctx, { trigger: "watch", reason: assessment.reason });
  const after = await observe(ctx.docker, ctx.config.container, ctx.config.paths);
  const fingerprint = after?.fingerprint ?? state.fingerprint;
  return { manifest, state: baseline(state.container, fingerprint, { id: manifest.id, at: manifest.finishedAt, dataBytes: fingerprint.dataBytes }) };
}

async function pinLastOfImage(ctx: RunContext, state: WatchState): Promise<void> {
  const { snapshots } = await readCatalog(ctx.store);
  const before = snapshots.find((s) => s.container.name === state.container && s.image.id === state.fingerprint.image.id);
  if (!before) {
    ctx.log.warn(`the image of ${state.container} changed and no snapshot of the old image is in ${ctx.store.location}; nothing to pin`);
    return;
  }
  await writePin(ctx.store, state.container, {
    id: before.id,
    reason: `last snapshot before the image changed from ${state.fingerprint.image.reference}`,
    pinnedAt: new Date().toISOString(),
  });
  ctx.log.info({ id: before.id }, `pinned ${before.id}: the last snapshot of ${state.fingerprint.image.reference}, kept until the next image change`);
}
