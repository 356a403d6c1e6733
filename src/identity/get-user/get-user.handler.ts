import { Inject } from '@nestjs/common';
import { type IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { type DatabasePool, sql } from 'slonik';
import { z } from 'zod';
import { defaultPayoutSettings, FaucetSettings } from '../../admin/faucet-config/faucet-settings';
import { LEDGER_CONFIG, type LedgerConfig } from '../../platform/config/config';
import { DATABASE_POOL } from '../../platform/database/database';
import { DomainError, NotFoundError } from '../../platform/errors/domain-error';
import { EVENT_STORE, type EventStore } from '../../platform/event-store/event-store.port';
import { moneyPair } from '../../platform/money';
import { awaitReadModels } from '../../platform/read-models/checkpoints';
import { capWindowsSql } from '../../payouts/run-settlement/settlement-facts';
import { type UserAsOfView, userStatusAsOf } from '../user-audit/user-status-as-of';
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
  accrued_raw: z.string(),
  settled_raw: z.string(),
  wallet_address: z.string().nullable(),
  wallet_verified: z.boolean().nullable(),
});

const claimsRow = z.object({ today: z.bigint(), week: z.bigint() });

const flagRow = z.object({ flag_id: z.string(), flag_type: z.string(), severity: z.string() });

/** The read models this answer is built from; `?minPosition=` waits for each of them. */
const READ_MODELS = ['users', 'wallet_links', 'abuse_flags', 'payouts'] as const;

@QueryHandler(GetUserQuery)
export class GetUserHandler implements IQueryHandler<GetUserQuery, UserView | UserAsOfView> {
  constructor(
    @Inject(DATABASE_POOL) private readonly pool: DatabasePool,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    private readonly settings: FaucetSettings,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  async execute(query: GetUserQuery): Promise<UserView | UserAsOfView> {
    if (query.asOf !== null) return this.asOf(query.userId, query.asOf);
    return this.now(query);
  }

  /**
   * The user as it was, folded from its stream up to `asOf` (user-status-as-of.ts). A time still
   * to come is refused: events may yet be recorded before it, so no answer for it is final.
   */
  private async asOf(userId: string, asOf: Date): Promise<UserAsOfView> {
    if (asOf.getTime() > Date.now()) throw new DomainError('as_of_in_future', `asOf ${asOf.toISOString()} is in the future; leave it out for the user now`);
    return userStatusAsOf(this.store, userId, { kind: 'time', at: asOf }, defaultPayoutSettings(this.config));
  }

  private async now(query: GetUserQuery): Promise<UserView> {
    await awaitReadModels(this.pool, this.store, READ_MODELS, query.minPosition, this.config.http.minPositionWaitMs);
    const row = await this.pool.maybeOne(sql.type(userRow)`
      SELECT u.user_id, discord_user_id, region_code, epic_account_id, verification_status,
             last_settled_kill_count, last_settlement_at, accrued_kill_count, last_observed_kill_count, registered_at,
             accrued_raw, settled_raw, w.address AS wallet_address, w.verified AS wallet_verified
        FROM users u
        LEFT JOIN wallet_links w ON w.user_id = u.user_id AND w.is_primary
       WHERE u.user_id = ${query.userId}`);
    if (row === null) throw new NotFoundError('user_not_found', `No user ${query.userId}`);
    const flags = await this.pool.any(sql.type(flagRow)`
      SELECT flag_id, flag_type, severity FROM abuse_flags WHERE user_id = ${query.userId} AND status = 'open' ORDER BY raised_at`);
    const accrued = row.accrued_kill_count;
    const settled = row.last_settled_kill_count;
    // Settled and paid move only with PayoutSent; what is claimed by a payout in flight is still
    // unsettled, but already counts against the caps (SPEC §4.3).
    const paidRaw = BigInt(row.settled_raw);
    const unsettled = moneyPair(BigInt(row.accrued_raw) - paidRaw);
    const paid = moneyPair(paidRaw);
    // The day and week of the database's clock, as settlement counts them (databaseNow), read in
    // the same statement.
    const claims = await this.pool.one(sql.type(claimsRow)`
      WITH windows AS (${capWindowsSql()})
      SELECT coalesce(sum(p.kills) FILTER (WHERE p.requested_at >= w.day_start), 0)::bigint AS today,
             coalesce(sum(p.kills), 0)::bigint AS week
        FROM windows w, payouts p
       WHERE p.user_id = ${query.userId} AND p.status <> 'cancelled' AND p.requested_at >= w.week_start`);
    const { dailyKillCap, weeklyKillCap } = (await this.settings.current()).payout;
    const left = (cap: number, claimed: bigint): number => Math.max(0, cap - Number(claimed));
    return {
      userId: row.user_id,
      discordUserId: row.discord_user_id,
      epicAccountId: row.epic_account_id,
      regionCode: row.region_code,
      wallet: row.wallet_address === null ? null : { address: row.wallet_address, verified: row.wallet_verified === true },
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
      capsRemaining: {
        today: Math.min(left(dailyKillCap, claims.today), left(weeklyKillCap, claims.week)),
        thisWeek: left(weeklyKillCap, claims.week),
      },
      openFlags: flags.map((flag) => ({ flagId: flag.flag_id, flagType: flag.flag_type, severity: flag.severity })),
      registeredAt: row.registered_at.toISOString(),
    };
  }
}
