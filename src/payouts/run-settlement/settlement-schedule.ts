import { type DatabasePool, sql } from 'slonik';
import { z } from 'zod';
import { withTryAdvisoryLock } from '../../platform/database/advisory-lock';
import { type ScheduledRunOutcome } from './settlement-scheduler';

/** Held while one instance's scheduler decides whether a run is due, runs it and records its end. */
const SETTLEMENT_SCHEDULE_LOCK = [7358, 5] as const;

/**
 * The settlement schedule shared by every instance of the service (migrations/0018). Each
 * instance keeps its own timer, but a scheduled run goes ahead only when the last one, in any
 * instance, ended at least `everyMs` ago; `everyMs` null (the run at start-up) always goes ahead.
 * The check, the run and the record of its end happen under one advisory lock, so two instances
 * due at the same moment make one run. A run that fails counts as run, as it always has: the next
 * one waits for the interval. Admin triggers do not go through here: they run when asked.
 *
 * That lock keeps the schedule, not the runs apart: a run holds the settlement lock of its own and
 * stops when it loses that one (run-settlement.handler.ts). So `held` is not asked here: a run goes
 * on when this lock is lost under it, and another instance that then finds a run due early gets
 * settlement_in_progress, or runs after it, never beside it.
 *
 * Before any scheduled run, the first instance to ask starts the schedule: its time is recorded as
 * if a run had ended then, so the first run is due an interval after the ledger's first start (as
 * with `SETTLEMENT_ON_START=false` on one instance), and restarts do not put it off.
 */
export async function runScheduledSettlement(pool: DatabasePool, everyMs: number | null, run: () => Promise<void>): Promise<ScheduledRunOutcome> {
  const outcome = await withTryAdvisoryLock(pool, SETTLEMENT_SCHEDULE_LOCK, async (connection): Promise<ScheduledRunOutcome> => {
    if (everyMs !== null) {
      const last = await connection.maybeOne(sql.type(z.object({ last_run_ended_at: z.date(), due: z.boolean() }))`
        SELECT last_run_ended_at, last_run_ended_at <= now() - ${everyMs} * interval '1 millisecond' AS due
          FROM settlement_schedule`);
      if (last === null) {
        // No scheduled run yet: the schedule starts now, and the first run is due an interval on.
        const anchor = await connection.oneFirst(sql.type(z.object({ last_run_ended_at: z.date() }))`
          INSERT INTO settlement_schedule (id, last_run_ended_at) VALUES (1, now())
          RETURNING last_run_ended_at`);
        return { ran: false, lastRunEndedAt: anchor };
      }
      if (!last.due) return { ran: false, lastRunEndedAt: last.last_run_ended_at };
    }
    try {
      await run();
    } finally {
      await connection.query(sql.unsafe`
        INSERT INTO settlement_schedule (id, last_run_ended_at) VALUES (1, now())
        ON CONFLICT (id) DO UPDATE SET last_run_ended_at = EXCLUDED.last_run_ended_at`);
    }
    return { ran: true };
  });
  // Another instance is deciding or running right now: its run is this interval's.
  return outcome ?? { ran: false, lastRunEndedAt: new Date() };
}
