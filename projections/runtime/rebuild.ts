import { setTimeout as sleep } from 'node:timers/promises';
import { type DatabasePool, sql } from 'slonik';
import { z } from 'zod';
import { withTryAdvisoryLock } from '../../src/platform/database/advisory-lock';
import { DomainError } from '../../src/platform/errors/domain-error';
import { type EventStore } from '../../src/platform/event-store/event-store.port';
import { lockCheckpoint } from '../../src/platform/read-models/checkpoints';
import { type Projection } from './projection';
import { BATCH_IDLE_TIMEOUT_MS } from './projector';
import {
  buildShadow,
  countRows,
  createDeferredIndexes,
  deleteShadowCheckpoint,
  endedIdle,
  liveSchemaOf,
  ownedTables,
  prepareShadow,
  readShadowCheckpoint,
  REBUILD_SCHEMA,
  setLocal,
  sqlStateOf,
  stalledHoldingCheckpoint,
} from './shadow-schema';

/*
 * `projections rebuild [name…]`: each projection is rebuilt from position zero into shadow copies
 * of its tables (shadow-schema.ts) while the live tables keep serving and the live projector keeps
 * following the store; then the copies are swapped in, in one transaction:
 *
 *   1. lock the projection's checkpoint row (FOR UPDATE, as the projector's every batch does first),
 *      so the live projector, in this process or another, cannot commit a batch meanwhile;
 *   2. read the store's head and catch the copies up to it (few events: the build ran up to a head
 *      read moments before);
 *   3. DROP the live tables and ALTER TABLE … SET SCHEMA the copies into the live schema. The copies
 *      carry the live names of every index, constraint and trigger, so the schema looks as before;
 *   4. set the live checkpoint to the copies' position and delete the shadow checkpoint.
 *
 * The copies are built without their plain (non-unique) indexes, which are made once the rows are
 * in, before the swap (outside its lock): a bulk load's way, far cheaper than keeping each index up
 * to date batch by batch. Keys and unique indexes are there all along: the projections' ON CONFLICT
 * and lookups use them, and a duplicate still stops the batch that writes it.
 *
 * Why rename rather than TRUNCATE + INSERT … SELECT: the copy is never written twice, and the
 * ACCESS EXCLUSIVE lock that both need is held for the DDL alone, not for a copy of every row.
 * Queries never see a partial table: until the commit they read the old table, a query that arrives
 * while the lock is held waits, and after the commit PostgreSQL looks the name up again once it has
 * its lock, so it reads the new table, complete. (A REPEATABLE READ transaction that read the old
 * table before the swap and reads it again after would fail rather than see a mix; the query API
 * reads with single statements.) The lock is taken with `lock_timeout`, so a long reader never
 * makes every query wait behind the swap: the swap gives up, waits and tries again. After its last
 * attempt (5 of 5 s, about 29 s with the waits between) it stops with rebuild_swap_lock_timeout,
 * naming what it waited for; a `projections verify` holds the checkpoint row and reads the tables
 * for as long as it compares the projection. The copies are kept, so running it again resumes.
 *
 * The running projector needs nothing from us: every batch it commits first locks its checkpoint
 * row and compares it with the position it holds, and finding it moved, it re-reads it and
 * subscribes again from there (projector.ts, CheckpointMovedError). So it carries on after the swap
 * from the copies' position, and a batch it had read before is dropped, not applied twice.
 *
 * Resuming. The copies commit batch by batch with their own checkpoint (a table in the rebuild
 * schema), so a rebuild stopped by Ctrl-C, a crash or a lost connection resumes from there when run
 * again, unless a migration changed the live tables since (the copies then start over) or
 * `restart` is asked. The swap is one transaction: it happened entirely or not at all.
 *
 * One rebuild at a time (a session advisory lock): two would build into the same shadow tables.
 */

export const REBUILD_LOCK = [7358, 40] as const;

export interface BuildProgress {
  /** A projection's build begins, from `from` (null: from the start) towards `to`. */
  start(projection: string, range: { readonly from: bigint | null; readonly to: bigint | null; readonly resumed: boolean; readonly eventsBefore: bigint }): void;
  /** A batch committed; `to` may have grown (a later pass towards a newer head). */
  update(projection: string, progress: { readonly position: bigint; readonly to: bigint | null; readonly events: number }): void;
  /** The build ended, done or interrupted. */
  stop(projection: string): void;
}

export interface RebuildOptions {
  /** Events applied in one transaction, at most. */
  readonly batchSizeMax?: number;
  /** Drop an interrupted rebuild's copies instead of resuming them. */
  readonly restart?: boolean;
  /** Stops after the batch in progress; the projection stays resumable. */
  readonly signal?: AbortSignal;
  readonly progress?: BuildProgress;
  /** How long the swap waits for a lock (the checkpoint row, the live tables) before it tries again. */
  readonly lockTimeoutMs?: number;
  readonly swapAttemptsMax?: number;
  /**
   * Build passes towards a newer head before the swap, at most (a pass ends at the head read when it
   * started); default 5. 0 builds everything in the swap's transaction, under its lock.
   */
  readonly passesMax?: number;
  /**
   * How long the swap's transaction, which holds the projection's checkpoint row, may sit idle
   * between two statements before the server ends it (PROJECTOR_BATCH_IDLE_TIMEOUT_SECONDS, as for
   * the projector's batches; BATCH_IDLE_TIMEOUT_MS unless given).
   */
  readonly idleTimeoutMs?: number;
}

export interface RebuildResult {
  readonly name: string;
  readonly outcome: 'rebuilt' | 'interrupted';
  /** The shadow position an interrupted build was resumed from; null when it started afresh. */
  readonly resumedFrom: bigint | null;
  /** Where the copies are: for a rebuilt projection, its live checkpoint now. */
  readonly position: bigint | null;
  /** Events the rebuilt tables hold (all runs of an interrupted and resumed build together). */
  readonly eventsApplied: bigint;
  /** Events applied by this run, the swap's catch-up included. */
  readonly eventsThisRun: number;
  /** Events applied under the swap's lock. */
  readonly eventsUnderLock: number;
  readonly durationMs: number;
  /** Rows of each table swapped in; empty when interrupted. */
  readonly tables: ReadonlyArray<{ readonly table: string; readonly rows: number }>;
}

const NO_PROGRESS: BuildProgress = { start: () => undefined, update: () => undefined, stop: () => undefined };

/** Rebuilds `projections` one after another; stops at the first interrupted one. */
export async function rebuildProjections(
  pool: DatabasePool,
  store: EventStore,
  projections: readonly Projection[],
  options: RebuildOptions = {},
): Promise<RebuildResult[]> {
  const results = await withTryAdvisoryLock(pool, REBUILD_LOCK, async () => {
    ownedTables(projections);
    const liveSchema = await liveSchemaOf(pool, projections);
    await refuseOutsideDependents(pool, liveSchema, projections);
    const done: RebuildResult[] = [];
    for (const projection of projections) {
      if (options.signal?.aborted === true) break;
      const result = await rebuildOne(pool, store, projection, liveSchema, options);
      done.push(result);
      if (result.outcome === 'interrupted') break;
    }
    return done;
  });
  if (results === null) throw new DomainError('rebuild_in_progress', 'Another projections rebuild is running; wait for it to end', 409);
  return results;
}

async function rebuildOne(pool: DatabasePool, store: EventStore, projection: Projection, liveSchema: string, options: RebuildOptions): Promise<RebuildResult> {
  const batchSizeMax = options.batchSizeMax ?? 1_000;
  const passesMax = options.passesMax ?? 5;
  if (!Number.isInteger(passesMax) || passesMax < 0) throw new Error('passesMax must be a non-negative integer');
  const progress = options.progress ?? NO_PROGRESS;
  const startedAt = Date.now();
  // The copies are built without their plain indexes, made once the rows are in (shadow-schema.ts).
  const prepared = await prepareShadow(pool, projection, liveSchema, REBUILD_SCHEMA, { restart: options.restart, deferIndexes: true });
  const resumedFrom = prepared.resumed ? prepared.checkpoint.position : null;
  let events = 0;
  progress.start(projection.name, {
    from: prepared.checkpoint.position,
    to: await store.headPosition(),
    resumed: prepared.resumed,
    eventsBefore: prepared.checkpoint.eventsApplied,
  });
  try {
    for (let pass = 1; pass <= passesMax; pass += 1) {
      const head = await store.headPosition();
      const built = await buildShadow(pool, store, projection, REBUILD_SCHEMA, head, {
        batchSizeMax,
        signal: options.signal,
        onBatch: (batch) => progress.update(projection.name, { position: batch.position, to: head, events: events + batch.events }),
      });
      events += built.events;
      if (built.interrupted) {
        return {
          name: projection.name,
          outcome: 'interrupted',
          resumedFrom,
          position: built.position,
          eventsApplied: prepared.checkpoint.eventsApplied + BigInt(events),
          eventsThisRun: events,
          eventsUnderLock: 0,
          durationMs: Date.now() - startedAt,
          tables: [],
        };
      }
      if (head !== null && built.position !== null) progress.update(projection.name, { position: built.position, to: head, events });
      // Little arrived while this pass ran: the swap catches that up under its lock.
      if (built.events <= batchSizeMax) break;
    }
  } finally {
    progress.stop(projection.name);
  }
  await pool.transaction((transaction) => createDeferredIndexes(transaction, liveSchema, REBUILD_SCHEMA, projection.tables));
  // Fresh statistics, so the planner does not meet the swapped-in tables blind.
  for (const table of projection.tables) await pool.query(sql.unsafe`ANALYZE ${sql.identifier([REBUILD_SCHEMA, table])}`);
  const swapped = await swapIn(pool, store, projection, liveSchema, batchSizeMax, options);
  return {
    name: projection.name,
    outcome: 'rebuilt',
    resumedFrom,
    position: swapped.position,
    eventsApplied: swapped.eventsApplied,
    eventsThisRun: events + swapped.eventsUnderLock,
    eventsUnderLock: swapped.eventsUnderLock,
    durationMs: Date.now() - startedAt,
    tables: [...(await countRows(pool, liveSchema, projection.tables))].map(([table, rows]) => ({ table, rows })),
  };
}

interface Swapped {
  readonly position: bigint | null;
  readonly eventsApplied: bigint;
  readonly eventsUnderLock: number;
}

async function swapIn(
  pool: DatabasePool,
  store: EventStore,
  projection: Projection,
  liveSchema: string,
  batchSizeMax: number,
  options: RebuildOptions,
): Promise<Swapped> {
  const attemptsMax = options.swapAttemptsMax ?? 5;
  const lockTimeoutMs = options.lockTimeoutMs ?? 5_000;
  const idleTimeoutMs = options.idleTimeoutMs ?? BATCH_IDLE_TIMEOUT_MS;
  const startedAt = Date.now();
  // What the attempt was waiting for when it gave up, for the operator.
  let waitingFor = `the checkpoint row of ${projection.name}`;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await pool.transaction(async (transaction) => {
        // Before the checkpoint row is locked, as in the projector's batches (batch-settings.ts): a
        // rebuild stopped in its swap (Ctrl-Z, a frozen machine) would otherwise hold the row (and,
        // once dropped, the live tables) until slonik's session-wide idle_in_transaction_session_timeout
        // (60 s) ended it. Between two statements the client only waits for the store's head or the
        // catch-up's next read of the event store, or works on a batch's rows: at most 104 ms in
        // batches of 1,000 and 152 ms in batches of 10,000, measured with whole projections caught
        // up under this lock (verify.ts, compareProjection, says how).
        await setLocal(transaction, 'idle_in_transaction_session_timeout', `${idleTimeoutMs}ms`);
        await setLocal(transaction, 'lock_timeout', `${lockTimeoutMs}ms`);
        waitingFor = `the checkpoint row of ${projection.name}`;
        // First, as in the projector's batches: the same lock order, so neither waits on the other in a cycle.
        const live = await lockCheckpoint(transaction, projection.name);
        const head = await store.headPosition();
        const caughtUp = await buildShadow(pool, store, projection, REBUILD_SCHEMA, head, { batchSizeMax }, transaction);
        const shadow = await readShadowCheckpoint(transaction, REBUILD_SCHEMA, projection.name);
        if (shadow === null) throw new Error(`${projection.name} lost its shadow checkpoint`);
        if (live !== null && (shadow.position === null || shadow.position < live)) {
          // The copies read everything the store shows, which includes whatever the projector applied.
          throw new Error(`The rebuilt ${projection.name} is at ${String(shadow.position)}, behind its live checkpoint ${live.toString()}`);
        }
        // The catch-up's deferred constraint triggers fire now, while the search path is still the
        // shadow's; ALTER TABLE also refuses a table with trigger events pending.
        await transaction.query(sql.unsafe`SET CONSTRAINTS ALL IMMEDIATE`);
        waitingFor = `the live tables of ${projection.name} (${projection.tables.join(', ')})`;
        await transaction.query(sql.unsafe`DROP TABLE ${sql.join(
          projection.tables.map((table) => sql.identifier([liveSchema, table])),
          sql.fragment`, `,
        )}`);
        for (const table of projection.tables) {
          await transaction.query(sql.unsafe`ALTER TABLE ${sql.identifier([REBUILD_SCHEMA, table])} SET SCHEMA ${sql.identifier([liveSchema])}`);
        }
        await transaction.query(sql.unsafe`
          UPDATE ${sql.identifier([liveSchema, 'projection_checkpoints'])}
             SET position = ${shadow.position === null ? null : shadow.position.toString()}::bigint,
                 events_applied = ${shadow.eventsApplied.toString()}::bigint, updated_at = now()
           WHERE projection_name = ${projection.name}`);
        await deleteShadowCheckpoint(transaction, REBUILD_SCHEMA, projection.name);
        return { position: shadow.position, eventsApplied: shadow.eventsApplied, eventsUnderLock: caughtUp.events };
      });
    } catch (error) {
      if (endedIdle(error)) {
        throw stalledHoldingCheckpoint('rebuild_swap_stalled', 'swap', projection, idleTimeoutMs,
          'Nothing was swapped: the live tables are unchanged and the rebuilt copies are kept. Run the same command again to resume.');
      }
      if (sqlStateOf(error) !== '55P03') throw error;
      if (attempt >= attemptsMax) throw swapGaveUp(projection, waitingFor, attempt, lockTimeoutMs, Date.now() - startedAt);
      // lock_not_available: a long query or batch held a table; let it finish, then try again.
      await sleep(Math.min(250 * 2 ** (attempt - 1), 5_000));
    }
  }
}

/**
 * The swap's last attempt could not take its locks either. Nothing is lost: the swap rolled back
 * (the live tables and checkpoint are as they were) and the copies keep their shadow checkpoint,
 * so the same command run again resumes there, catches up the events since and swaps.
 */
function swapGaveUp(projection: Projection, waitingFor: string, attempts: number, lockTimeoutMs: number, elapsedMs: number): DomainError {
  return new DomainError(
    'rebuild_swap_lock_timeout',
    `The swap of ${projection.name} gave up after ${attempts} attempts of ${(lockTimeoutMs / 1000).toFixed(1)} s each ` +
      `(${(elapsedMs / 1000).toFixed(1)} s in all): it could not lock ${waitingFor}, which a \`projections verify\` ` +
      `holds while it compares ${projection.name} (a long query or batch can too). ` +
      'The rebuilt copies are kept: run the same command again once that has ended, and it resumes where it stopped.',
    409,
  );
}

/**
 * A swap drops the live tables, so nothing outside the projection may depend on them: a foreign key
 * from another table would stop the DROP, and a view would have to go with it. Refused before any
 * work is done, naming what depends on what.
 */
async function refuseOutsideDependents(pool: DatabasePool, liveSchema: string, projections: readonly Projection[]): Promise<void> {
  const problems: string[] = [];
  for (const projection of projections) {
    const owned = sql.fragment`ARRAY(SELECT to_regclass(format('%I.%I', ${liveSchema}::text, t))::oid FROM unnest(${sql.array(projection.tables, 'text')}) AS t)`;
    problems.push(
      ...(await pool.anyFirst(sql.type(z.object({ problem: z.string() }))`
        SELECT format('foreign key %s of %s references %s', co.conname, co.conrelid::regclass, co.confrelid::regclass) AS problem
          FROM pg_constraint co
         WHERE co.contype = 'f' AND co.confrelid = ANY (${owned}) AND NOT co.conrelid = ANY (${owned})
        UNION
        SELECT format('view %s reads %s', r.ev_class::regclass, d.refobjid::regclass)
          FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
         WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
           AND d.refobjid = ANY (${owned}) AND r.ev_class <> d.refobjid`)),
    );
  }
  if (problems.length > 0) {
    throw new Error(`A rebuild swaps tables that other objects depend on: ${problems.join('; ')}. Drop or move those first.`);
  }
}
