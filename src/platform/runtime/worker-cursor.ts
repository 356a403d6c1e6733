/**
 * Where a worker that walks the linked users round-robin has got to, kept where every instance of
 * the service reads it, so that the next one to take the worker's turn (after a handover or a
 * restart) goes on from there. StoredWorkerCursor (src/platform/database/worker-cursor.ts) keeps it
 * in PostgreSQL; the workers themselves know nothing of the database.
 */
export interface WorkerCursor {
  /** The last user served; the walk goes on strictly after it. Null when none was saved yet. */
  load(): Promise<string | null>;
  /**
   * Notes `afterUserId` as the last user served. It never fails: a cursor that could not be saved
   * is logged, and the next holder repeats the users served since the last one saved.
   */
  save(afterUserId: string): Promise<void>;
  /**
   * How long ago it was last saved, by the store's clock, in milliseconds; null when never. A worker
   * that runs every so often reads it when it starts, so that a restart does not put its next run
   * off by a whole interval again.
   */
  sinceSavedMs(): Promise<number | null>;
}
