import type { Command } from "commander";
import { retentionPolicy, stateDirectory, type Config } from "../config.js";
import { FailureError } from "../errors.js";
import { checkPolicy } from "../steps/apply-retention.js";
import { assess, backUpChanges, baseline, observe } from "../watch/observe.js";
import { WatchStateFile } from "../watch/watch-state.js";
import { Watcher } from "../watch/watcher.js";
import { startStatusServer } from "../report/status/status-server.js";
import type { Store } from "../store/store.js";
import { collect, flagsOf, openContext, printJson, retentionFlags, type CommandIo } from "./common.js";

/** The container's watcher state, where watch, check and reset all look for it. */
const stateOf = (config: Config, store: Store) => new WatchStateFile(stateDirectory(config, store.localDirectory), config.container);

/** Exit code of `check` when it found changes that call for a backup. */
export const CHANGES_FOUND = 3;

const watchOptions = (command: Command) =>
  command
    .option("--growth <percent>", "data growth since the last backup that starts one (env OWUI_BACKUP_WATCH_GROWTH; default 20)")
    .option("--state-dir <dir>", "where the watcher's state lives (env OWUI_BACKUP_STATE_DIR; default <store>/state, or on this host for remote stores)");

export function registerWatch(program: Command, io: CommandIo): void {
  const command = program
    .command("watch")
    .description("keep watching the container; back up when its image, settings, environment or mounts change or it restarts")
    .option("--interval <duration>", "compare at least this often, e.g. 5m (env OWUI_BACKUP_WATCH_INTERVAL; default 5m)")
    .option("--debounce <duration>", "quiet time after the last engine event before comparing (env OWUI_BACKUP_WATCH_DEBOUNCE; default 10s)")
    .option("--min-gap <duration>", "at most one backup per this window (env OWUI_BACKUP_WATCH_MIN_GAP; default 10m)")
    .option("--copy-to <dir|url>", "also write each snapshot to this store (repeatable; env OWUI_BACKUP_COPY_TO, comma-separated)", collect)
    .option("--listen <host:port>", "serve the status page, /metrics and /healthz here, or off (env OWUI_BACKUP_LISTEN; default 127.0.0.1:9595)")
    .option("--healthy-within <duration>", "/healthz answers 200 while the last scheduled backup is younger than this (env OWUI_BACKUP_HEALTHY_WITHIN; default 26h)");
  retentionFlags(watchOptions(command)).action(async (_options: unknown, cmd: Command) => {
    // --copy-to / OWUI_BACKUP_COPY_TO: the watcher's snapshots go to the copies too.
    const ctx = await openContext(flagsOf(cmd), io, { logToFile: true, logPrefix: "watcher", copies: true });
    const { config, store } = ctx;
    // Found now, not at the first backup hours later.
    checkPolicy(retentionPolicy(config));
    const state = stateOf(config, store);
    ctx.log.info(
      `watching ${config.container} (engine events, and every ${config.interval / 1000}s); backups into ${store.location}; state in ${state.location}`,
    );
    const server =
      config.listen === "off"
        ? undefined
        : await startStatusServer({
            listen: config.listen,
            store,
            container: config.container,
            healthyWithinMs: config.healthyWithin,
            schedule: process.env.OWUI_BACKUP_SCHEDULE || undefined,
            ...(process.env.OWUI_BACKUP_SCHEDULE_AT && process.env.OWUI_BACKUP_SCHEDULE_TZ
              ? { daily: { at: process.env.OWUI_BACKUP_SCHEDULE_AT, timeZone: process.env.OWUI_BACKUP_SCHEDULE_TZ } }
              : {}),
            log: ctx.log,
          });
    try {
      await new Watcher(ctx, {
        state,
        intervalMs: config.interval,
        debounceMs: config.debounce,
        minGapMs: config.minGap,
        growthPercent: config.growth,
      }).run();
    } finally {
      await server?.close();
    }
    ctx.log.info("watcher stopped");
  });
}

export function registerCheck(program: Command, io: CommandIo): void {
  const command = program
    .command("check")
    .description(`compare the container with the watcher's saved state once; exit ${CHANGES_FOUND} when something changed that calls for a backup`)
    .option("--backup", "back up when it finds such changes (trigger watch)")
    .option("--json", "print one JSON object");
  retentionFlags(watchOptions(command)).action(async (_options: unknown, cmd: Command) => {
    const flags = flagsOf(cmd);
    // With --backup it is a backup like the watcher's own: reported (run state, notifications, metrics).
    const ctx = await openContext(flags, io, { logToFile: true, logPrefix: "watcher", quiet: Boolean(flags.json), copies: true, ...(flags.backup ? { report: "backup", trigger: "watch" } : {}) });
    const { config, store } = ctx;
    if (flags.backup) checkPolicy(retentionPolicy(config));
    const saved = stateOf(config, store);
    const now = await observe(ctx.docker, config.container, config.paths);
    if (!now) throw new FailureError(`container ${config.container} not found; check --container / OWUI_BACKUP_CONTAINER`);
    const state = await saved.read();
    if (!state) {
      await saved.write(baseline(config.container, now.fingerprint));
      if (flags.json) printJson(io, { container: config.container, baseline: true, changes: [], backupNeeded: false, snapshot: null });
      else io.stdout.write(`no saved state for ${config.container}: recorded its current state as the baseline\n`);
      return;
    }
    const assessment = assess(state, now.fingerprint, config.growth);
    let snapshot: string | null = null;
    if (assessment.reason && flags.backup) {
      const result = await backUpChanges(ctx, state, now.fingerprint, { ...assessment, reason: assessment.reason });
      await saved.write(result.state);
      snapshot = result.manifest.id;
      if (io.reporting) io.reporting.facts.snapshot = snapshot;
    }
    if (flags.json) {
      printJson(io, { container: config.container, baseline: false, since: state.savedAt, changes: assessment.changes, backupNeeded: Boolean(assessment.reason), snapshot });
    } else {
      if (assessment.changes.length === 0) io.stdout.write(`no changes in ${config.container} since ${state.savedAt}\n`);
      for (const c of assessment.changes) io.stdout.write(`${c.kind}: ${c.detail}${c.critical ? "" : " (no backup needed)"}\n`);
      if (snapshot) io.stdout.write(`${snapshot}\n`);
    }
    // 3 means "a backup is needed": not so once --backup has taken it.
    if (assessment.reason && !snapshot) io.exitCode = CHANGES_FOUND;
  });
}

export function registerReset(program: Command, io: CommandIo): void {
  program
    .command("reset")
    .description("forget the watcher's saved state; the next look records a new baseline")
    .option("--state-dir <dir>", "where the watcher's state lives (env OWUI_BACKUP_STATE_DIR)")
    .action(async (_options: unknown, cmd: Command) => {
      const ctx = await openContext(flagsOf(cmd), io, { logToFile: false });
      const state = stateOf(ctx.config, ctx.store);
      io.stdout.write((await state.clear()) ? `cleared the saved state of ${ctx.config.container} (${state.location})\n` : `no saved state for ${ctx.config.container}\n`);
    });
}
