import { type CommonQueryMethods, sql } from 'slonik';
import { z } from 'zod';
import { formatBan } from '../platform/money';

/** The payout shape of SPEC §5, with the attempt record of §4.4.5. */
export interface PayoutView {
  readonly payoutId: string;
  readonly userId: string;
  /** pending → sent | failed | cancelled; failed → pending again when an admin retries it. */
  readonly status: string;
  /** `dry-run` (sent with a `dryrun-` hash) or `live` (a signed block on chain). */
  readonly gateway: string;
  readonly kills: number;
  readonly amountRaw: string;
  readonly amountBan: string;
  readonly address: string;
  readonly idempotencyKey: string;
  /** Attempts made so far, across retries: the failed ones, plus the one that sent it. */
  readonly attemptCount: number;
  readonly firstAttemptAt: string | null;
  readonly lastAttemptAt: string | null;
  /** Why the last attempt failed, as the executor recorded it; kept after a retry or a send. */
  readonly lastError: string | null;
  /** When the executor may try a pending payout again; null: as soon as it gets to it. */
  readonly nextAttemptAt: string | null;
  /** When the payout failed for good, while it is failed. */
  readonly failedAt: string | null;
  readonly cancelledAt: string | null;
  readonly cancelReason: string | null;
  readonly blockHash: string | null;
  readonly requestedAt: string;
  readonly sentAt: string | null;
  readonly accruals: ReadonlyArray<{ readonly accrualId: string; readonly kills: number }>;
}

export const payoutRow = z.object({
  payout_id: z.string(),
  user_id: z.string(),
  status: z.string(),
  gateway: z.string(),
  kills: z.bigint(),
  amount_raw: z.string(),
  address: z.string(),
  idempotency_key: z.string(),
  attempt_count: z.number(),
  first_attempt_at: z.date().nullable(),
  last_attempt_at: z.date().nullable(),
  last_error: z.string().nullable(),
  next_attempt_at: z.date().nullable(),
  failed_at: z.date().nullable(),
  cancelled_at: z.date().nullable(),
  cancel_reason: z.string().nullable(),
  block_hash: z.string().nullable(),
  requested_at: z.date(),
  sent_at: z.date().nullable(),
  accruals: z.array(z.object({ accrualId: z.string(), kills: z.number() })),
  requested_position: z.bigint(),
});

export const PAYOUT_COLUMNS = sql.fragment`payout_id, user_id, status, gateway, kills, amount_raw, address, idempotency_key, attempt_count,
  first_attempt_at, last_attempt_at, last_error, next_attempt_at, failed_at, cancelled_at, cancel_reason,
  block_hash, requested_at, sent_at, accruals, requested_position`;

export function payoutView(row: z.infer<typeof payoutRow>): PayoutView {
  return {
    payoutId: row.payout_id,
    userId: row.user_id,
    status: row.status,
    gateway: row.gateway,
    kills: Number(row.kills),
    amountRaw: row.amount_raw,
    amountBan: formatBan(BigInt(row.amount_raw)),
    address: row.address,
    idempotencyKey: row.idempotency_key,
    attemptCount: row.attempt_count,
    firstAttemptAt: row.first_attempt_at?.toISOString() ?? null,
    lastAttemptAt: row.last_attempt_at?.toISOString() ?? null,
    lastError: row.last_error,
    nextAttemptAt: row.next_attempt_at?.toISOString() ?? null,
    failedAt: row.failed_at?.toISOString() ?? null,
    cancelledAt: row.cancelled_at?.toISOString() ?? null,
    cancelReason: row.cancel_reason,
    blockHash: row.block_hash,
    requestedAt: row.requested_at.toISOString(),
    sentAt: row.sent_at?.toISOString() ?? null,
    accruals: row.accruals,
  };
}

export async function findPayout(connection: CommonQueryMethods, payoutId: string): Promise<PayoutView | null> {
  const row = await connection.maybeOne(sql.type(payoutRow)`SELECT ${PAYOUT_COLUMNS} FROM payouts WHERE payout_id = ${payoutId}`);
  return row === null ? null : payoutView(row);
}
