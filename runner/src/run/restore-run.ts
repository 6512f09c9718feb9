import { formatBytes } from "../util/format.js";
import { statPath } from "../docker/archive.js";
import { ignoreNotModified } from "../docker/client.js";
import { containerName, findContainer, isMounted, mountPoints, requireContainer, runStateOf, waitUntilRunning, type ContainerInfo } from "../docker/container.js";
import { compareVersions, openWebuiVersion } from "../docker/open-webui-version.js";
import { imageMigrations } from "../docker/image-migrations.js";
import { endOf, FailureError, UsageError, VerifyError } from "../errors.js";
import { systemPathProblem } from "../util/container-paths.js";
import { DEFAULT_PATHS } from "../steps/plan-paths.js";
import { createProgress } from "../progress.js";
import { resolveSnapshot } from "../snapshot/catalog.js";
import type { Manifest, PathRecord } from "../snapshot/manifest.js";
import { layout, snapshotObjects } from "../store/layout.js";
import { readJsonObject } from "../store/store.js";
import { emptyDirectoriesInside, emptyMountedDirectories, mountsInside } from "../steps/clear-paths.js";
import { acquireLock } from "../state/lock.js";
import { interruptedRestoreMessage, readPending, unfinishedRestoreWayOut, updatePending } from "../state/pending.js";
import type { Store } from "../store/store.js";
import { createFromInspect, renameAside, resolveImage } from "../steps/recreate-container.js";
import { restorePath } from "../steps/restore-path.js";
import { snapshotChunkStore } from "../chunks/chunk-reader.js";
import { verifySnapshot } from "../steps/verify-snapshot.js";
import { ensureRunState, runBackup } from "./backup-run.js";
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
  /** Read from the store into the container: archives and chunks. */
  bytesRead: number;
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
  const current = await findContainer(docker, config.container);
  // Locks, "latest" and messages use the container's name, whatever the user passed (name or id).
  const name = current ? containerName(current) : config.container;
  const chosen = await resolveSnapshot(store, options.ref, name);
  const records = selectPaths(chosen, options, config.paths ?? []);
  if (options.only === "data" && !current) {
    throw new FailureError(`container ${name} does not exist; drop --only data to recreate it from the snapshot`);
  }
  const recreate = options.only === "config" || options.recreate || !current;
  if (!recreate) await checkVersion(ctx, chosen, current!.Image, current, options.force);

  const what = options.only === "config" ? "its container settings" : records.map((r) => r.path).join(", ");
  if (!(await options.confirm(`Restore snapshot ${chosen.id} (${chosen.createdAt}) into container ${name}, replacing ${what}?`))) {
    throw new FailureError("restore cancelled; nothing was changed");
  }

  const cleanup = new Cleanup(log);
  let changing = false;
  let startRequested = false;
  let aside: { name: string; restore: () => Promise<void> } | undefined;
  const restored: string[] = [];
  let bytesRead = 0;
  let unfinishedSafety: string | undefined;
  let safety: string | undefined;
  let target: ContainerInfo | undefined;
  let live: ContainerInfo | undefined;
  const undoUnlessDone: { disarm: () => void }[] = [];
  let backToInitial: { disarm: () => void } | undefined;
  try {
    const lock = await acquireLock(store, name, `restore ${chosen.id}`);
    cleanup.defer("release the lock", lock);
    // An earlier restore that did not finish left half-restored data: this one must put back every
    // path it was changing (else the container would start on a broken one), and takes no safety
    // snapshot (nothing worth keeping; the first restore's safety snapshot still holds the state from
    // before).
    const unfinished = (await readPending(store, name)).restoring;
    unfinishedSafety = unfinished?.safety;
    if (unfinished) {
      const left = options.only === "config" ? unfinished.paths : unfinished.paths.filter((p) => !records.some((r) => r.path === p));
      if (left.length > 0 && !options.force) {
        throw new UsageError(
          `${interruptedRestoreMessage(unfinished)}; this restore would leave ${left.join(", ")} half-restored: restore every path (no --only config or --path), or pass --force`,
        );
      }
      log.warn(
        `a restore of ${unfinished.id} was interrupted at ${unfinished.at}; the container holds half-restored data, so no safety snapshot is taken` +
          (unfinished.safety ? ` (${unfinished.safety} holds the state from before that restore)` : ""),
      );
    }
    // Under the lock, so no retention run can delete the snapshot while it is verified and restored.
    const manifest = await resolveSnapshot(store, chosen.id, name);
    log.info(`verifying snapshot ${manifest.id} before restoring it`);
    const progress = createProgress("verify");
    const report = await verifySnapshot(store, manifest, { signal: ctx.signal, onBytes: progress.add }).finally(() => progress.done());
    if (!report.ok) {
      // The way out: the same snapshot from a copy (the stores backups copy to), or an older one.
      const copies = config.copyTo.map((c) => `--store ${/\s/.test(c) ? `"${c}"` : c}`);
      const wayOut = copies.length > 0 ? `restore it from a copy (${copies.join(" or ")}) or pick another snapshot` : "pick another snapshot, or restore it from a copy with --store";
      throw new VerifyError(`snapshot ${manifest.id} failed verification (${report.problems[0]}); nothing was changed: ${wayOut}`);
    }
    const saved = (await readJsonObject(store, layout.object(manifest.id, snapshotObjects.container))) as ContainerInfo;
    const image = recreate ? await resolveImage(docker, saved, log) : current!.Image;
    if (recreate) await checkVersion(ctx, manifest, image, undefined, options.force);

    // Written down before the first change, so that a restore killed outright is found out.
    const changedPaths = [...new Set([...(unfinished?.paths ?? []), ...(options.only === "config" ? [] : records.map((r) => r.path))])];
    const beginChanging = async () => {
      if (changing) return;
      changing = true;
      const safetyId = safety ?? unfinished?.safety;
      await updatePending(store, name, {
        restoring: { id: manifest.id, ...(safetyId ? { safety: safetyId } : {}), paths: changedPaths, at: new Date().toISOString(), by: lock.holder },
      });
    };
    const holdStopped = (containerId: string) =>
      updatePending(store, name, { held: { action: "stopped", by: lock.holder, containerId, at: new Date().toISOString() } });
    const unhold = () => updatePending(store, name, { held: undefined });

    if (current && options.safetySnapshot && !unfinished) {
      log.info("taking a safety snapshot of the current state first");
      // Exactly the paths this restore changes (a path the container lacks now is simply not there).
      const changed = options.only === "config" ? undefined : records.map((r) => r.path);
      const result = await runBackup(ctx, {
        trigger: "pre-restore",
        reason: `before restoring ${manifest.id}`,
        heldLock: lock.holder,
        applyRetention: false,
        ...(changed ? { paths: changed } : {}),
      });
      safety = result.manifest.id;
      log.info(`safety snapshot ${safety} written; \`owui-backup restore ${safety}\` undoes this restore`);
    }

    const before = current ? await requireContainer(docker, current.Id) : undefined;
    live = before;
    const initial = before ? runStateOf(before) : "stopped";
    if (before && initial !== "stopped") {
      backToInitial = cleanup.defer("return the container to its state before the restore", async () => {
        await ensureRunState(docker, before.Id, initial);
        await unhold();
      });
      if (initial === "paused") await docker.getContainer(before.Id).unpause();
      const layerDirectories = recreate ? [] : directories(records, (p) => !isMounted(before, p));
      if (layerDirectories.length > 0 && options.only !== "config") {
        // The container's own layer can only be emptied from inside it, so before it stops.
        await beginChanging();
        await emptyDirectoriesInside(docker, before.Id, layerDirectories, mountsInsideAny(before, layerDirectories));
      }
      log.info(`stopping ${name}`);
      await holdStopped(before.Id);
      await docker.getContainer(before.Id).stop({ t: config.stopTimeout }).catch(ignoreNotModified);
    }

    if (recreate) {
      if (before) {
        aside = await renameAside(docker, before, manifest.id);
        undoUnlessDone.push(cleanup.defer(`rename ${aside.name} back`, aside.restore));
      }
      const created = await createFromInspect(docker, saved, image);
      undoUnlessDone.push(cleanup.defer("remove the half-made container", () => docker.getContainer(created.Id).remove({ force: true })));
      target = created;
      log.info(`recreated container ${name} from the snapshot's settings (image ${image})`);
    } else {
      target = before!;
    }

    if (options.only !== "config") {
      // From here a failure leaves the container stopped: starting Open WebUI on half-restored data
      // could run its migrations on a broken database.
      await beginChanging();
      const mountedDirectories = directories(records, (p) => isMounted(target!, p));
      await emptyMountedDirectories(docker, target.Id, image, mountedDirectories, mountsInsideAny(target, mountedDirectories));
      if (!recreate && initial === "stopped") {
        const kept = directories(records, (p) => !isMounted(target!, p));
        if (kept.length > 0) log.warn(`${kept.join(", ")} are on the container's own layer and it was stopped: files added there since the snapshot are kept`);
      }
      // One chunk store for every path: the pack index is read once.
      const chunks = snapshotChunkStore(store, manifest);
      for (const record of records) {
        const skip = await fileMountsInside(ctx, target, record.path);
        for (const file of skip) log.warn(`${file} is a file mounted into the container; left as it is`);
        const bar = createProgress(record.path);
        const count = (n: number) => {
          bytesRead += n;
          bar.add(n);
        };
        try {
          await restorePath({ docker, store, signal: ctx.signal, onBytes: count, ...(chunks ? { chunks } : {}) }, manifest, record, target.Id, skip);
        } finally {
          bar.done();
        }
        restored.push(record.path);
        log.info(`restored ${record.path}`);
      }
    }

    log.info(`starting ${name}`);
    await docker.getContainer(target.Id).start().catch(ignoreNotModified);
    startRequested = true;
    await waitUntilRunning(docker, target.Id, config.readyTimeout, ctx.signal);
    // The new state stands: drop the undo actions that would take it apart, then the old container.
    for (const action of undoUnlessDone) action.disarm();
    backToInitial?.disarm();
    await finishRestoring(store, name, restored);
    if (aside) await docker.getContainer(before!.Id).remove({ force: true, v: false });
    const durationMs = Date.now() - started;
    log.info(
      { id: manifest.id, bytesRead, durationMs },
      `restored ${manifest.id} into ${name}: ${restored.length} paths, ${formatBytes(bytesRead)} read from the store, in ${(durationMs / 1000).toFixed(1)} s`,
    );
    return {
      snapshot: manifest,
      ...(safety ? { safetySnapshot: safety } : {}),
      recreated: recreate,
      restoredPaths: restored,
      bytesRead,
      durationMs,
    };
  } catch (err) {
    if (!changing) {
      // The undo actions put the container back as it was (they run below, before the process exits).
      if (ctx.signal.aborted) throw endOf(err, ctx.signal, `nothing was changed; ${name} is put back as it was`);
      throw err;
    }
    backToInitial?.disarm();
    if (startRequested && ctx.signal.aborted) {
      // Interrupted while waiting for it to be ready: every byte is in place and it runs; leave it so.
      for (const action of undoUnlessDone) action.disarm();
      await finishRestoring(store, name, restored).catch(() => undefined);
      const keptAside = aside ? `; the previous container is kept, stopped, as ${aside.name}: \`docker rm ${aside.name}\` once this one works` : "";
      throw endOf(err, ctx.signal, `the data of ${chosen.id} is fully restored and ${name} was started; check it with \`docker ps\`${keptAside}`);
    }
    const halfRestored = recreate ? undefined : live;
    if (halfRestored) await docker.getContainer(halfRestored.Id).stop({ t: config.stopTimeout }).catch(() => undefined);
    // Known to be stopped now; the unfinished restore stays recorded until a restore finishes.
    await updatePending(store, name, { held: undefined }).catch(() => undefined);
    const wayOut = unfinishedRestoreWayOut({ id: chosen.id, ...(safety ?? unfinishedSafety ? { safety: (safety ?? unfinishedSafety) as string } : {}) });
    throw endOf(err, ctx.signal, `the restore stopped half way and ${name} is left stopped with half-restored data: ${wayOut}`);
  } finally {
    await cleanup.run();
  }
}

/**
 * The restore stands: the held record goes, and the unfinished-restore record too once every path it
 * was changing has been put back (one a forced partial restore left stays recorded).
 */
async function finishRestoring(store: Store, container: string, restored: string[]): Promise<void> {
  const { restoring } = await readPending(store, container);
  const left = restoring?.paths.filter((p) => !restored.includes(p)) ?? [];
  await updatePending(store, container, { held: undefined, restoring: restoring && left.length > 0 ? { ...restoring, paths: left } : undefined });
}

/** Paths of the directories among `records` that `where` selects. */
function directories(records: PathRecord[], where: (path: string) => boolean): string[] {
  return records.filter((r) => r.type === "directory" && where(r.path)).map((r) => r.path);
}

function mountsInsideAny(info: ContainerInfo, dirs: string[]): string[] {
  const destinations = mountPoints(info);
  return dirs.flatMap((d) => mountsInside(destinations, d));
}

/** Files bind-mounted below `path`: the engine cannot replace them, and they belong to the host. */
async function fileMountsInside(ctx: RunContext, info: ContainerInfo, path: string): Promise<string[]> {
  const inside = mountsInside(mountPoints(info), path);
  const files: string[] = [];
  for (const m of inside) {
    const stat = await statPath(ctx.docker, info.Id, m);
    if (stat && !stat.isDirectory) files.push(m);
  }
  return files;
}

/**
 * The paths the restore will make equal to the snapshot: the ones it holds (or the one --path names).
 * The snapshot's manifest says which paths those are, and a store is not to be trusted further than
 * needed: only Open WebUI's own paths, the paths this host is configured to back up
 * (OWUI_BACKUP_PATHS) and the one named with --path are written; never a system path, and never a
 * path inside another one (a symlink restored with the outer one could send the inner one elsewhere).
 */
function selectPaths(manifest: Manifest, options: RestoreOptions, configured: readonly string[]): PathRecord[] {
  const present = manifest.paths.filter((p) => p.present && p.archive);
  let selected = present;
  if (options.path) {
    const wanted = options.path.replace(/(.)\/+$/, "$1");
    selected = present.filter((p) => p.path === wanted);
    if (selected.length === 0) {
      throw new UsageError(`snapshot ${manifest.id} has no path ${options.path}; it has ${present.map((p) => p.path).join(", ") || "none"}`);
    }
  }
  const allowed = new Set<string>([...DEFAULT_PATHS, ...configured, ...(options.path ? [options.path.replace(/(.)\/+$/, "$1")] : [])]);
  for (const record of selected) {
    const problem = systemPathProblem(record.path);
    if (problem) throw new UsageError(`snapshot ${manifest.id} holds ${record.path}, which is not restored: ${problem}; restore the other paths one by one with --path`);
    if (!allowed.has(record.path)) {
      throw new UsageError(
        `snapshot ${manifest.id} holds ${record.path}, which is not one of Open WebUI's paths: restore it with --path ${record.path} if you backed it up on purpose (or set OWUI_BACKUP_PATHS)`,
      );
    }
    const outer = selected.find((other) => other !== record && record.path.startsWith(`${other.path.replace(/\/$/, "")}/`));
    if (outer) throw new UsageError(`snapshot ${manifest.id} holds ${record.path} inside ${outer.path}; restore them one by one with --path`);
  }
  return selected;
}

/**
 * Refuses (unless --force) a snapshot the target image cannot run: Open WebUI's database migrations
 * only go forward, so an image that does not know the snapshot's Alembic revision fails to start on it
 * ("Can't locate revision identified by …"). The revision recorded in the manifest decides when it is
 * there and the image can be asked; else the Open WebUI versions are compared.
 */
async function checkVersion(ctx: RunContext, manifest: Manifest, image: string, current: ContainerInfo | undefined, force: boolean) {
  const from = manifest.image.openWebuiVersion;
  const revision = manifest.database?.alembicRevision;
  if (!from && !revision) return;
  const inspect = await ctx.docker.getImage(image).inspect().catch(() => undefined);
  const to = await openWebuiVersion(ctx.docker, { labels: inspect?.Config?.Labels ?? null, env: current?.Config.Env ?? inspect?.Config?.Env ?? null }, current?.Id);
  const refuse = (message: string) => {
    if (!force) throw new FailureError(`${message}: restore into an image of that version or newer, or pass --force`);
    ctx.log.warn(`${message}; restoring anyway (--force)`);
  };
  if (revision) {
    const known = await imageMigrations(ctx.docker, inspect?.Id ?? image, current ? { id: current.Id, image: current.Image, running: current.State.Running } : undefined);
    if (known) {
      if (!known.revisions.includes(revision)) {
        refuse(
          `snapshot ${manifest.id} holds a database at Alembic revision ${revision}${from ? ` (Open WebUI ${from})` : ""}, which the target image` +
            `${to ? ` (Open WebUI ${to}, revision ${known.heads.join("/")})` : ` (revision ${known.heads.join("/")})`} does not know; its migrations are one-way`,
        );
      }
      return;
    }
  }
  if (!from) return;
  if (!to) {
    ctx.log.warn(`cannot tell the Open WebUI version of ${image}; the snapshot was written by ${from}`);
    return;
  }
  if (compareVersions(from, to) > 0) refuse(`snapshot ${manifest.id} was written by Open WebUI ${from}, newer than the target image's ${to}; its database migrations are one-way`);
}
