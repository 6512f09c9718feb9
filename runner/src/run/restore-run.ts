import { findContainer, isMounted, runStateOf, waitUntilRunning, type ContainerInfo } from "../docker/container.js";
import { compareVersions, openWebuiVersion } from "../docker/open-webui-version.js";
import { FailureError, UsageError, VerifyError, oneLine } from "../errors.js";
import { createProgress } from "../progress.js";
import { resolveSnapshot } from "../snapshot/catalog.js";
import type { Manifest, PathRecord } from "../snapshot/manifest.js";
import { layout, snapshotObjects } from "../store/layout.js";
import { readJsonObject } from "../store/store.js";
import { emptyDirectoriesInside, emptyMountedDirectories } from "../steps/clear-paths.js";
import { acquireLock } from "../steps/lock.js";
import { createFromInspect, renameAside, resolveImage } from "../steps/recreate-container.js";
import { restorePath } from "../steps/restore-path.js";
import { verifySnapshot } from "../steps/verify-snapshot.js";
import { runBackup } from "./backup-run.js";
import { Cleanup } from "./cleanup.js";
import type { RunContext } from "./context.js";

export interface RestoreOptions {
  ref: string;
  only?: "data" | "config" | undefined;
  path?: string | undefined;
  recreate: boolean;
  force: boolean;
  safetySnapshot: boolean;
  /** Asks the person at the terminal; resolves false to stop without changing anything. */
  confirm: (question: string) => Promise<boolean>;
}

export interface RestoreResult {
  snapshot: Manifest;
  safetySnapshot?: string;
  recreated: boolean;
  restoredPaths: string[];
  durationMs: number;
}

/**
 * Puts a snapshot back: verify it, take a safety snapshot of the current state, stop the container,
 * (re)create it if asked or missing, make every restored path equal to the snapshot, start it and wait
 * until it is running (and healthy). Nothing changes before verification and the safety snapshot pass.
 */
export async function runRestore(ctx: RunContext, options: RestoreOptions): Promise<RestoreResult> {
  const { docker, store, log, config } = ctx;
  const started = Date.now();
  const manifest = await resolveSnapshot(store, options.ref, config.container);
  const records = selectPaths(manifest, options);

  const current = await findContainer(docker, config.container);
  if (options.only === "data" && !current) {
    throw new FailureError(`container ${config.container} does not exist; drop --only data to recreate it from the snapshot`);
  }

  const recreate = options.only === "config" || options.recreate || !current;
  if (!recreate) await checkVersion(ctx, manifest, current!.Image, current, options.force);

  const what = options.only === "config" ? "its container settings" : records.map((r) => r.path).join(", ");
  if (!(await options.confirm(`Restore snapshot ${manifest.id} (${manifest.createdAt}) into container ${config.container}, replacing ${what}?`))) {
    throw new FailureError("restore cancelled; nothing was changed");
  }

  log.info(`verifying snapshot ${manifest.id} before restoring it`);
  const progress = createProgress("verify");
  const report = await verifySnapshot(store, manifest, { signal: ctx.signal, onBytes: progress.add }).finally(() => progress.done());
  if (!report.ok) {
    throw new VerifyError(`snapshot ${manifest.id} failed verification (${report.problems[0]}); nothing was changed, pick another snapshot`);
  }

  const saved = (await readJsonObject(store, layout.object(manifest.id, snapshotObjects.container))) as ContainerInfo;
  const image = recreate ? await resolveImage(docker, saved, log) : current!.Image;
  if (recreate) await checkVersion(ctx, manifest, image, undefined, options.force);

  const cleanup = new Cleanup(log);
  let changing = false;
  let safety: string | undefined;
  try {
    cleanup.defer("release the lock", await acquireLock(store, config.container, `restore ${manifest.id}`));
    if (current && options.safetySnapshot) {
      log.info("taking a safety snapshot of the current state first");
      const result = await runBackup(ctx, { trigger: "pre-restore", reason: `before restoring ${manifest.id}`, lockHeld: true, applyRetention: false });
      safety = result.manifest.id;
      log.info(`safety snapshot ${safety} written; \`owui-backup restore ${safety}\` undoes this restore`);
    }

    const wasRunning = current ? runStateOf(current) !== "stopped" : false;
    if (current && wasRunning && !recreate) {
      // Directories on the container's own layer can only be emptied from inside it, so before it stops.
      const layerDirectories = records.filter((r) => r.type === "directory" && !isMounted(current, r.path)).map((r) => r.path);
      await emptyDirectoriesInside(docker, current.Id, layerDirectories);
    }
    const undo: { disarm: () => void }[] = [];
    let startAgain: { disarm: () => void } | undefined;
    if (current && wasRunning) {
      log.info(`stopping ${config.container}`);
      if (current.State.Paused) await docker.getContainer(current.Id).unpause();
      await docker.getContainer(current.Id).stop({ t: config.stopTimeout }).catch(ignore304);
      startAgain = cleanup.defer("start the container again", () => docker.getContainer(current.Id).start().catch(ignore304));
    }

    let target: ContainerInfo;
    let aside: { name: string; restore: () => Promise<void> } | undefined;
    if (recreate) {
      if (current) {
        aside = await renameAside(docker, current, manifest.id);
        undo.push(cleanup.defer(`rename ${aside.name} back`, aside.restore));
      }
      target = await createFromInspect(docker, saved, image);
      const created = target;
      undo.push(cleanup.defer("remove the half-made container", () => docker.getContainer(created.Id).remove({ force: true })));
      log.info(`recreated container ${config.container} from the snapshot's settings (image ${image})`);
    } else {
      target = current!;
    }

    const restored: string[] = [];
    if (options.only !== "config") {
      // Data is about to change: if this fails half way, starting the app on it could run migrations
      // on a broken database, so from here a failure leaves the container stopped.
      changing = true;
      startAgain?.disarm();
      const mountedDirectories = records.filter((r) => r.type === "directory" && isMounted(target, r.path)).map((r) => r.path);
      await emptyMountedDirectories(docker, target.Id, image, mountedDirectories);
      if (!recreate && !wasRunning) {
        const kept = records.filter((r) => r.type === "directory" && !isMounted(target, r.path)).map((r) => r.path);
        if (kept.length > 0) log.warn(`${kept.join(", ")} are on the container's own layer and it was stopped: files added there since the snapshot are kept`);
      }
      for (const record of records) {
        const bar = createProgress(record.path);
        try {
          await restorePath({ docker, store, signal: ctx.signal, onBytes: bar.add }, manifest, record, target.Id);
        } finally {
          bar.done();
        }
        restored.push(record.path);
        log.info(`restored ${record.path}`);
      }
    }

    // The new state stands: drop the undo actions that would take it apart, and the old container.
    for (const action of undo) action.disarm();
    startAgain?.disarm();
    if (aside) await docker.getContainer(current!.Id).remove({ force: true, v: false });

    log.info(`starting ${config.container}`);
    await docker.getContainer(target.Id).start().catch(ignore304);
    await waitUntilRunning(docker, target.Id, config.readyTimeout);
    log.info(`restore of ${manifest.id} into ${config.container} finished`);
    return {
      snapshot: manifest,
      ...(safety ? { safetySnapshot: safety } : {}),
      recreated: recreate,
      restoredPaths: restored,
      durationMs: Date.now() - started,
    };
  } catch (err) {
    if (changing) {
      const undoHint = safety ? `; \`owui-backup restore ${safety}\` puts back the state from before the restore` : "";
      throw new FailureError(
        `${oneLine(err)}; the restore stopped half way and ${config.container} is left stopped${undoHint}`,
        { cause: err },
      );
    }
    throw err;
  } finally {
    await cleanup.run();
  }
}

function selectPaths(manifest: Manifest, options: RestoreOptions): PathRecord[] {
  const present = manifest.paths.filter((p) => p.present && p.archive);
  if (!options.path) return present;
  const wanted = options.path.replace(/\/+$/, "");
  const match = present.filter((p) => p.path === wanted);
  if (match.length === 0) {
    throw new UsageError(`snapshot ${manifest.id} has no path ${options.path}; it has ${present.map((p) => p.path).join(", ") || "none"}`);
  }
  return match;
}

async function checkVersion(ctx: RunContext, manifest: Manifest, image: string, current: ContainerInfo | undefined, force: boolean) {
  const from = manifest.image.openWebuiVersion;
  if (!from) return;
  const inspect = await ctx.docker.getImage(image).inspect().catch(() => undefined);
  const to = await openWebuiVersion(ctx.docker, { labels: inspect?.Config?.Labels ?? null, env: current?.Config.Env ?? inspect?.Config?.Env ?? null }, current?.Id);
  if (!to) {
    ctx.log.warn(`cannot tell the Open WebUI version of ${image}; the snapshot was written by ${from}`);
    return;
  }
  if (compareVersions(from, to) > 0) {
    const message = `snapshot ${manifest.id} was written by Open WebUI ${from}, newer than the target image's ${to}; its database migrations are one-way`;
    if (!force) throw new FailureError(`${message}: upgrade the container's image first, or pass --force`);
    ctx.log.warn(`${message}; restoring anyway (--force)`);
  }
}

function ignore304(err: unknown): void {
  if ((err as { statusCode?: number }).statusCode === 304) return;
  throw err;
}
