import { randomBytes } from 'node:crypto';
import { type DatabasePool, sql } from 'slonik';
import { z } from 'zod';
import { allProjections } from '../../projections';
import { createDatabasePool } from '../../src/platform/database/database';
import { type EventStore } from '../../src/platform/event-store/event-store.port';
import { EventStoreDbEventStore } from '../../src/platform/event-store/eventstoredb-event-store';
import { PostgresEventStore } from '../../src/platform/event-store/postgres-event-store';
import { parseBan } from '../../src/platform/money';
import { type BenchContext, type BenchDatabase, type EventStoreKind } from '../types';
import { checkReadBack, loadIntoPostgres, loadThroughPort } from './event-store-loader';
import { LedgerHistory } from './ledger-history';

/*
 * The event-sourced data set P2 and P3 share: a migrated database whose event store (PostgreSQL,
 * or EventStoreDB when the pass measures it) holds a faithful history of `users` players in
 * `events` events. P2 measures the rebuild of its read models and leaves the database, rebuilt, for
 * P3, which settles its users (every one of them is eligible at the end of the history). P3 run
 * alone builds it itself, unmeasured.
 */

export interface DatasetSizes {
  readonly users: number;
  readonly events: number;
}

/**
 * Full: 1,000,000 events of 100,000 users (P2's size, P3's 100,000 eligible users). Quick: 3 %,
 * small enough to keep the whole quick run near 2 minutes.
 */
export function datasetSizes(quick: boolean): DatasetSizes {
  return quick ? { users: 3_000, events: 30_000 } : { users: 100_000, events: 1_000_000 };
}

/**
 * The simulated dry-run balance of the history and of P3's service (BANANO_DRY_RUN_BALANCE_BAN):
 * high enough that no run is limited by the budget, so every eligible user is paid.
 */
export const DRY_RUN_BALANCE_BAN = '100000000';

export interface EventDataset {
  readonly key: string;
  readonly database: BenchDatabase;
  readonly history: LedgerHistory;
  readonly eventStore: EventStoreKind;
  readonly eventStoreConnectionString: string | undefined;
  readonly sizes: DatasetSizes;
  /** How the store was checked after loading. */
  readonly readBack: string;
  readonly loadSeconds: number;
  /** True once the read models hold every event (rebuilt). */
  rebuilt: boolean;
}

export function datasetKey(context: Pick<BenchContext, 'quick' | 'eventStore'>): string {
  return `${context.eventStore}:${context.quick ? 'quick' : 'full'}`;
}

export function openEventStore(dataset: Pick<EventDataset, 'database' | 'eventStore' | 'eventStoreConnectionString'>): EventStore {
  if (dataset.eventStore === 'eventstoredb') {
    if (dataset.eventStoreConnectionString === undefined) throw new Error('The EventStoreDB pass needs eventStoreConnectionString');
    return new EventStoreDbEventStore(dataset.eventStoreConnectionString);
  }
  return new PostgresEventStore(dataset.database.url, { poolSizeMax: 4 });
}

/** Generates the history and writes it into a fresh database's event store, checked by reading it back. */
export async function createEventDataset(context: BenchContext, prefix: string): Promise<EventDataset> {
  const sizes = datasetSizes(context.quick);
  const database = await context.createDatabase(prefix, { migrate: true });
  // EventStoreDB outlives the run: names of its own keep this history apart from earlier ones.
  const seed = context.eventStore === 'postgres' ? 'pay2slay-bench' : `pay2slay-bench-${randomBytes(6).toString('hex')}`;
  const history = new LedgerHistory({ ...sizes, seed, now: new Date(), dryRunBalanceRaw: parseBan(DRY_RUN_BALANCE_BAN) as bigint });
  const startedAt = performance.now();
  context.log(`generating ${sizes.events.toLocaleString('en-US')} events of ${sizes.users.toLocaleString('en-US')} users into the ${context.eventStore} event store`);
  const dataset = { key: datasetKey(context), database, history, eventStore: context.eventStore, eventStoreConnectionString: context.eventStoreConnectionString, sizes };
  const store = openEventStore(dataset);
  try {
    if (context.eventStore === 'postgres') await loadIntoPostgres(database.url, history);
    else {
      const before = await store.headPosition();
      if (before !== null) context.log(`warning: EventStoreDB is not empty (head ${before.toString()}): a rebuild reads those events too`);
      await loadThroughPort(store, history);
    }
    const loadSeconds = (performance.now() - startedAt) / 1000;
    const readBack = await checkReadBack(store, history, context.eventStore);
    context.log(`generated and wrote ${history.eventCount.toLocaleString('en-US')} events in ${loadSeconds.toFixed(1)} s; read back: ${readBack}`);
    return { ...dataset, readBack, loadSeconds, rebuilt: false };
  } finally {
    await store.close();
  }
}

/** Data sets P2 left for P3, by event store and size (the runner runs P2 for every store, then P3). */
const shared = new Map<string, EventDataset>();

/** P2 hands its rebuilt data set on to P3 of the same event store. */
export function shareDataset(dataset: EventDataset): void {
  shared.set(dataset.key, dataset);
}

/**
 * The data set P2 left for this pass, taken (the taker drops it); null when there is none. One
 * left over (P3 not run) is dropped with every other benchmark database when the runner ends.
 */
export function takeSharedDataset(context: BenchContext): EventDataset | null {
  const key = datasetKey(context);
  const dataset = shared.get(key) ?? null;
  shared.delete(key);
  return dataset;
}

/** The read-model tables, by projection, in rebuild order. */
export function readModelTables(): string[] {
  return allProjections.flatMap((projection) => projection.tables);
}

export async function countTableRows(pool: DatabasePool, tables: readonly string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const table of tables) {
    counts.set(table, Number(await pool.oneFirst(sql.type(z.object({ rows: z.bigint() }))`SELECT count(*) AS rows FROM ${sql.identifier([table])}`)));
  }
  return counts;
}

export async function withPool<T>(url: string, work: (pool: DatabasePool) => Promise<T>): Promise<T> {
  const pool = await createDatabasePool(url, { statementTimeoutMs: 600_000 });
  try {
    return await work(pool);
  } finally {
    await pool.end();
  }
}
