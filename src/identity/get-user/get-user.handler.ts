import { Inject } from '@nestjs/common';
import { type IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { type DatabasePool, sql } from 'slonik';
import { z } from 'zod';
import { LEDGER_CONFIG, type LedgerConfig } from '../../platform/config/config';
import { DATABASE_POOL } from '../../platform/database/database';
import { DomainError, NotFoundError } from '../../platform/errors/domain-error';
import { moneyPair } from '../../platform/money';
import { waitForCheckpoint } from '../../platform/read-models/checkpoints';
import { GetUserQuery, type UserView } from './get-user.query';

const userRow = z.object({
  user_id: z.string(),
  discord_user_id: z.string(),
  region_code: z.string().nullable(),
  epic_account_id: z.string().nullable(),
  verification_status: z.string().nullable(),
  last_settled_kill_count: z.bigint(),
  last_settlement_at: z.date().nullable(),
  accrued_kill_count: z.bigint(),
  last_observed_kill_count: z.bigint().nullable(),
  registered_at: z.date(),
});

@QueryHandler(GetUserQuery)
export class GetUserHandler implements IQueryHandler<GetUserQuery, UserView> {
  constructor(
    @Inject(DATABASE_POOL) private readonly pool: DatabasePool,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
  ) {}

  async execute(query: GetUserQuery): Promise<UserView> {
    if (query.minPosition !== null) {
      const caughtUp = await waitForCheckpoint(this.pool, 'users', query.minPosition, this.config.http.minPositionWaitMs);
      if (!caughtUp) {
        throw new DomainError(
          'read_model_behind',
          `The users read model has not reached position ${query.minPosition.toString()} yet; retry shortly`,
          503,
        );
      }
    }
    const row = await this.pool.maybeOne(sql.type(userRow)`
      SELECT user_id, discord_user_id, region_code, epic_account_id, verification_status,
             last_settled_kill_count, last_settlement_at, accrued_kill_count, last_observed_kill_count, registered_at
        FROM users WHERE user_id = ${query.userId}`);
    if (row === null) throw new NotFoundError('user_not_found', `No user ${query.userId}`);
    const accrued = row.accrued_kill_count;
    const settled = row.last_settled_kill_count;
    // Wallets, accruals, payouts and flags get their read models with the rewards and payouts
    // capabilities; until then a user has none, owes nothing and has its whole caps left.
    const unsettled = moneyPair(0n);
    const paid = moneyPair(0n);
    return {
      userId: row.user_id,
      discordUserId: row.discord_user_id,
      epicAccountId: row.epic_account_id,
      regionCode: row.region_code,
      wallet: null,
      verificationStatus: row.verification_status,
      lastSettledKillCount: Number(settled),
      accruedKillCount: Number(accrued),
      lastObservedKillCount: row.last_observed_kill_count === null ? null : Number(row.last_observed_kill_count),
      lastSettlementAt: row.last_settlement_at?.toISOString() ?? null,
      unsettledKills: Number(accrued - settled),
      unsettledRaw: unsettled.raw,
      unsettledBan: unsettled.ban,
      totalPaidRaw: paid.raw,
      totalPaidBan: paid.ban,
      capsRemaining: { today: this.config.payout.dailyKillCap, thisWeek: this.config.payout.weeklyKillCap },
      openFlags: [],
      registeredAt: row.registered_at.toISOString(),
    };
  }
}
