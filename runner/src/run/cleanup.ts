import type { Logger } from "pino";
import { oneLine } from "../errors.js";

/**
 * Undo actions registered where the change to the world happens (offen's habit): "container stopped"
 * registers "start it", "lock taken" registers "release it". They run in reverse order, every one of
 * them even when another fails, and their failures are logged, never dropped.
 */
export class Cleanup {
  /** Every cleanup with armed actions, so an emergency exit can still run them (see main.ts). */
  private static readonly active = new Set<Cleanup>();
  private readonly actions: { what: string; fn: () => Promise<unknown>; armed: boolean }[] = [];

  constructor(private readonly log: Logger) {}

  /** Runs the armed actions of every cleanup in this process; for exits that cannot wait for the run. */
  static async runAllActive(): Promise<void> {
    for (const cleanup of [...Cleanup.active].reverse()) await cleanup.run();
  }

  /** Registers an undo action; the returned function runs it now (once) and removes it. */
  defer(what: string, fn: () => Promise<unknown>): { now: () => Promise<void>; disarm: () => void } {
    const action = { what, fn, armed: true };
    this.actions.push(action);
    Cleanup.active.add(this);
    return {
      now: async () => {
        if (!action.armed) return;
        action.armed = false;
        await fn();
      },
      disarm: () => {
        action.armed = false;
      },
    };
  }

  /**
   * Runs every armed action, newest first; returns the errors (already logged). A call while a run is
   * under way waits for that run, so an emergency exit never cuts an undo action short.
   */
  run(): Promise<Error[]> {
    this.running ??= this.runArmed().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private running: Promise<Error[]> | undefined;

  private async runArmed(): Promise<Error[]> {
    const errors: Error[] = [];
    for (const action of [...this.actions].reverse()) {
      if (!action.armed) continue;
      action.armed = false;
      try {
        await action.fn();
      } catch (err) {
        this.log.error({ step: action.what }, `cleanup failed: ${action.what}: ${oneLine(err)}`);
        errors.push(err as Error);
      }
    }
    if (this.actions.every((a) => !a.armed)) Cleanup.active.delete(this);
    return errors;
  }
}
