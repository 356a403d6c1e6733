import assert from 'node:assert/strict';
import { messageOf } from '../../platform/errors/message-of';

/**
 * What became of a scheduled run: made by this call, or not due because the last scheduled run,
 * in this instance or another, ended at `lastRunEndedAt`.
 */
export type ScheduledRunOutcome = { readonly ran: true } | { readonly ran: false; readonly lastRunEndedAt: Date };

/** What the scheduler needs: the schedule in force, and a way to run one settlement. */
export interface SettlementSchedulerPorts {
  /** The interval in force (SchedulerConfigChanged over the environment); 0 = no scheduled runs. */
  intervalSeconds(): Promise<number>;
  /**
   * One settlement run, through the same command, lock and rules as an admin trigger, when the
   * last scheduled run of any instance ended at least `everyMs` ago (always, when null). Errors
   * of the run itself are thrown.
   */
  runSettlement(everyMs: number | null): Promise<ScheduledRunOutcome>;
  log(message: string, fields?: Record<string, unknown>): void;
  /** Told of every check that failed (see check()), for ledger_worker_run_failures_total. */
  runFailed?(): void;
}

export interface SettlementSchedulerOptions {
  /** Run once as soon as the scheduler starts, whatever the interval. */
  readonly onStart: boolean;
  /** How long the scheduler may go without reading the schedule, so an admin's change applies within it. */
  readonly checkIntervalMsMax: number;
}

/** Long enough to cost nothing, short enough that an admin's new schedule applies within half a minute. */
export const SCHEDULE_CHECK_INTERVAL_MS_MAX = 30_000;

/**
 * Runs settlements every `settlement.intervalSeconds` (SPEC §4.3). The interval is read again at
 * every check, not once at start-up, so `PUT /v1/admin/config/scheduler` applies to the running
 * service: a shorter interval brings the next run forward, 0 stops scheduled runs, and a
 * positive value starts them again. The time of the last run is counted from its end, so a run
 * that takes longer than the interval is never followed by another at once. Runs never overlap
 * across instances either: the settlement command holds an advisory lock (a second one answers
 * `settlement_in_progress`, which is logged and left to the next interval). And the interval holds
 * across instances: a run is made only when the last scheduled run of any instance ended an
 * interval ago (runSettlement's `everyMs`), so N instances settle once per interval, not N times.
 * That includes a start: the next run is due an interval after the last one of any instance, not
 * an interval after this start, so a fleet restarted more often than the interval still settles.
 */
export class SettlementScheduler {
  private timer: NodeJS.Timeout | null = null;
  private stopped = true;
  private lastRunEndedAt = 0;
  private inFlight: Promise<void> | null = null;

  constructor(
    private readonly ports: SettlementSchedulerPorts,
    private readonly options: SettlementSchedulerOptions,
  ) {
    assert(Number.isInteger(options.checkIntervalMsMax) && options.checkIntervalMsMax > 0, 'checkIntervalMsMax must be a positive integer');
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    // Unknown until the shared schedule is asked: the first check with a positive interval asks it
    // (runSettlement), so a restart never moves the next run later.
    this.lastRunEndedAt = Number.NEGATIVE_INFINITY;
    this.schedule(0, this.options.onStart);
  }

  /** Stops the timer and waits for a run in progress to end. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.inFlight;
  }

  private schedule(delayMs: number, runNow: boolean): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.inFlight = this.check(runNow).finally(() => {
        this.inFlight = null;
      });
    }, delayMs);
  }

  /**
   * One scheduled pass. It failed (runFailed) when it threw: when the schedule could not be read,
   * so no run that was due could be made, or when the settlement run threw, whatever the reason,
   * settlement_in_progress (another run, an admin's, held the lock) included. A check that finds no
   * run due, or a run made by another instance, has not failed.
   */
  private async check(runNow: boolean): Promise<void> {
    let intervalMs: number;
    try {
      intervalMs = (await this.ports.intervalSeconds()) * 1000;
    } catch (error) {
      this.ports.runFailed?.();
      this.ports.log('the settlement schedule could not be read; checking again later', { error: messageOf(error) });
      this.schedule(this.options.checkIntervalMsMax, runNow);
      return;
    }
    const dueInMs = intervalMs > 0 ? this.lastRunEndedAt + intervalMs - Date.now() : Number.POSITIVE_INFINITY;
    if (!this.stopped && (runNow || dueInMs <= 0)) {
      let outcome: ScheduledRunOutcome = { ran: true };
      try {
        outcome = await this.ports.runSettlement(runNow ? null : intervalMs);
      } catch (error) {
        this.ports.runFailed?.();
        this.ports.log('scheduled settlement did not run', { error: messageOf(error) });
      }
      // A run made elsewhere counts as this instance's: the next is due an interval after it.
      this.lastRunEndedAt = outcome.ran ? Date.now() : Math.min(Date.now(), outcome.lastRunEndedAt.getTime());
      this.schedule(Math.min(intervalMs > 0 ? intervalMs : Number.POSITIVE_INFINITY, this.options.checkIntervalMsMax), false);
      return;
    }
    this.schedule(Math.min(dueInMs, this.options.checkIntervalMsMax), false);
  }
}
