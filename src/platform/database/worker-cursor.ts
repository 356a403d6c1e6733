import { type DatabasePool, sql } from 'slonik';
import { z } from 'zod';
import { messageOf } from '../errors/message-of';
import { type WorkerCursor } from '../runtime/worker-cursor';

type Log = (message: string, fields?: Record<string, unknown>) => void;

/**
 * A worker's round-robin cursor in PostgreSQL (migrations/0028_create_worker_cursors.sql), shared
 * by every instance of the service: the instance that holds the worker's lease reads it when it
 * begins a run and saves it after each user, so the next holder goes on where this one stopped.
 */
export class StoredWorkerCursor implements WorkerCursor {
  constructor(
    private readonly pool: DatabasePool,
    readonly worker: string,
    private readonly log: Log = () => undefined,
  ) {}

  async load(): Promise<string | null> {
    return this.pool.maybeOneFirst(sql.type(z.object({ after_user_id: z.string() }))`
      SELECT after_user_id FROM worker_cursors WHERE worker = ${this.worker}`);
  }

  async sinceSavedMs(): Promise<number | null> {
    // float8: a cursor older than 24.8 days holds more milliseconds than an int4.
    return this.pool.maybeOneFirst(sql.type(z.object({ since_ms: z.number() }))`
      SELECT (extract(epoch FROM now() - updated_at) * 1000)::float8 AS since_ms FROM worker_cursors WHERE worker = ${this.worker}`);
  }

  async save(afterUserId: string): Promise<void> {
    try {
      await this.pool.query(sql.unsafe`
        INSERT INTO worker_cursors (worker, after_user_id, updated_at) VALUES (${this.worker}, ${afterUserId}, now())
        ON CONFLICT (worker) DO UPDATE SET after_user_id = EXCLUDED.after_user_id, updated_at = EXCLUDED.updated_at`);
    } catch (error) {
      // The worker goes on: the next holder repeats the users since the cursor last saved.
      this.log('worker cursor not saved', { worker: this.worker, afterUserId, error: messageOf(error) });
    }
  }
}
