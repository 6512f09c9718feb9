import { LockedError, oneLine } from "../errors.js";
import type { RunContext } from "../run/context.js";
import { followContainerEvents } from "./docker-events.js";
import { assess, backUpChanges, baseline, observe } from "./observe.js";
import { readWatchState, writeWatchState } from "./watch-state.js";

export interface WatcherOptions {
  stateFile: string;
  /** A full comparison at least this often, whatever the event stream says. */
  intervalMs: number;
  /** Quiet time after the last event before looking: a storm of events is one look. */
  debounceMs: number;
  /** At most one backup per this window; changes seen sooner wait for its end. */
  minGapMs: number;
  growthPercent: number;
}


/**
 * The long-running watcher: looks at the container when an engine event says something happened (after
 * the debounce), every interval, and after each (re)connect to the engine; backs up when a look finds a
 * critical change, one backup at a time and at most one per window. Stops when the signal aborts, after
 * the backup in progress (if any) has cleaned up.
 */
export class Watcher {
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<void> | undefined;
  private again = false;
  private missingReported = false;

  constructor(
    private readonly ctx: RunContext,
    private readonly options: WatcherOptions,
  ) {}

  async run(): Promise<void> {
    const { ctx, options } = this;
    const events = followContainerEvents(
      ctx.docker,
      ctx.config.container,
      {
        onEvent: (e) => {
          ctx.log.debug({ action: e.action }, `event ${e.action}`);
          this.schedule(options.debounceMs);
        },
        // At start and after a reconnect: whatever happened while we were not listening.
        onConnected: () => this.schedule(0),
      },
      ctx.signal,
      ctx.log,
    );
    const poll = setInterval(() => this.schedule(0), options.intervalMs);
    try {
      await untilAborted(ctx.signal);
    } finally {
      clearInterval(poll);
      clearTimeout(this.timer);
      await events;
      await this.current;
    }
  }

  /** A look in delayMs. Events push a pending look back (trailing debounce); an immediate one leaves a pending look be. */
  private schedule(delayMs: number): void {
    if (this.ctx.signal.aborted) return;
    if (this.timer && delayMs === 0) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.current) {
        this.again = true;
        return;
      }
      this.current = this.look().finally(() => {
        this.current = undefined;
        if (this.again && !this.ctx.signal.aborted) {
          this.again = false;
          this.schedule(this.options.debounceMs);
        }
      });
    }, Math.min(delayMs, 2 ** 31 - 1));
  }

  private async look(): Promise<void> {
    const { ctx, options } = this;
    const container = ctx.config.container;
    try {
      const now = await observe(ctx.docker, container, ctx.config.paths);
      if (!now) {
        if (!this.missingReported) ctx.log.warn(`container ${container} does not exist; waiting for it to be created`);
        this.missingReported = true;
        return;
      }
      this.missingReported = false;
      const state = readWatchState(options.stateFile);
      if (!state) {
        writeWatchState(options.stateFile, baseline(container, now.fingerprint));
        ctx.log.info(`recorded the state of ${container} as the baseline`);
        return;
      }
      const assessment = assess(state, now.fingerprint, options.growthPercent);
      for (const change of assessment.changes) ctx.log[change.critical ? "info" : "debug"]({ change: change.kind, critical: change.critical }, change.detail);
      if (!assessment.reason) {
        // Nothing worth a backup: remember what was seen so the same information is not logged again.
        if (assessment.changes.length > 0) writeWatchState(options.stateFile, { ...state, savedAt: new Date().toISOString(), fingerprint: now.fingerprint });
        return;
      }
      const wait = (state.lastBackup ? Date.parse(state.lastBackup.at) : 0) + options.minGapMs - Date.now();
      if (wait > 0) {
        ctx.log.info(`${assessment.reason} changed; the next backup may start in ${Math.ceil(wait / 1000)}s (one per ${options.minGapMs / 1000}s)`);
        this.schedule(wait);
        return;
      }
      ctx.log.info({ reason: assessment.reason }, `backing up ${container}: ${assessment.reason} changed`);
      const result = await backUpChanges(ctx, state, { ...assessment, reason: assessment.reason });
      writeWatchState(options.stateFile, result.state);
      ctx.log.info({ id: result.manifest.id, reason: assessment.reason }, `snapshot ${result.manifest.id} (${assessment.reason})`);
    } catch (err) {
      if (ctx.signal.aborted) return;
      if (err instanceof LockedError) {
        // Another run (the nightly schedule, a restore) holds the lock: look again soon, it may be over.
        const retryMs = Math.min(30_000, Math.max(options.debounceMs, 5_000));
        ctx.log.info(`${oneLine(err)}; trying again in ${retryMs / 1000}s`);
        this.schedule(retryMs);
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
