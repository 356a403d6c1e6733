import { randomUUID } from 'node:crypto';
import { type DatabasePool, sql } from 'slonik';
import { z } from 'zod';
import { runCachedUserCommand, UserStateCache } from '../../identity/user/user-state-cache';
import { type PayoutGateway } from '../../identity/user/user.events';
import { withTryAdvisoryLock } from '../../platform/database/advisory-lock';
import { forEachInFlight } from '../../platform/runtime/in-flight';
import { PeriodicTask, repeatedFields } from '../../platform/runtime/periodic-task';
import { type CommandMetadata } from '../../platform/decider';
import { DomainError } from '../../platform/errors/domain-error';
import { type EventStore } from '../../platform/event-store/event-store.port';
import { messageOf } from '../../platform/errors/message-of';

export interface PendingPayout {
  readonly payoutId: string;
  readonly userId: string;
}

/**
 * What became of one payout in a run: `sent`; `failed` (a refused attempt was recorded, the next
 * waits for its backoff); `skipped` (not the executor's to send: sent, failed or cancelled by now,
 * or its backoff has not ended); `unresolved` (the node did not say whether it took the block:
 * the next run asks again, and the run stops, because nothing else may be signed meanwhile).
 */
export type SendOutcome = 'sent' | 'failed' | 'skipped' | 'unresolved';

/** The gateway side of the executor: dry-run, or signed blocks on the Banano node. */
export interface PayoutSender {
  readonly mode: PayoutGateway;
  /** The gateways of the payouts it is given: its own, and for live also dry-run ones, to fail them. */
  readonly looksAt: readonly PayoutGateway[];
  /** Payouts it sends at once: 1 where each block follows the previous on one account chain. */
  readonly sendsAtOnceMax: number;
  /**
   * Gets ready for a run, first finishing the payouts a crash or an unanswered publish left in
   * flight (`resumed`: what became of each). Not `ready`: nothing can be sent now.
   */
  prepare(): Promise<{ readonly ready: boolean; readonly resumed: readonly SendOutcome[] }>;
  send(payout: PendingPayout): Promise<SendOutcome>;
}

export interface ExecutorRunResult {
  readonly sent: number;
  readonly failed: number;
}

const pendingRow = z.object({ payout_id: z.string(), user_id: z.string() });

/** Payouts taken per run, at most. */
const PAYOUTS_PER_RUN_MAX = 500;
/**
 * One writer per operator account across every instance (two-integer advisory lock key): the payout
 * executor and the donation ingester both sign blocks on the operator's frontier, so they hold it.
 */
export const OPERATOR_ACCOUNT_LOCK = [7358, 4] as const;

export function executorMetadata(causationId: string): CommandMetadata {
  return { correlationId: randomUUID(), causationId, actor: { kind: 'system', name: 'payout-executor' } };
}

/**
 * Sends requested payouts one at a time (SPEC §4.4), oldest first, on an interval. The read model
 * only says which payouts to look at; the sender decides from the user and operator streams, so a
 * lagging read model can delay a payout but never send one twice.
 */
export class PayoutExecutor {
  private readonly schedule: PeriodicTask<ExecutorRunResult>;

  constructor(
    private readonly pool: DatabasePool,
    readonly sender: PayoutSender,
    intervalMs: number,
    log: (message: string, fields?: Record<string, unknown>) => void = () => undefined,
    /**
     * Told of every scheduled run that failed: one that threw, whether or not its log line was left
     * out as a repeat. A payout refused or left unresolved inside a run is not a failed run.
     */
    runFailed: () => void = () => undefined,
  ) {
    this.schedule = new PeriodicTask(
      () => this.sendDue(),
      intervalMs,
      (error, repeats) => log('payout executor run failed', { error: messageOf(error), ...repeatedFields(repeats) }),
      { runFailed },
    );
  }

  /** The first run comes at once: it resumes whatever a previous process left in flight (§4.4.6). */
  start(): void {
    this.schedule.start(0);
  }

  /** Stops the schedule and waits for the payout step in progress to end. */
  stop(): Promise<void> {
    return this.schedule.stop();
  }

  /** Sends every payout that is due; a run already going is joined, not doubled. */
  runOnce(): Promise<ExecutorRunResult> {
    return this.schedule.runOnce();
  }

  private async sendDue(): Promise<ExecutorRunResult> {
    const result = await withTryAdvisoryLock(this.pool, OPERATOR_ACCOUNT_LOCK, async (connection, held) => {
      const { ready, resumed } = await this.sender.prepare();
      let sent = resumed.filter((outcome) => outcome === 'sent').length;
      let failed = resumed.filter((outcome) => outcome === 'failed').length;
      if (!ready || held.aborted) return { sent, failed };
      const due = await connection.any(sql.type(pendingRow)`
        SELECT payout_id, user_id FROM payouts
         WHERE status = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= now())
           AND gateway = ANY(${sql.array(this.sender.looksAt, 'text')})
         ORDER BY requested_at, requested_position LIMIT ${PAYOUTS_PER_RUN_MAX}`);
      let unresolved = false;
      await forEachInFlight(
        due,
        this.sender.sendsAtOnceMax,
        async (row) => {
          const outcome = await this.sender.send({ payoutId: row.payout_id, userId: row.user_id });
          if (outcome === 'sent') sent += 1;
          else if (outcome === 'failed') failed += 1;
          else if (outcome === 'unresolved') unresolved = true;
        },
        // A lock lost on the way (its session ended) may be another executor's now: no new send.
        { stopped: () => this.schedule.stopping || unresolved || held.aborted },
      );
      return { sent, failed };
    });
    // Another executor holds the operator account; it sends these.
    return result ?? { sent: 0, failed: 0 };
  }
}

/**
 * The dry-run gateway (SPEC §4.4): no network; each requested payout is sent with the synthetic
 * hash `dryrun-<payoutId>`, through the same PayoutSent event as a real one.
 */
export class DryRunPayoutSender implements PayoutSender {
  readonly mode = 'dry-run';
  // Live payouts stay pending for a live executor: one may have a block on its way.
  readonly looksAt = ['dry-run'] as const;
  /**
   * A dry-run send is one append to its user's stream and touches no account chain, so payouts
   * of different users go at once. One at a time, the payouts of a settlement of 100,000 took
   * minutes to send (bench P3); 128 at once sent them all 190 s after the trigger, 32 at once 214 s.
   */
  readonly sendsAtOnceMax = 128;

  /**
   * `userStates`: the application's cache, where the settlement run left the state it requested
   * each payout on, so a send usually needs no read of the stream (see UserStateCache).
   */
  constructor(
    private readonly store: EventStore,
    private readonly log: (message: string, fields?: Record<string, unknown>) => void = () => undefined,
    private readonly userStates: UserStateCache = new UserStateCache(),
  ) {}

  async prepare(): Promise<{ ready: boolean; resumed: SendOutcome[] }> {
    return { ready: true, resumed: [] };
  }

  async send(payout: PendingPayout): Promise<SendOutcome> {
    try {
      const decision = await runCachedUserCommand(
        this.store,
        this.userStates,
        payout.userId,
        { type: 'RecordPayoutSent', data: { payoutId: payout.payoutId, gateway: 'dry-run', blockHash: `dryrun-${payout.payoutId}`, now: new Date() } },
        executorMetadata(payout.payoutId),
      );
      return decision.events.length > 0 ? 'sent' : 'skipped';
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      this.log('payout not sent', { payoutId: payout.payoutId, code: error.code });
      return 'skipped';
    }
  }
}
