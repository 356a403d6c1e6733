import { randomUUID } from 'node:crypto';
import { type DatabasePool, sql } from 'slonik';
import { z } from 'zod';
import { runUserCommand } from '../../identity/user/run-user-command';
import { withTryAdvisoryLock } from '../../platform/database/advisory-lock';
import { DomainError } from '../../platform/errors/domain-error';
import { type EventStore } from '../../platform/event-store/event-store.port';

const pendingRow = z.object({ payout_id: z.string(), user_id: z.string() });

/** Payouts sent per run, at most. */
const PAYOUTS_PER_RUN_MAX = 500;
/** One executor per operator account across every instance (two-integer advisory lock key). */
const EXECUTOR_LOCK = [7358, 4] as const;

/**
 * The dry-run payout gateway (SPEC §4.4): no network; each requested payout is sent with the
 * synthetic hash `dryrun-<payoutId>`, through the same PayoutSent event as a real one. The real
 * executor (signed blocks on the operator stream, publish, block_info after an ambiguous failure)
 * replaces it when the operator seed can be stored.
 */
export class DryRunPayoutExecutor {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<{ sent: number }> | null = null;
  private stopped = false;

  constructor(
    private readonly pool: DatabasePool,
    private readonly store: EventStore,
    private readonly intervalMs: number,
    private readonly log: (message: string, fields?: Record<string, unknown>) => void = () => undefined,
  ) {}

  start(): void {
    this.stopped = false;
    const tick = (): void => {
      this.timer = setTimeout(() => {
        void this.runOnce()
          .catch((error: unknown) => this.log('payout executor run failed', { error: error instanceof Error ? error.message : String(error) }))
          .finally(() => {
            if (!this.stopped) tick();
          });
      }, this.intervalMs);
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** Sends every payout the read model shows pending; a run already going is joined, not doubled. */
  runOnce(): Promise<{ sent: number }> {
    this.running ??= this.sendPending().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async sendPending(): Promise<{ sent: number }> {
    const result = await withTryAdvisoryLock(this.pool, EXECUTOR_LOCK, async (connection) => {
      const pending = await connection.any(sql.type(pendingRow)`
        SELECT payout_id, user_id FROM payouts WHERE status = 'pending' ORDER BY requested_at LIMIT ${PAYOUTS_PER_RUN_MAX}`);
      let sent = 0;
      for (const payout of pending) {
        try {
          const decision = await runUserCommand(
            this.store,
            payout.user_id,
            { type: 'RecordPayoutSent', data: { payoutId: payout.payout_id, blockHash: `dryrun-${payout.payout_id}`, now: new Date() } },
            { correlationId: randomUUID(), causationId: payout.payout_id, actor: { kind: 'system', name: 'payout-executor' } },
          );
          if (decision.events.length > 0) sent += 1;
        } catch (error) {
          if (!(error instanceof DomainError)) throw error;
          this.log('payout not sent', { payoutId: payout.payout_id, code: error.code });
        }
      }
      return { sent };
    });
    // Another executor holds the operator account; it sends these.
    return result ?? { sent: 0 };
  }
}
