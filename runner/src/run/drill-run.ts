import { randomBytes } from "node:crypto";
import type Docker from "dockerode";
import type { ContainerInfo } from "../docker/container.js";
import { waitUntilRunning } from "../docker/container.js";
import { HELPER_LABEL } from "../docker/helper-container.js";
import { imageMigrations } from "../docker/image-migrations.js";
import { oneLine, VerifyError } from "../errors.js";
import { createProgress } from "../progress.js";
import { resolveSnapshot } from "../snapshot/catalog.js";
import type { Manifest } from "../snapshot/manifest.js";
import { recordDrill } from "../state/drills.js";
import { acquireLock } from "../state/lock.js";
import { runDrillChecks, type DrillChecks } from "../steps/drill-checks.js";
import { resolveImage } from "../steps/recreate-container.js";
import { restorePath } from "../steps/restore-path.js";
import { snapshotChunkStore } from "../chunks/chunk-reader.js";
import { verifySnapshot } from "../steps/verify-snapshot.js";
import { layout, snapshotObjects } from "../store/layout.js";
import { readJsonObject } from "../store/store.js";
import { Cleanup } from "./cleanup.js";
import type { RunContext } from "./context.js";

export const DRILL_LABEL = "owui-backup.drill";

export interface DrillOptions {
  ref: string;
  /** Another image than the snapshot's (e.g. the next version, to rehearse an upgrade). */
  image?: string;
  memoryBytes: number;
  cpus: number;
}

export interface DrillResult {
  snapshot: Manifest;
  image: string;
  checks: DrillChecks;
  /** Environment variables left out because they point at services outside (names only). */
  droppedEnv: string[];
  durationMs: number;
}

/** Variables that reach other services: a drill runs with no network and must not talk to them anyway. */
const EXTERNAL = /(_URL|_URLS|_URI|_HOST|_HOSTS|_ENDPOINT|_ENDPOINTS)$/;

export function drillEnvironment(env: string[]): { kept: string[]; dropped: string[] } {
  const kept: string[] = [];
  const dropped: string[] = [];
  for (const entry of env) {
    const name = entry.split("=", 1)[0] ?? "";
    if (EXTERNAL.test(name) && !/^(HOST|WEBUI_URL)$/.test(name)) dropped.push(name);
    else kept.push(entry);
  }
  return { kept, dropped };
}

/**
 * A restore rehearsal that touches nothing live: the snapshot, verified first, is restored into a
 * throwaway container of its image (or `image`) with fresh volumes, no network, no published ports and
 * memory and CPU limits; once it is healthy, checks run inside it (steps/drill-checks.ts). The container
 * and its volumes are removed whatever happens; the result is recorded in the store.
 */
export async function runDrill(ctx: RunContext, options: DrillOptions): Promise<DrillResult> {
  const { docker, store, log, config } = ctx;
  const started = Date.now();
  const chosen = await resolveSnapshot(store, options.ref, config.container);
  const name = chosen.container.name;
  const cleanup = new Cleanup(log);
  const tag = randomBytes(4).toString("hex");
  try {
    // Under the lock while it is read, so that no retention deletes what the drill is reading.
    const release = cleanup.defer("release the lock", await acquireLock(store, name, `drill ${chosen.id}`));
    const manifest = await resolveSnapshot(store, chosen.id, name);
    log.info(`verifying snapshot ${manifest.id} before the drill`);
    const progress = createProgress("verify");
    const report = await verifySnapshot(store, manifest, { signal: ctx.signal, onBytes: progress.add }).finally(() => progress.done());
    if (!report.ok) throw new VerifyError(`snapshot ${manifest.id} failed verification (${report.problems[0]}); no drill was run`);

    const saved = (await readJsonObject(store, layout.object(manifest.id, snapshotObjects.container))) as ContainerInfo;
    const image = options.image ?? (await resolveImage(docker, saved, log));
    const records = manifest.paths.filter((p) => p.present && p.archive);
    const volumes: Docker.MountSettings[] = [];
    for (const [i, record] of records.entries()) {
      if (record.type !== "directory" || !record.mounted) continue;
      const volume = `owui-backup-drill-${tag}-${i}`;
      await docker.createVolume({ Name: volume, Labels: { [DRILL_LABEL]: manifest.id, [HELPER_LABEL]: "true" } });
      cleanup.defer(`remove the drill volume ${volume}`, () => docker.getVolume(volume).remove({ force: true }));
      volumes.push({ Type: "volume", Source: volume, Target: record.path });
    }
    const env = drillEnvironment(saved.Config.Env ?? []);
    if (env.dropped.length > 0) log.info(`left out of the drill's environment (external services): ${env.dropped.join(", ")}`);
    const drillName = `owui-backup-drill-${tag}`;
    const created = await docker.createContainer({
      name: drillName,
      Image: image,
      Env: env.kept,
      ...(saved.Config.Cmd ? { Cmd: saved.Config.Cmd } : {}),
      ...(saved.Config.Entrypoint ? { Entrypoint: saved.Config.Entrypoint as string[] } : {}),
      ...(saved.Config.WorkingDir ? { WorkingDir: saved.Config.WorkingDir } : {}),
      ...(saved.Config.User ? { User: saved.Config.User } : {}),
      ...((saved.Config as { Healthcheck?: Docker.HealthConfig }).Healthcheck ? { Healthcheck: (saved.Config as { Healthcheck?: Docker.HealthConfig }).Healthcheck } : {}),
      Labels: { [DRILL_LABEL]: manifest.id },
      NetworkDisabled: true,
      HostConfig: { NetworkMode: "none", Memory: options.memoryBytes, NanoCpus: Math.round(options.cpus * 1e9), Mounts: volumes, AutoRemove: false },
    });
    // Registered after the volumes, so it runs first: a volume in use cannot be removed.
    cleanup.defer(`remove the drill container ${drillName}`, () => created.remove({ force: true, v: true }));
    log.info(`restoring ${manifest.id} into the drill container ${drillName} (${image}, no network)`);
    // One chunk store for every path: the pack index is read once.
    const chunks = snapshotChunkStore(store, manifest);
    for (const record of records) {
      const bar = createProgress(record.path);
      try {
        await restorePath({ docker, store, signal: ctx.signal, onBytes: bar.add, ...(chunks ? { chunks } : {}) }, manifest, record, created.id);
      } finally {
        bar.done();
      }
    }
    await release.now();

    let checks: DrillChecks;
    try {
      await created.start();
      await waitUntilRunning(docker, created.id, config.readyTimeout, ctx.signal);
      const migrations = await imageMigrations(docker, image, { id: created.id, image, running: true });
      checks = await runDrillChecks(docker, created.id, manifest, dataDirectory(manifest), migrations);
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      // Not starting, or not becoming healthy, is the drill's finding, not an error of the run.
      const logs = await created.logs({ stdout: true, stderr: true, tail: 3 }).then((b) => (b as unknown as Buffer).toString("utf8").replace(/[\x00-\x08]/g, "").trim().split("\n").pop() ?? "").catch(() => "");
      checks = { ok: false, results: [{ check: "starts", ok: false, detail: `${oneLine(err)}${logs ? ` (last log line: ${logs})` : ""}` }] };
    }
    const result: DrillResult = { snapshot: manifest, image, checks, droppedEnv: env.dropped, durationMs: Date.now() - started };
    await recordDrill(store, name, {
      id: manifest.id,
      at: new Date().toISOString(),
      ok: checks.ok,
      image,
      failed: checks.results.filter((r) => !r.ok).map((r) => `${r.check}: ${r.detail}`),
      durationMs: result.durationMs,
    }).catch((err) => log.warn(`could not record the drill's result: ${oneLine(err)}`));
    return result;
  } finally {
    await cleanup.run();
  }
}

/** Open WebUI's data directory in the snapshot: where its database was, else the default. */
function dataDirectory(manifest: Manifest): string {
  const db = manifest.database?.path;
  return db ? db.slice(0, db.lastIndexOf("/")) : "/app/backend/data";
}
