import { Inject } from '@nestjs/common';
import { type IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { type DatabasePool, sql } from 'slonik';
import { z } from 'zod';
import { LEDGER_CONFIG, type LedgerConfig } from '../../platform/config/config';
import { DATABASE_POOL } from '../../platform/database/database';
import { formatBan } from '../../platform/money';
import { displayName } from '../display-name';
import { type FeedItemView, type FeedView, type GatewayMode } from './feed.view';
import { type PublicIdKind, PublicIds } from '../public-ids';
import { GetFeedQuery } from './get-feed.query';

/** The hash the dry-run gateway gives a payout it sends (`dryrun-<payoutId>`, SPEC §4.4). */
const DRY_RUN_HASH_PREFIX = 'dryrun-';

const itemRow = z.object({
  kind: z.enum(['accrual', 'payout']),
  at: z.date(),
  item_id: z.string(),
  user_id: z.string(),
  kills: z.bigint(),
  amount_raw: z.string(),
  status: z.string().nullable(),
  block_hash: z.string().nullable(),
  gateway: z.string().nullable(),
  discord_user_id: z.string().nullable(),
});

/**
 * The newest accruals and payouts, merged. Each side is read newest first down an index of
 * migrations/0014 (reward_accruals by recorded_at, payouts by coalesce(sent_at, requested_at),
 * which is the sent time once sent, as sent_at is set by PayoutSent alone) and cut at `limit`, so
 * at most 2 × limit rows are merged and sorted, whatever the tables hold. At the same instant a
 * payout comes before an accrual, then the larger id first: the order never changes between calls.
 *
 * The users row is joined for the display name; while the users read model has not applied the
 * player's registration yet (projections run apart), the item shows with the mask alone.
 */
@QueryHandler(GetFeedQuery)
export class GetFeedHandler implements IQueryHandler<GetFeedQuery, FeedView> {
  constructor(
    @Inject(DATABASE_POOL) private readonly pool: DatabasePool,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    private readonly publicIds: PublicIds,
  ) {}

  async execute(query: GetFeedQuery): Promise<FeedView> {
    const rows = await this.pool.any(sql.type(itemRow)`
      SELECT f.kind, f.at, f.item_id, f.user_id, f.kills, f.amount_raw, f.status, f.block_hash, f.gateway, u.discord_user_id
        FROM ((SELECT 'accrual'::text AS kind, recorded_at AS at, accrual_id AS item_id, user_id, kills, amount_raw::text AS amount_raw,
                      NULL::text AS status, NULL::text AS block_hash, NULL::text AS gateway
                 FROM reward_accruals
                ORDER BY recorded_at DESC, accrual_id DESC
                LIMIT ${query.limit})
              UNION ALL
              (SELECT 'payout'::text, COALESCE(sent_at, requested_at), payout_id, user_id, kills, amount_raw::text,
                      status, block_hash, gateway
                 FROM payouts
                ORDER BY COALESCE(sent_at, requested_at) DESC, payout_id DESC
                LIMIT ${query.limit})) f
        LEFT JOIN users u ON u.user_id = f.user_id
       ORDER BY f.at DESC, f.kind DESC, f.item_id DESC
       LIMIT ${query.limit}`);
    const gateway: GatewayMode = this.config.banano.rpcUrl === null ? 'dry-run' : 'live';
    const publicId = await this.publicIds.issuer();
    return { gateway, items: rows.map((row) => this.item(row, publicId)) };
  }

  private item(row: z.infer<typeof itemRow>, publicId: (kind: PublicIdKind, id: string) => string): FeedItemView {
    const who = { at: row.at.toISOString(), playerId: publicId('player', row.user_id), displayName: displayName(row.discord_user_id, this.config.dashboard.showDiscordIds) };
    const amount = { kills: Number(row.kills), amountRaw: row.amount_raw, amountBan: formatBan(BigInt(row.amount_raw)) };
    if (row.kind === 'accrual') return { kind: 'accrual', ...who, accrualKey: publicId('accrual', row.item_id), ...amount };
    if (row.status === null) throw new Error(`Payout ${row.item_id} has no status: payouts.status is NOT NULL`);
    // A payout keeps the gateway it was planned for (PayoutRequested.gateway): a dry-run one is
    // never signed on chain, whatever the service runs with now. The hash says the same once sent.
    const dryRun = row.gateway === 'dry-run' || (row.block_hash?.startsWith(DRY_RUN_HASH_PREFIX) ?? false);
    return {
      kind: 'payout',
      ...who,
      payoutId: row.item_id,
      status: row.status,
      ...amount,
      blockHash: row.block_hash,
      // Live hashes are 64 hexadecimal characters: safe to append as they are.
      blockUrl: dryRun || row.block_hash === null ? null : `${this.config.banano.explorerBlockUrl}${row.block_hash}`,
      dryRun,
    };
  }
}
