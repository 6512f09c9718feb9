import type Docker from "dockerode";
import { envObject } from "../docker/create-options.js";
import { containerName, requireContainer, runStateOf, type ContainerInfo, type RunState } from "../docker/container.js";
import { openWebuiVersion } from "../docker/open-webui-version.js";
import { oneLine, wrap } from "../errors.js";
import { createProgress } from "../progress.js";
import { ChunkStore } from "../chunks/chunk-store.js";
import { ChunkWriter, chunkStoreRecord } from "../chunks/chunk-writer.js";
import { previousFiles } from "../chunks/previous-files.js";
import { MANIFEST_FORMAT, newBytesOf, type Manifest, type PathRecord, type Trigger } from "../snapshot/manifest.js";
import { SnapshotWriter } from "../snapshot/writer.js";
import { snapshotObjects } from "../store/layout.js";
import { applyRetention, checkPolicy, type RetentionResult } from "../steps/apply-retention.js";
import { copyToStores, type CopyReport } from "../steps/copy-to-stores.js";
import type { Store } from "../store/store.js";
import { archivePath, type SqliteHandling } from "../steps/archive-path.js";
import { detectExternalData, externalWarning } from "../steps/detect-external.js";
import { acquireLock } from "../state/lock.js";
import { planPaths } from "../steps/plan-paths.js";
import { chooseConsistency, pauseContainer, stopContainer } from "../steps/quiesce.js";
import { recordRun } from "../state/run-state.js";
import { removeStaging, stageSqliteCopies } from "../steps/sqlite-online.js";
import { retentionPolicy } from "../config.js";
import { TOOL_VERSION } from "../version.js";
import { Cleanup } from "./cleanup.js";
import type { RunContext } from "./context.js";

export interface BackupOptions {
  trigger: Trigger;
  reason?: string;
  /** Set when the caller (restore) already holds the lock. */
  lockHeld?: boolean;
  /** Retention runs after a successful backup unless this is false (restore's safety snapshot). */
  applyRetention?: boolean;
  /** Further stores that get the same snapshot (--copy-to), each with the same retention. */
  copyTo?: Store[];
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
    if (!options.lockHeld) {
      const release = await acquireLock(store, container, `backup --trigger ${options.trigger}`);
      cleanup.defer("release the lock", release);
    }
    // Looked at again under the lock: its state now is the state to return it to.
    const info = await requireContainer(docker, container);
    // Registered first so it runs last: whatever the steps did, put the container back as it was.
    const initial = runStateOf(info);
    const backToInitial = cleanup.defer("return the container to its state before the run", () =>
      ensureRunState(docker, info.Id, initial),
    );

    const planned = await planPaths(docker, info, config.paths);
    for (const p of planned.filter((p) => !p.present)) log.info({ path: p.path }, `${p.path} is not in the container; skipped`);
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
    const chunks = new ChunkWriter(chunkStore, await chunkStore.listStored(), {
      level: config.compressionLevel,
      signal: ctx.signal,
    });
    const previous = await previousFiles(store, container, log);
    // Until the manifest is written, a failure takes back the chunks this run added.
    const dropChunks = cleanup.defer("remove the chunks this run wrote", () => chunks.discard());
    const writer = await SnapshotWriter.begin(store, `backup ${container}`, started);
    const discard = cleanup.defer("remove the incomplete snapshot", () => writer.discard());
    await writer.putJson(snapshotObjects.container, info);
    await writer.putJson(snapshotObjects.env, env);

    let handling: SqliteHandling = { kind: "as-is" };
    const present = planned.filter((p) => p.present);
    const releaseContainer: { now: () => Promise<void> }[] = [];
    if (consistency === "stop") {
      const start = await stopContainer(docker, info.Id, config.stopTimeout, log);
      releaseContainer.push(cleanup.defer("start the container", start));
    } else if (consistency === "pause") {
      handling = { kind: "paused-read", pause: () => pauseContainer(docker, info.Id, log) };
    } else if (consistency === "online") {
      const staged = await stageSqliteCopies(docker, info.Id, present.map((p) => p.path));
      releaseContainer.push(
        cleanup.defer("remove the staged database copies", () => removeStaging(docker, info.Id, staged.staging)),
      );
      for (const [path, copy] of staged.copies) log.debug({ path, bytes: copy.size, ms: copy.ms }, `online copy of ${path}`);
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
            previous: previous.get(p.path) ?? new Map(),
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
    await recordRun(store, container, { lastSuccess: { id: manifest.id, at: finished.toISOString(), trigger: options.trigger } }).catch(
      (err) => log.warn(`could not record the run state: ${oneLine(err)}`),
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
    await recordRun(store, container, {
      lastFailure: { at: new Date().toISOString(), trigger: options.trigger, error: oneLine(err) },
    }).catch(() => undefined);
    throw err;
  } finally {
    await cleanup.run();
  }
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
