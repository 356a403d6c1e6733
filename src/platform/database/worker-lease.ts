import { randomUUID } from 'node:crypto';
import { type DatabasePool, sql } from 'slonik';
import { z } from 'zod';
import { messageOf } from '../errors/message-of';
import { type WorkerTurn } from '../runtime/worker-turn';

/**
 * How long a lease lasts unless renewed. Its holder renews it a third of the way through, so only a
 * holder that died (or lost its database for that long) lets it run out; until then no instance
 * runs the worker, so this is also the longest pause a crash causes.
 */
export const WORKER_LEASE_TTL_MS = 60_000;
/** The shortest lease: renewing it takes a round trip, which must be a small part of it. */
const LEASE_TTL_MS_MIN = 1_000;

type Log = (message: string, fields?: Record<string, unknown>) => void;

/**
 * A lease on a worker that one instance of the service at a time must run: the workers that call
 * an outside API under its rate limit (migrations/0017_create_worker_leases.sql). The worker asks
 * for it before it works; once held, it is renewed every third of its length until released. An
 * instance that stops releases it, and the next instance to ask takes it. One that dies keeps it
 * until it runs out. A process holds it under an id of its own, new at each start.
 */
export class WorkerLease implements WorkerTurn {
  private readonly holder = randomUUID();
  /** Whether the last answer was "held", for logging only the changes. */
  private held: boolean | null = null;
  /** False once released: a renewal still in flight must not start the renewals again. */
  private active = false;
  private renewal: NodeJS.Timeout | null = null;
  private renewing: Promise<void> | null = null;

  constructor(
    private readonly pool: DatabasePool,
    readonly worker: string,
    private readonly log: Log = () => undefined,
    readonly ttlMs: number = WORKER_LEASE_TTL_MS,
  ) {
    if (!Number.isSafeInteger(ttlMs) || ttlMs < LEASE_TTL_MS_MIN) throw new RangeError(`ttlMs must be an integer of at least ${LEASE_TTL_MS_MIN}, got ${ttlMs}`);
  }

  async acquire(): Promise<boolean> {
    this.active = true;
    return this.take();
  }

  /**
   * Stops the renewals and gives the lease up when this process holds it. It never fails: a
   * lease that could not be given up (the database is down) runs out by itself.
   */
  async release(): Promise<void> {
    this.active = false;
    if (this.renewal !== null) clearTimeout(this.renewal);
    this.renewal = null;
    await this.renewing;
    this.held = null;
    try {
      await this.pool.query(sql.unsafe`DELETE FROM worker_leases WHERE worker = ${this.worker} AND holder = ${this.holder}`);
    } catch (error) {
      this.log('worker lease not released: it runs out by itself', { worker: this.worker, error: messageOf(error) });
    }
  }

  /** Takes the lease when no one holds it or it has run out, or renews it for this process. */
  private async take(): Promise<boolean> {
    const row = await this.pool.maybeOne(sql.type(z.object({ holder: z.string() }))`
      INSERT INTO worker_leases (worker, holder, expires_at)
      VALUES (${this.worker}, ${this.holder}, now() + ${this.ttlMs} * interval '1 millisecond')
      ON CONFLICT (worker) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
        WHERE worker_leases.holder = EXCLUDED.holder OR worker_leases.expires_at <= now()
      RETURNING holder`);
    const held = row !== null;
    if (held !== this.held) {
      this.log(held ? 'this instance runs the worker now' : 'another instance runs the worker', { worker: this.worker });
    }
    this.held = held;
    if (held) this.renewLater();
    return held;
  }

  private renewLater(): void {
    if (!this.active || this.renewal !== null) return;
    this.renewal = setTimeout(() => {
      this.renewal = null;
      if (!this.active) return;
      this.renewing = this.take()
        .then(() => undefined)
        .catch((error: unknown) => {
          // Whether the lease is still held is not known: renew again at the next turn, so that a
          // moment without the database does not let a live holder's lease run out.
          this.log('worker lease not renewed', { worker: this.worker, error: messageOf(error) });
          this.renewLater();
        })
        .finally(() => {
          this.renewing = null;
        });
    }, Math.floor(this.ttlMs / 3));
    // The lease alone is no reason to keep the process alive.
    this.renewal.unref();
  }
}
