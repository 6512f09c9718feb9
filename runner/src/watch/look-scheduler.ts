/**
 * When the watcher looks: one look at a time, a look asked for during one runs after it, events push a
 * pending look back by the debounce (a storm is one look) but never past maxWait after the first of them
 * (a container that never stops emitting is still looked at), and an immediate request (interval,
 * reconnect) leaves a pending look be.
 */
export class LookScheduler {
  private timer: NodeJS.Timeout | undefined;
  private due = 0;
  private pendingSince: number | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(
    private readonly look: () => Promise<void>,
    private readonly debounceMs: number,
    private readonly maxWaitMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** After an event: in debounceMs, pushed back by later events up to maxWaitMs after the first. */
  afterEvent(): void {
    const now = this.now();
    this.pendingSince ??= now;
    this.at(Math.min(now + this.debounceMs, this.pendingSince + this.maxWaitMs));
  }

  /** Now, unless a look is already pending. */
  soon(): void {
    if (!this.timer) this.at(this.now());
  }

  /** At a given time (a window's end, a retry), unless a look is pending sooner. */
  later(delayMs: number): void {
    const due = this.now() + delayMs;
    if (!this.timer || due < this.due) this.at(due);
  }

  /** No further looks; resolves when the one running (if any) is over. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private at(due: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.due = due;
    // setTimeout takes at most 2^31-1 ms; a later look is re-armed when that one fires.
    this.timer = setTimeout(() => this.fire(), Math.min(Math.max(due - this.now(), 0), 2 ** 31 - 1));
  }

  private fire(): void {
    this.timer = undefined;
    this.pendingSince = undefined;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.look().finally(() => {
      this.running = undefined;
      if (this.again && !this.stopped) {
        this.again = false;
        this.afterEvent();
      }
    });
  }
}
