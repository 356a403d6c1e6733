/**
 * A worker's schedule: `task` runs `firstDelayMs` after start() and then `intervalMs` after each
 * run ends. runOnce() asked while a run is going joins that run rather than starting a second one.
 * stop() ends the schedule and waits for the run in progress, which can check `stopping` to end
 * early at a safe point.
 */
export class PeriodicTask<T> {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<T> | null = null;
  private stopped = false;

  constructor(
    private readonly task: () => Promise<T>,
    private readonly intervalMs: number,
    private readonly onError: (error: unknown) => void,
  ) {}

  get stopping(): boolean {
    return this.stopped;
  }

  start(firstDelayMs = 0): void {
    this.stopped = false;
    const tick = (delayMs: number): void => {
      this.timer = setTimeout(() => {
        void this.runOnce()
          .catch(this.onError)
          .finally(() => {
            if (!this.stopped) tick(this.intervalMs);
          });
      }, delayMs);
    };
    tick(firstDelayMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }

  runOnce(): Promise<T> {
    this.running ??= this.task().finally(() => {
      this.running = null;
    });
    return this.running;
  }
}
