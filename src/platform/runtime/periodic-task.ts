import { messageOf } from '../errors/message-of';

/** How long a scheduled run's failure that repeats word for word is handed on only once, by default. */
export const REPEAT_WINDOW_MS = 60_000;

/** What a failure handed on stands for: the runs since the last one handed on that failed the same way. */
export interface FailureRepeats {
  readonly unreported: number;
}

/**
 * A worker's schedule: `task` runs `firstDelayMs` after start() and then `intervalMs` after each
 * run ends. runOnce() asked while a run is going joins that run rather than starting a second one.
 * stop() ends the schedule and waits for the run in progress, which can check `stopping` to end
 * early at a safe point.
 *
 * A scheduled run's failure goes to `onError`, except one with the same message as the failure
 * handed on last, less than `repeatWindowMs` ago, with no run gone through since: a payout
 * executor that runs every second against a node that is down, or with a seed it cannot read,
 * would otherwise log the same line every second. Such runs are counted and the count goes with
 * the next failure handed on. `runFailed`, by contrast, hears of every scheduled run that failed,
 * handed on or not, so a metric counts each one (ledger_worker_run_failures_total). runOnce()'s
 * callers get every failure themselves: neither callback hears of those.
 */
export class PeriodicTask<T> {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<T> | null = null;
  private stopped = false;
  private lastFailure: { message: string; handedAt: number; unreported: number } | null = null;
  private readonly repeatWindowMs: number;
  private readonly runFailed: () => void;

  constructor(
    private readonly task: () => Promise<T>,
    private readonly intervalMs: number,
    private readonly onError: (error: unknown, repeats: FailureRepeats) => void,
    options: { readonly repeatWindowMs?: number; readonly runFailed?: () => void } = {},
  ) {
    this.repeatWindowMs = options.repeatWindowMs ?? REPEAT_WINDOW_MS;
    this.runFailed = options.runFailed ?? (() => undefined);
  }

  get stopping(): boolean {
    return this.stopped;
  }

  start(firstDelayMs = 0): void {
    this.stopped = false;
    const tick = (delayMs: number): void => {
      this.timer = setTimeout(() => {
        void this.runOnce()
          .then(
            () => {
              this.lastFailure = null;
            },
            (error: unknown) => this.failed(error),
          )
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

  private failed(error: unknown): void {
    this.runFailed();
    const message = messageOf(error);
    const now = Date.now();
    const last = this.lastFailure;
    if (last !== null && last.message === message && now - last.handedAt < this.repeatWindowMs) {
      last.unreported += 1;
      return;
    }
    const unreported = last !== null && last.message === message ? last.unreported : 0;
    this.lastFailure = { message, handedAt: now, unreported: 0 };
    this.onError(error, { unreported });
  }

  runOnce(): Promise<T> {
    this.running ??= this.task().finally(() => {
      this.running = null;
    });
    return this.running;
  }
}

/** Log fields for a failure handed on: the runs before it that failed the same way unlogged, if any. */
export function repeatedFields(repeats: FailureRepeats): { readonly sameFailuresUnlogged?: number } {
  return repeats.unreported > 0 ? { sameFailuresUnlogged: repeats.unreported } : {};
}
