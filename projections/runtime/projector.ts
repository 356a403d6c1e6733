import { type DatabasePool, sql } from 'slonik';
import {
  type EventStore,
  type EventSubscription,
  type RecordedEvent,
} from '../../src/platform/event-store/event-store.port';
import { lockCheckpoint, readCheckpoint, writeCheckpoint } from '../../src/platform/read-models/checkpoints';
import { setBatchSettings } from './batch-settings';
import { type Projection } from './projection';
import { TimedIterator } from './timed-iterator';
import { messageOf } from '../../src/platform/errors/message-of';

export interface ProjectorOptions {
  /** Events applied in one transaction, at most. */
  readonly batchSizeMax?: number;
  /** How long a started batch waits for more events before it commits what it has. */
  readonly batchWaitMs?: number;
  /**
   * Under load a batch also keeps taking events until this many times the duration of the
   * projection's previous commit has passed since that commit began (at most
   * commitSpacingMaxMs), so a projection spends at most about 1/factor of its time committing
   * however fast events arrive. 0 switches the spacing off.
   */
  readonly commitSpacingFactor?: number;
  readonly commitSpacingMaxMs?: number;
  /** How long a projection with nothing to do waits before it moves past events it does not read. */
  readonly idleCheckMs?: number;
  /** Backoff after a failed batch: doubles from the minimum up to the maximum. */
  readonly retryDelayMinMs?: number;
  readonly retryDelayMaxMs?: number;
  /**
   * How long a batch's transaction, which holds its projection's checkpoint row, may sit idle
   * between two statements before the server ends its session (batch-settings.ts): how long a
   * process stalled inside a batch keeps the other runners of that projection waiting.
   */
  readonly batchIdleTimeoutMs?: number;
  readonly log?: (message: string, fields?: Record<string, unknown>) => void;
}

/**
 * The default of batchIdleTimeoutMs. A live batch's client is idle between its statements for
 * milliseconds: at most 109 ms, measured on the 2-core development machine over 200,000 events of
 * every read model, in batches of 10,000 (32 ms in batches of 500, the default). So a batch idle
 * this long is stalled, not busy, while the read model is held back tens of seconds, as by the
 * pool's statement timeout (which bounds a statement, not the time between two): half the 60 s
 * that slonik gives every session of the pool by default.
 */
export const BATCH_IDLE_TIMEOUT_MS = 30_000;

export type ProjectionState = 'starting' | 'running' | 'retrying' | 'stopped';

export interface ProjectionStatus {
  readonly name: string;
  readonly state: ProjectionState;
  /** Position of the last event applied, as committed. */
  readonly checkpoint: bigint | null;
  readonly lastError: string | null;
}

/** Another projector instance moved the checkpoint; this one re-reads it and goes on from there. */
class CheckpointMovedError extends Error {}

/**
 * Runs projections: each one follows `$all` from its stored checkpoint, in bounded batches, and
 * commits every batch's rows together with its new checkpoint in one transaction. A crash at any
 * point therefore either loses a whole uncommitted batch (re-read on restart) or nothing.
 */
export class Projector {
  private readonly runners: ProjectionRunner[];

  constructor(pool: DatabasePool, store: EventStore, projections: readonly Projection[], options: ProjectorOptions = {}) {
    const names = new Set(projections.map((projection) => projection.name));
    if (names.size !== projections.length) throw new Error('Two projections share a name');
    this.runners = projections.map((projection) => new ProjectionRunner(pool, store, projection, options));
  }

  start(): void {
    for (const runner of this.runners) runner.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.runners.map((runner) => runner.stop()));
  }

  status(): ProjectionStatus[] {
    return this.runners.map((runner) => runner.status());
  }
}

class ProjectionRunner {
  private state: ProjectionState = 'stopped';
  private checkpoint: bigint | null = null;
  private lastError: string | null = null;
  private subscription: EventSubscription | null = null;
  private loop: Promise<void> | null = null;
  private stopping = false;
  private wakeFromBackoff: (() => void) | null = null;
  /** The last idle check that found an unapplied event of ours, so it is not repeated in vain. */
  private futileIdleCheck: { readonly head: bigint; readonly checkpoint: bigint | null } | null = null;
  private readonly idleCheckMs: number;
  private readonly batchSizeMax: number;
  private readonly batchWaitMs: number;
  private readonly commitSpacingFactor: number;
  private readonly commitSpacingMaxMs: number;
  /** When the last commit began and how long it took (performance.now() milliseconds). */
  private lastCommit = { startedAt: Number.NEGATIVE_INFINITY, durationMs: 0 };
  private readonly retryDelayMinMs: number;
  private readonly retryDelayMaxMs: number;
  private readonly batchIdleTimeoutMs: number;
  /**
   * The wait before the next retry: doubled by each failure, and back to the minimum once a batch
   * commits, so a single failure long after an outage is retried at once, not after the outage's
   * longest wait.
   */
  private retryDelayMs: number;
  private readonly log: (message: string, fields?: Record<string, unknown>) => void;

  constructor(
    private readonly pool: DatabasePool,
    private readonly store: EventStore,
    private readonly projection: Projection,
    options: ProjectorOptions,
  ) {
    this.batchSizeMax = options.batchSizeMax ?? 500;
    this.batchWaitMs = options.batchWaitMs ?? 5;
    this.commitSpacingFactor = options.commitSpacingFactor ?? 4;
    this.commitSpacingMaxMs = options.commitSpacingMaxMs ?? 250;
    this.idleCheckMs = options.idleCheckMs ?? 250;
    this.retryDelayMinMs = options.retryDelayMinMs ?? 250;
    this.retryDelayMaxMs = options.retryDelayMaxMs ?? 30_000;
    this.retryDelayMs = this.retryDelayMinMs;
    this.batchIdleTimeoutMs = options.batchIdleTimeoutMs ?? BATCH_IDLE_TIMEOUT_MS;
    this.log = options.log ?? (() => undefined);
    if (!Number.isInteger(this.batchSizeMax) || this.batchSizeMax < 1) throw new Error('batchSizeMax must be a positive integer');
    if (!Number.isInteger(this.batchIdleTimeoutMs) || this.batchIdleTimeoutMs < 1) throw new Error('batchIdleTimeoutMs must be a positive integer');
    if (!(this.commitSpacingFactor >= 0) || !(this.commitSpacingMaxMs >= 0)) throw new Error('commitSpacingFactor and commitSpacingMaxMs must not be negative');
  }

  start(): void {
    if (this.loop !== null) return;
    this.stopping = false;
    this.state = 'starting';
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wakeFromBackoff?.();
    await this.subscription?.close();
    await this.loop;
    this.loop = null;
    this.state = 'stopped';
  }

  status(): ProjectionStatus {
    return { name: this.projection.name, state: this.state, checkpoint: this.checkpoint, lastError: this.lastError };
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      try {
        this.checkpoint = await readCheckpoint(this.pool, this.projection.name);
        // After a failure it stays `retrying` until a batch commits or it finds nothing to apply:
        // a projection whose batch fails at every attempt must not look running between them.
        if (this.lastError === null) this.state = 'running';
        await this.follow();
      } catch (error) {
        if (this.stopping) break;
        if (error instanceof CheckpointMovedError) continue;
        this.state = 'retrying';
        this.lastError = messageOf(error);
        this.log('projection batch failed; retrying from its checkpoint', {
          projection: this.projection.name,
          error: this.lastError,
          retryInMs: this.retryDelayMs,
        });
        await this.sleep(this.retryDelayMs);
        this.retryDelayMs = Math.min(this.retryDelayMs * 2, this.retryDelayMaxMs);
      } finally {
        await this.subscription?.close();
        this.subscription = null;
      }
    }
  }

  /** Reads from the checkpoint and applies batches until stopped or until something fails. */
  private async follow(): Promise<void> {
    const subscription = this.store.subscribeToAll({ fromPosition: this.checkpoint, filter: this.projection.filter });
    this.subscription = subscription;
    const reads = new TimedIterator(subscription[Symbol.asyncIterator]());
    let batch: RecordedEvent[] = [];
    while (!this.stopping) {
      // A started batch waits only briefly for more, so a quiet store still sees low latency.
      const next = await reads.next(batch.length === 0 ? this.idleCheckMs : this.batchWaitFor());
      if (next === 'timeout' && batch.length === 0) {
        await this.skipUnconcernedEvents();
        this.recovered();
        continue;
      }
      if (next !== 'timeout') {
        if (next.done === true) break;
        batch.push(next.value);
      }
      if (batch.length > 0 && (next === 'timeout' || batch.length >= this.batchSizeMax)) {
        await this.commit(batch);
        batch = [];
      }
    }
    // A read still in flight when we leave settles when the subscription closes; nobody takes it.
  }

  /**
   * A filtered projection never sees the events it does not read, so its checkpoint would stay
   * behind them, and a `?minPosition=` of such an event would wait forever. While idle, it moves
   * the checkpoint to the store's head, once sure no event of its own lies up to there: the head
   * is read first, so an event below it is final, and the filtered read after it finds none.
   */
  private async skipUnconcernedEvents(): Promise<void> {
    if (this.projection.filter === undefined) return;
    const head = await this.store.headPosition();
    if (head === null || (this.checkpoint !== null && head <= this.checkpoint)) return;
    // Nothing changed since a check that found an event of our own still to apply: skip the read.
    if (this.futileIdleCheck !== null && this.futileIdleCheck.head === head && this.futileIdleCheck.checkpoint === this.checkpoint) return;
    const [own] = await this.store.readAll({ fromPosition: this.checkpoint, maxCount: 1, filter: this.projection.filter });
    if (own !== undefined) {
      // The subscription will deliver it; once it is applied the checkpoint differs and we look again.
      this.futileIdleCheck = { head, checkpoint: this.checkpoint };
      return;
    }
    await this.pool.transaction(async (transaction) => {
      // It holds the checkpoint row too, so it is bounded like a batch (commitBatch).
      await setBatchSettings(transaction, { idleTimeoutMs: this.batchIdleTimeoutMs });
      const stored = await lockCheckpoint(transaction, this.projection.name);
      if (stored !== this.checkpoint) {
        throw new CheckpointMovedError(`${this.projection.name} checkpoint moved to ${String(stored)}`);
      }
      await writeCheckpoint(transaction, this.projection.name, head, 0);
    });
    this.checkpoint = head;
  }

  /**
   * How long the batch started waits for its next event. Right after a quick commit, or after a
   * quiet spell, that is batchWaitMs; while commits come one after another and take long (the
   * database is busy: a settlement run, a burst of kills), it is until the spacing since the last
   * commit has passed, so the events that arrive meanwhile join this batch instead of each
   * costing a transaction of their own. The added latency is bounded by commitSpacingMaxMs.
   */
  private batchWaitFor(): number {
    const spacingMs = Math.min(this.commitSpacingMaxMs, this.commitSpacingFactor * this.lastCommit.durationMs);
    return Math.max(this.batchWaitMs, this.lastCommit.startedAt + spacingMs - performance.now());
  }

  /**
   * Commits the batch; when it fails, commits its events one at a time, so the events before one
   * the projection cannot apply (a poison event) are committed with their checkpoint, and only
   * the failing event, with everything after it, waits for the retries. Otherwise one bad event
   * would keep the whole batch, and every `?minPosition=` in it, back until it could be applied.
   */
  private async commit(batch: readonly RecordedEvent[]): Promise<void> {
    const startedAt = performance.now();
    try {
      try {
        await this.commitBatch(batch);
      } catch (error) {
        if (batch.length === 1 || this.stopping || error instanceof CheckpointMovedError) throw error;
        this.log('projection batch failed; applying its events one at a time', {
          projection: this.projection.name,
          events: batch.length,
          error: messageOf(error),
        });
        for (const event of batch) {
          if (this.stopping) return;
          await this.commitBatch([event]);
        }
      }
    } finally {
      this.lastCommit = { startedAt, durationMs: performance.now() - startedAt };
    }
  }

  private async commitBatch(batch: readonly RecordedEvent[]): Promise<void> {
    const last = batch[batch.length - 1].position;
    await this.pool.transaction(async (transaction) => {
      // Before the checkpoint row is locked, so that a stall at any point after it frees the row in time.
      await setBatchSettings(transaction, { idleTimeoutMs: this.batchIdleTimeoutMs });
      const stored = await lockCheckpoint(transaction, this.projection.name);
      if (stored !== this.checkpoint) {
        throw new CheckpointMovedError(`${this.projection.name} checkpoint moved to ${String(stored)}`);
      }
      await this.projection.apply(transaction, batch);
      await writeCheckpoint(transaction, this.projection.name, last, batch.length);
    });
    this.checkpoint = last;
    this.recovered();
  }

  /** A batch committed, or nothing was left to apply: running, and the next failure waits the least again. */
  private recovered(): void {
    this.lastError = null;
    this.state = 'running';
    this.retryDelayMs = this.retryDelayMinMs;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done(): void {
        clearTimeout(timer);
        self.wakeFromBackoff = null;
        resolve();
      }
      this.wakeFromBackoff = done;
    });
  }
}

/**
 * Empties a projection's tables and resets its checkpoint in one transaction, so the projector
 * (which must not be running this projection meanwhile) rebuilds it from position zero.
 */
export async function resetProjection(
  pool: DatabasePool,
  projection: Projection,
  options: { readonly idleTimeoutMs?: number } = {},
): Promise<void> {
  await pool.transaction(async (transaction) => {
    // It holds the checkpoint row too, so it is bounded like a batch (commitBatch).
    await setBatchSettings(transaction, { idleTimeoutMs: options.idleTimeoutMs ?? BATCH_IDLE_TIMEOUT_MS });
    await lockCheckpoint(transaction, projection.name);
    for (const table of projection.tables) {
      await transaction.query(sql.unsafe`TRUNCATE ${sql.identifier([table])}`);
    }
    await writeCheckpoint(transaction, projection.name, null, 0);
  });
}

export interface ProjectionLag {
  readonly name: string;
  /** True when no stored event after the checkpoint concerns this projection. */
  readonly caughtUp: boolean;
  /** Age of the oldest event not yet applied; 0 when caught up. */
  readonly lagSeconds: number;
}

/** Measures, from the committed checkpoints, how far each projection is behind the store. */
export async function measureLag(
  pool: DatabasePool,
  store: EventStore,
  projections: readonly Projection[],
  now: Date = new Date(),
): Promise<ProjectionLag[]> {
  return Promise.all(
    projections.map(async (projection) => {
      const checkpoint = await readCheckpoint(pool, projection.name);
      const [oldest] = await store.readAll({ fromPosition: checkpoint, maxCount: 1, filter: projection.filter });
      if (oldest === undefined) return { name: projection.name, caughtUp: true, lagSeconds: 0 };
      return {
        name: projection.name,
        caughtUp: false,
        lagSeconds: Math.max(0, (now.getTime() - oldest.createdAt.getTime()) / 1000),
      };
    }),
  );
}
