import type Docker from "dockerode";
import { envObject } from "../docker/create-options.js";
import { containerName, requireContainer, runStateOf, type ContainerInfo, type RunState } from "../docker/container.js";
import { openWebuiVersion } from "../docker/open-webui-version.js";
import { FailureError, oneLine, wrap } from "../errors.js";
import { createProgress } from "../progress.js";
import { ChunkStore } from "../chunks/chunk-store.js";
import { ChunkWriter, chunkStoreRecord } from "../chunks/chunk-writer.js";
import { previousDatabaseSources, previousFiles } from "../chunks/previous-files.js";
import type { IndexedFile } from "../chunks/chunk-index.js";
import { MANIFEST_FORMAT, newBytesOf, type Manifest, type PathRecord, type Trigger } from "../snapshot/manifest.js";
import { SnapshotWriter } from "../snapshot/writer.js";
import { snapshotObjects } from "../store/layout.js";
import { applyRetention, checkPolicy, type RetentionResult } from "../steps/apply-retention.js";
import { copyToStores, type CopyReport } from "../steps/copy-to-stores.js";
import type { Store } from "../store/store.js";
import { archivePath, type SqliteHandling } from "../steps/archive-path.js";
import { detectExternalData, externalWarning } from "../steps/detect-external.js";
import { acquireLock, type LockHolder } from "../state/lock.js";
import { planPaths } from "../steps/plan-paths.js";
import { chooseConsistency, pauseContainer, stopContainer } from "../steps/quiesce.js";
import { interruptedRestoreMessage, readPending, updatePending, type HeldContainer } from "../state/pending.js";
import { removeStaging, stageSqliteCopies } from "../steps/sqlite-online.js";
import { retentionPolicy } from "../config.js";
import { TOOL_VERSION } from "../version.js";
import { Cleanup } from "./cleanup.js";
import type { RunContext } from "./context.js";

export interface BackupOptions {
  trigger: Trigger;
  reason?: string;
  /** Set when the caller (restore) already holds the lock: the holder it names. */
  heldLock?: LockHolder;
  /** Retention runs after a successful backup unless this is false (restore's safety snapshot). */
  applyRetention?: boolean;
  /** Further stores that get the same snapshot (--copy-to), each with the same retention. */
  copyTo?: Store[];
  /** These paths instead of the configured ones, each skipped when the container lacks it (restore's safety snapshot). */
  paths?: string[];
}

export interface BackupResult {
  manifest: Manifest;
  warnings: string[];
  retention?: RetentionResult;
  copies: CopyReport[];
  durationMs: number;
}

/**
 * One backup, as an ordered list of steps. Every step that changes something registers its undo right
 * there, and the undo list runs whatever happens: the container ends in the state it had, the lock is
 * released, staged copies are removed, and a snapshot without its manifest is deleted.
 */
export async function runBackup(ctx: RunContext, options: BackupOptions): Promise<BackupResult> {
  const { docker, store, log, config } = ctx;
  const started = new Date();
  const cleanup = new Cleanup(log);
  const warnings: string[] = [];
  let container = config.container;
  try {
    if (options.applyRetention !== false) checkPolicy(retentionPolicy(config));
    await store.checkWritable();
    container = containerName(await requireContainer(docker, config.container));
    let holder = options.heldLock;
    if (!holder) {
      const release = await acquireLock(store, container, `backup --trigger ${options.trigger}`);
      cleanup.defer("release the lock", release);
      holder = release.holder;
    }
    const lockHolder = holder;
    // Half-restored data is no backup: it would become "latest" and be restored next time. (Under the
    // lock: a restore still running holds it, so what is recorded here was interrupted.)
    const { restoring } = await readPending(store, container);
    if (restoring) throw new FailureError(`not backing up ${container}: ${interruptedRestoreMessage(restoring)}`);
    // Looked at again under the lock: its state now is the state to return it to.
    const info = await requireContainer(docker, container);
    // A pause or stop is recorded before it is made, so that if this process is killed outright the
    // next command, status or the watcher puts the container back (steps/put-back.ts).
    const hold = async <T>(action: HeldContainer["action"], change: () => Promise<T>): Promise<{ result: T; unhold: () => Promise<void> }> => {
      await updatePending(store, container, { held: { action, by: lockHolder, containerId: info.Id, at: new Date().toISOString() } });
      const unhold = () => updatePending(store, container, { held: undefined });
      try {
        return { result: await change(), unhold };
      } catch (err) {
        await unhold().catch(() => undefined);
        throw err;
      }
    };
    // Registered first so it runs last: whatever the steps did, put the container back as it was.
    const initial = runStateOf(info);
    const backToInitial = cleanup.defer("return the container to its state before the run", () =>
      ensureRunState(docker, info.Id, initial),
    );

    const planned = options.paths ? await planPaths(docker, info, options.paths, { missing: "skip" }) : await planPaths(docker, info, config.paths);
    // Default paths (Ollama's models, say) are often absent: that is normal, not news. A path the user named is.
    for (const p of planned.filter((p) => !p.present)) {
      (p.explicit ? log.info.bind(log) : log.debug.bind(log))({ path: p.path }, `${p.path} is not in the container; skipped`);
    }
    const env = envObject(info);
    const external = detectExternalData(env);
    if (external.length > 0) {
      const line = externalWarning(external);
      warnings.push(line);
      log.warn({ external }, line);
    }
    const image = await describeImage(docker, info);
    const consistency = await chooseConsistency(docker, info, config.mode);
    log.info(
      { id: info.Id.slice(0, 12), consistency, trigger: options.trigger },
      `backing up ${container} (${image.reference}${image.openWebuiVersion ? `, Open WebUI ${image.openWebuiVersion}` : ""}) into ${store.location}, consistency: ${consistency}`,
    );

    // Chunks already in the store are referenced, never sent again. Listed
    // before the container is touched (stop mode: less downtime); registered before the snapshot's own
    // cleanup so that, undoing in reverse, the container comes back first and the chunks go last.
    const chunkStore = new ChunkStore(store, container);
    const previous = await previousFiles(store, container, log);
    const packIndex = await chunkStore.packIndex(ctx.signal);
    for (const { key, why } of packIndex.unreadable) {
      // Safe to go on (the chunks it lists are packed again), but older snapshots may need it.
      const line = `pack index ${key} cannot be read (${why}); the chunks it lists are stored again. Run \`owui-backup verify\` to see which snapshots need it`;
      warnings.push(line);
      log.warn({ key }, line);
    }
    const chunks = new ChunkWriter(chunkStore, await chunkStore.listStored(), packIndex, {
      ...(config.compressionLevel !== undefined ? { level: config.compressionLevel } : {}),
      signal: ctx.signal,
      knownSizes: storedSizes(previous.byPath),
      onDamaged: (key, why) => log.warn({ key }, `chunk ${key} in the store is damaged (${why}); writing it again`),
    });
    // Until the manifest is written, a failure takes back the chunks this run added.
    const dropChunks = cleanup.defer("remove the chunks this run wrote", () => chunks.discard());
    const writer = await SnapshotWriter.begin(store, `backup ${container}`, started);
    const discard = cleanup.defer("remove the incomplete snapshot", () => writer.discard());
    await writer.putJson(snapshotObjects.container, info);
    await writer.putJson(snapshotObjects.env, env);

    let handling: SqliteHandling = { kind: "as-is" };
    let database: Manifest["database"];
    const present = planned.filter((p) => p.present);
    const releaseContainer: { now: () => Promise<void> }[] = [];
    if (consistency === "stop") {
      const { result: start, unhold } = await hold("stopped", () => stopContainer(docker, info.Id, config.stopTimeout, log));
      releaseContainer.push(
        cleanup.defer("start the container", async () => {
          await start();
          await unhold();
        }),
      );
    } else if (consistency === "pause") {
      handling = {
        kind: "paused-read",
        pause: async () => {
          const { result: unpause, unhold } = await hold("paused", () => pauseContainer(docker, info.Id, log));
          return async () => {
            await unpause();
            await unhold();
          };
        },
      };
    } else if (consistency === "online") {
      const unchangedIf = previousDatabaseSources(previous, (ref) => chunks.holds(ref));
      const staged = await stageSqliteCopies(docker, info.Id, present.map((p) => p.path), lockHolder, store.identity, unchangedIf);
      if (staged.deadLeftovers.length > 0) log.info(`removing ${staged.deadLeftovers.length} staged database copies left by runs that were killed`);
      releaseContainer.push(
        cleanup.defer("remove the staged database copies", () => removeStaging(docker, info.Id, [staged.staging, ...staged.deadLeftovers])),
      );
      for (const [path, copy] of staged.copies) {
        log.debug({ path, bytes: copy.size, ms: copy.ms }, copy.unchanged ? `${path} unchanged since the last snapshot: not copied` : `online copy of ${path}`);
      }
      // Open WebUI's own database: the one with an Alembic revision (webui.db first, should there be more).
      const openWebui = [...staged.copies].sort(([a], [b]) => Number(b.endsWith("/webui.db")) - Number(a.endsWith("/webui.db"))).find(([, c]) => c.alembic);
      if (openWebui) database = { path: openWebui[0], alembicRevision: openWebui[1].alembic, ...(openWebui[1].rows ? { rows: openWebui[1].rows } : {}) };
      // Not copied: what the last snapshot read from it still holds.
      else if (previous.database && staged.copies.get(previous.database.path)?.unchanged) database = previous.database;
      handling = { kind: "staged", copies: staged.copies };
    }

    const records: PathRecord[] = [];
    for (const p of planned) {
      if (!p.present) {
        records.push({ path: p.path, present: false, explicit: p.explicit, mounted: p.mounted });
        continue;
      }
      const progress = createProgress(p.archiveName);
      try {
        const record = await archivePath(
          {
            docker,
            containerId: info.Id,
            log,
            signal: ctx.signal,
            compressionLevel: config.compressionLevel,
            chunks,
            previous: previous.byPath.get(p.path) ?? new Map(),
            onBytes: progress.add,
          },
          writer,
          p,
          handling,
        ).catch((err: unknown) => {
          throw wrap(err, `backing up ${p.path}`);
        });
        records.push(record);
        log.debug({ path: p.path, entries: record.entries, bytes: record.bytes }, `archived ${p.path}`);
      } finally {
        progress.done();
      }
    }
    // The container goes back to work before the manifest is written and retention runs.
    for (const release of releaseContainer.reverse()) await release.now();
    await backToInitial.now();

    await chunks.finish();
    const finished = new Date();
    const chunkRecord = chunkStoreRecord(chunks);
    const manifest: Manifest = {
      format: MANIFEST_FORMAT,
      id: writer.id,
      tool: { name: "owui-backup", version: TOOL_VERSION },
      trigger: options.trigger,
      ...(options.reason ? { reason: options.reason } : {}),
      createdAt: started.toISOString(),
      startedAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      container: { name: container, id: info.Id, state: initial },
      image,
      ...(database ? { database } : {}),
      consistency,
      compression: "gzip",
      paths: records,
      objects: writer.objects,
      chunkStore: chunkRecord,
      external,
      sizeBytes: writer.objects.reduce((sum, o) => sum + o.size, 0) + chunkRecord.bytes,
      files: records.reduce((sum, r) => sum + (r.files ?? 0), 0),
    };
    await writer.commit(manifest);
    discard.disarm();
    dropChunks.disarm();
    log.info(
      { id: manifest.id, sizeBytes: manifest.sizeBytes, newBytes: newBytesOf(manifest), reusedChunks: chunks.stats.reusedChunks, files: manifest.files },
      `snapshot ${manifest.id} written`,
    );

    let retention: RetentionResult | undefined;
    if (options.applyRetention !== false) {
      // The snapshot is safe by now: a retention problem is worth a warning, not a failed backup.
      retention = await applyRetention(store, retentionPolicy(config), { container, log, keepChunks: chunks.referenced.keys() }).catch((err: unknown) => {
        const line = `retention was not applied: ${oneLine(err)}`;
        warnings.push(line);
        log.warn(line);
        return undefined;
      });
    }
    const copies = await copyToStores(
      ctx,
      options.copyTo ?? [],
      manifest,
      options.applyRetention !== false ? retentionPolicy(config) : undefined,
    );
    return { manifest, warnings, ...(retention ? { retention } : {}), copies, durationMs: Date.now() - started.getTime() };
  } catch (err) {
    await cleanup.run();
    throw err;
  } finally {
    await cleanup.run();
  }
}

/** Stored sizes of the chunks the last snapshot recorded, by chunk id. */
function storedSizes(previous: Map<string, Map<string, IndexedFile>>): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const files of previous.values()) for (const file of files.values()) for (const c of file.chunks) sizes.set(c.id, c.stored);
  return sizes;
}

async function describeImage(docker: Docker, info: ContainerInfo): Promise<Manifest["image"]> {
  const image = await docker
    .getImage(info.Image)
    .inspect()
    .catch(() => undefined);
  const version = await openWebuiVersion(docker, { labels: image?.Config?.Labels ?? null, env: info.Config.Env }, info.Id);
  return { reference: info.Config.Image, id: info.Image, ...(version ? { openWebuiVersion: version } : {}) };
}

/** Brings the container back to `state` (running, paused or stopped) if a step left it otherwise. */
export async function ensureRunState(docker: Docker, id: string, state: RunState): Promise<void> {
  const container = docker.getContainer(id);
  const now = runStateOf(await container.inspect());
  if (now === state) return;
  if (now === "paused") await container.unpause();
  const after = now === "paused" ? runStateOf(await container.inspect()) : now;
  if (state === "running" && after === "stopped") await container.start();
  if (state === "paused" && after !== "paused") {
    if (after === "stopped") await container.start();
    await container.pause();
  }
  if (state === "stopped" && after === "running") await container.stop();
}
