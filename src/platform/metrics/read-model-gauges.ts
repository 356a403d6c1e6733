import { type DatabasePool, sql } from 'slonik';
import { z } from 'zod';
import { type EventStore } from '../event-store/event-store.port';
import { readCheckpoints } from '../read-models/checkpoints';
import { type Metrics, PROJECTION_LAG_EVENTS_COUNTED_MAX, type ProjectionLagMeasurement, type ScrapeCollector } from './metrics';

/**
 * Projection lag, measured at scrape time from the committed checkpoints and the event store, like
 * /ready's check (projections/runtime/projector.ts `measureLag`). src/ may not import projections/,
 * so the projections are those with a row in projection_checkpoints (every running projection has
 * one after its first batch or idle check), and their event filters are unknown here: the count
 * includes events a filtered projection will skip, which its projector moves past within a quarter
 * second of being idle. The oldest unapplied event gives the lag in seconds.
 */
export function projectionLagCollector(pool: DatabasePool, store: EventStore, metrics: Metrics): ScrapeCollector {
  return {
    name: 'projection_lag',
    async collect() {
      const now = Date.now();
      const lags: ProjectionLagMeasurement[] = [];
      // One projection after the other: a scrape takes at most one pool connection at a time.
      for (const checkpoint of await readCheckpoints(pool)) {
        const unapplied = await store.readAll({ fromPosition: checkpoint.position, maxCount: PROJECTION_LAG_EVENTS_COUNTED_MAX });
        const oldest = unapplied[0];
        lags.push({
          projection: checkpoint.projection_name,
          events: unapplied.length,
          seconds: oldest === undefined ? 0 : Math.max(0, (now - oldest.createdAt.getTime()) / 1000),
        });
      }
      metrics.setProjectionLag(lags);
    },
    reset: () => metrics.resetProjectionLag(),
  };
}

const payoutStatusRow = z.object({ status: z.string(), payouts: z.bigint() });

/** Payouts by status, from the payouts read model. */
export function payoutsCollector(pool: DatabasePool, metrics: Metrics): ScrapeCollector {
  return {
    name: 'payouts',
    async collect() {
      const rows = await pool.any(sql.type(payoutStatusRow)`SELECT status, count(*) AS payouts FROM payouts GROUP BY status`);
      metrics.setPayouts(new Map(rows.map((row) => [row.status, Number(row.payouts)])));
    },
    reset: () => metrics.resetPayouts(),
  };
}
