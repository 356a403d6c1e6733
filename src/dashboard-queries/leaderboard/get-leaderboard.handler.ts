import { Inject } from '@nestjs/common';
import { type IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { type DatabasePool, sql } from 'slonik';
import { z } from 'zod';
import { LEDGER_CONFIG, type LedgerConfig } from '../../platform/config/config';
import { DATABASE_POOL } from '../../platform/database/database';
import { formatBan } from '../../platform/money';
import { displayName } from '../display-name';
import { PublicIds } from '../public-ids';
import { GetLeaderboardQuery } from './get-leaderboard.query';
import { type LeaderboardMeasure, type LeaderboardView } from './leaderboard.view';

const entryRow = z.object({
  user_id: z.string(),
  discord_user_id: z.string(),
  accrued_kill_count: z.bigint(),
  accrued_raw: z.string(),
  settled_raw: z.string(),
});

/**
 * The ORDER BY of each measure. Each is the key of a partial index of migrations/0014 (`WHERE
 * accrued_kill_count > 0`, the same condition as the query), so the answer is the first `limit`
 * entries of an index scan, however many users there are, and never a sort of the table. The
 * columns are qualified: unqualified, `accrued_raw` would name the output column, the text the
 * SELECT casts it to, and "9" would rank above "10".
 */
const ORDER: Readonly<Record<LeaderboardMeasure, ReturnType<typeof sql.fragment>>> = {
  kills: sql.fragment`u.accrued_kill_count DESC, u.user_id`,
  earned: sql.fragment`u.accrued_raw DESC, u.user_id`,
};

/**
 * Players by what was accrued to them, from the users read model alone: `accrued_kill_count` and
 * `accrued_raw` are the running totals of their AccrualRecorded events, and `settled_raw` that of
 * their PayoutSent events (what GET /v1/users/:userId reports as `totalPaidRaw`). Players with no
 * accrual are left out. Ties are broken by user id, so the order is stable from one call to the next.
 */
@QueryHandler(GetLeaderboardQuery)
export class GetLeaderboardHandler implements IQueryHandler<GetLeaderboardQuery, LeaderboardView> {
  constructor(
    @Inject(DATABASE_POOL) private readonly pool: DatabasePool,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    private readonly publicIds: PublicIds,
  ) {}

  async execute(query: GetLeaderboardQuery): Promise<LeaderboardView> {
    const rows = await this.pool.any(sql.type(entryRow)`
      SELECT u.user_id, u.discord_user_id, u.accrued_kill_count, u.accrued_raw::text AS accrued_raw, u.settled_raw::text AS settled_raw
        FROM users u
       WHERE u.accrued_kill_count > 0
       ORDER BY ${ORDER[query.by]}
       LIMIT ${query.limit}`);
    const { showDiscordIds } = this.config.dashboard;
    const publicId = await this.publicIds.issuer();
    return {
      by: query.by,
      items: rows.map((row, index) => ({
        rank: index + 1,
        playerId: publicId('player', row.user_id),
        displayName: displayName(row.discord_user_id, showDiscordIds),
        kills: Number(row.accrued_kill_count),
        earnedRaw: row.accrued_raw,
        earnedBan: formatBan(BigInt(row.accrued_raw)),
        paidRaw: row.settled_raw,
        paidBan: formatBan(BigInt(row.settled_raw)),
      })),
    };
  }
}
