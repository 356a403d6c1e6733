/**
 * What a worker that one instance of the service at a time must run asks before it works: whether
 * it is this instance's turn. WorkerLease (src/platform/database/worker-lease.ts) answers it from
 * PostgreSQL; the workers themselves know nothing of the database.
 */
export interface WorkerTurn {
  /** Takes or renews the turn; true when this instance holds it now. */
  acquire(): Promise<boolean>;
  /** Gives the turn up, for another instance to take. */
  release(): Promise<void>;
}
