import { LockedError, oneLine } from "../errors.js";
import type { RunContext } from "../run/context.js";
import type { Store } from "../store/store.js";
import { followContainerEvents } from "./docker-events.js";
import { LookScheduler } from "./look-scheduler.js";
import { RunReporting } from "../report/run-reporting.js";
import { acceptSeen, assess, backUpChanges, baseline, observe, restartWasABackup } from "./observe.js";
import type { WatchStateFile } from "./watch-state.js";
import { putBackBeforeCommand } from "../steps/put-back.js";

/** While a live run holds the container paused or stopped, how often the watcher checks it is still alive. */
const HELD_RECHECK_MS = 3000;

export interface WatcherOptions {
  state: WatchStateFile;
  /** A full comparison at least this often, whatever the event stream says. */
  intervalMs: number;
  /** Quiet time after the last event before looking: a storm of events is one look. */
  debounceMs: number;
  /** At most one backup per this window; changes seen sooner wait for its end. */
  minGapMs: number;
  growthPercent: number;
}

/**
 * The long-running watcher: looks at the container when engine events say something happened (see
 * LookScheduler), every interval, and after each (re)connect to the engine; backs up when a look finds a
 * critical change, at most one per window. Stops when the signal aborts, after the backup in progress
 * (if any) has cleaned up.
 */
export class Watcher {
  private readonly scheduler: LookScheduler;
  private missingReported = false;

  constructor(
    private readonly ctx: RunContext & { copies?: Store[] },
    private readonly options: WatcherOptions,
  ) {
    // A container that never stops emitting events is still looked at, after six quiet periods' worth.
    this.scheduler = new LookScheduler(() => this.look(), options.debounceMs, Math.max(options.debounceMs * 6, 5_000));
  }

  async run(): Promise<void> {
    const { ctx, options, scheduler } = this;
    const events = followContainerEvents(
      ctx.docker,
      ctx.config.container,
      {
        onEvent: (e) => {
          ctx.log.debug({ action: e.action }, `event ${e.action}`);
          // A pause is no change to compare (backups make them), but the run that made it may die.
          if (e.action === "pause" || e.action === "die") void this.checkHeld();
          if (e.action !== "pause") scheduler.afterEvent();
        },
        // At start and after a reconnect: whatever happened while we were not listening.
        onConnected: () => scheduler.soon(),
      },
      ctx.signal,
      ctx.log,
    );
    const poll = setInterval(() => scheduler.soon(), options.intervalMs);
    try {
      await untilAborted(ctx.signal);
    } finally {
      clearInterval(poll);
      clearTimeout(this.heldTimer);
      await this.heldChecks;
      await events;
      await scheduler.stop();
    }
  }

  /**
   * Puts the container back when a run that paused or stopped it was killed before undoing it; while a
   * live run holds it, looks again every few seconds, so a run killed outright is healed within them.
   * One check at a time.
   */
  private checkHeld(): Promise<void> {
    const check = async () => {
      clearTimeout(this.heldTimer);
      if (this.ctx.signal.aborted) return;
      const result = await putBackBeforeCommand(this.ctx, this.ctx.config.container);
      if (result?.heldByLiveRun && !this.ctx.signal.aborted) this.heldTimer = setTimeout(() => void this.checkHeld(), HELD_RECHECK_MS);
    };
    this.heldChecks = this.heldChecks.then(check, check);
    return this.heldChecks;
  }

  private heldChecks: Promise<void> = Promise.resolve();
  private heldTimer: NodeJS.Timeout | undefined;

  private async look(): Promise<void> {
    const { ctx, options, scheduler } = this;
    const container = ctx.config.container;
    await this.checkHeld();
    try {
      const now = await observe(ctx.docker, container, ctx.config.paths);
      if (!now) {
        if (!this.missingReported) ctx.log.warn(`container ${container} does not exist; waiting for it to be created`);
        this.missingReported = true;
        return;
      }
      this.missingReported = false;
      const state = await options.state.read();
      if (!state) {
        await options.state.write(baseline(container, now.fingerprint));
        ctx.log.info(`recorded the state of ${container} as the baseline`);
        return;
      }
      const assessment = assess(state, now.fingerprint, options.growthPercent);
      for (const change of assessment.changes) ctx.log[change.critical ? "info" : "debug"]({ change: change.kind, critical: change.critical }, change.detail);
      if (!assessment.reason || (await restartWasABackup(ctx.store, container, assessment, now.fingerprint))) {
        // Nothing worth a backup: remember what was seen so the same thing is not reported again.
        if (assessment.changes.length > 0) await options.state.write(acceptSeen(state, now.fingerprint));
        return;
      }
      const wait = (state.lastBackup ? Date.parse(state.lastBackup.at) : 0) + options.minGapMs - Date.now();
      if (wait > 0) {
        ctx.log.info(`${assessment.reason} changed; the next backup may start in ${Math.ceil(wait / 1000)}s (one per ${options.minGapMs / 1000}s)`);
        scheduler.later(wait);
        return;
      }
      // Stopped while looking (du can take a while): no backup may start now.
      if (ctx.signal.aborted) return;
      ctx.log.info({ reason: assessment.reason }, `backing up ${container}: ${assessment.reason} changed`);
      // Reported like any backup: notifications, health-check pings, the metrics file.
      const reporting = new RunReporting({ command: "backup", trigger: "watch", container, store: ctx.store.location }, ctx.config, ctx.store, ctx.log);
      await reporting.started();
      try {
        const result = await backUpChanges(ctx, state, now.fingerprint, { ...assessment, reason: assessment.reason });
        reporting.facts.snapshot = result.manifest.id;
        await options.state.write(result.state);
        ctx.log.info({ id: result.manifest.id, reason: assessment.reason }, `snapshot ${result.manifest.id} (${assessment.reason})`);
        await reporting.finished("ok", undefined, 0);
      } catch (err) {
        // Waiting for another run's lock is not a failed backup: it is tried again below.
        if (!(err instanceof LockedError)) await reporting.finished(ctx.signal.aborted ? "interrupted" : "failed", err, 1);
        throw err;
      }
    } catch (err) {
      if (ctx.signal.aborted) return;
      if (err instanceof LockedError) {
        // Another run (the nightly schedule, a restore) holds the lock: look again soon, it may be over.
        const retryMs = Math.min(30_000, Math.max(options.debounceMs, 5_000));
        ctx.log.info(`${oneLine(err)}; trying again in ${retryMs / 1000}s`);
        scheduler.later(retryMs);
        return;
      }
      // The changes stay unaccepted: the next look (event or interval) tries again.
      ctx.log.error(`watch: ${oneLine(err)}`);
    }
  }
}

function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}
