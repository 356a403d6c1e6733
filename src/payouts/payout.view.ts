import { type CommonQueryMethods, sql } from 'slonik';
import { z } from 'zod';
import { formatBan } from '../platform/money';

/** The payout shape of SPEC §5. */
export interface PayoutView {
  readonly payoutId: string;
  readonly userId: string;
  readonly status: string;
  readonly kills: number;
  readonly amountRaw: string;
  readonly amountBan: string;
  readonly address: string;
  readonly idempotencyKey: string;
  readonly attemptCount: number;
  readonly blockHash: string | null;
  readonly requestedAt: string;
  readonly sentAt: string | null;
  readonly accruals: ReadonlyArray<{ readonly accrualId: string; readonly kills: number }>;
}

export const payoutRow = z.object({
  payout_id: z.string(),
  user_id: z.string(),
  status: z.string(),
  kills: z.bigint(),
  amount_raw: z.string(),
  address: z.string(),
  idempotency_key: z.string(),
  attempt_count: z.number(),
  block_hash: z.string().nullable(),
  requested_at: z.date(),
  sent_at: z.date().nullable(),
  accruals: z.array(z.object({ accrualId: z.string(), kills: z.number() })),
  requested_position: z.bigint(),
});

export const PAYOUT_COLUMNS = sql.fragment`payout_id, user_id, status, kills, amount_raw, address, idempotency_key, attempt_count,
  block_hash, requested_at, sent_at, accruals, requested_position`;

export function payoutView(row: z.infer<typeof payoutRow>): PayoutView {
  return {
    payoutId: row.payout_id,
    userId: row.user_id,
    status: row.status,
    kills: Number(row.kills),
    amountRaw: row.amount_raw,
    amountBan: formatBan(BigInt(row.amount_raw)),
    address: row.address,
    idempotencyKey: row.idempotency_key,
    attemptCount: row.attempt_count,
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
