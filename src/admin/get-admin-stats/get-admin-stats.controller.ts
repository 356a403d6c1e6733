import { Controller, Get, Inject, Query } from '@nestjs/common';
import { type DatabasePool, sql } from 'slonik';
import { z } from 'zod';
import { BANANO_GATEWAY, type BananoGateway } from '../../payouts/banano/banano-gateway';
import { LEDGER_CONFIG, type LedgerConfig } from '../../platform/config/config';
import { DATABASE_POOL } from '../../platform/database/database';
import { EVENT_STORE, type EventStore } from '../../platform/event-store/event-store.port';
import { minPositionOf, MinPositionQueryDto } from '../../platform/http/paging';
import { formatBan, moneyPair } from '../../platform/money';
import { awaitReadModels } from '../../platform/read-models/checkpoints';
import { RequiresScope } from '../../security/access';
import { FaucetSettings } from '../faucet-config/faucet-settings';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiSuccessExample } from '../../platform/http/openapi';

const countsRow = z.object({
  users_registered: z.bigint(),
  users_linked: z.bigint(),
  users_with_wallet: z.bigint(),
  accrued_raw: z.string(),
  paid_raw: z.string(),
  unsettled_kills: z.bigint(),
  accrual_count: z.bigint(),
  accrued_kills: z.bigint(),
  flags_open: z.bigint(),
  flags_open_high: z.bigint(),
  donated_raw: z.string(),
  donation_count: z.bigint(),
  funded_raw: z.string(),
  donor_count: z.bigint(),
});

const payoutStatusRow = z.object({ status: z.string(), payouts: z.bigint(), kills: z.bigint(), amount_raw: z.string() });

const PAYOUT_STATUSES = ['pending', 'sent', 'failed', 'cancelled'] as const;

/** A whole answer, for the OpenAPI document. */
const STATS_EXAMPLE = {
  gateway: 'live',
  config: {
    payout: {
      banPerKillRaw: '5000000000000000000000000000',
      banPerKillBan: '0.05000000',
      dailyKillCap: 150,
      weeklyKillCap: 750,
      minOperatorBalanceRaw: '5000000000000000000000000000000',
      minOperatorBalanceBan: '50.00000000',
      requireVerifiedWallet: false,
      maxAttempts: 5,
    },
    scheduler: { settlementIntervalSeconds: 1200, settlementBatchSize: 0 },
    lastChange: { type: 'PayoutConfigChanged', at: '2026-01-15T18:30:00.000Z', actor: 'ops', position: '1234' },
  },
  users: { registered: 120, linked: 97, withWallet: 88 },
  accruals: {
    count: 431,
    kills: 5120,
    accruedRaw: '512000000000000000000000000000000',
    accruedBan: '5120.00000000',
    unsettledKills: 640,
    unsettledRaw: '64000000000000000000000000000000',
    unsettledBan: '640.00000000',
  },
  payouts: Object.fromEntries(
    (['pending', 'sent', 'failed', 'cancelled'] as const).map((status) => [
      status,
      status === 'sent'
        ? { count: 75, kills: 4480, amountRaw: '448000000000000000000000000000000', amountBan: '4480.00000000' }
        : { count: 0, kills: 0, amountRaw: '0', amountBan: '0.00000000' },
    ]),
  ),
  donations: { count: 12, donors: 9, donatedRaw: '61000000000000000000000000000000', donatedBan: '610.00000000', fundedRaw: '10000000000000000000000000000000000', fundedBan: '100000.00000000' },
  abuseFlags: { open: 2, openHigh: 1 },
};

/** The read models the counts come from; `?minPosition=` waits for each. */
const READ_MODELS = ['users', 'wallet_links', 'reward_accruals', 'abuse_flags', 'payouts', 'treasury'] as const;

/**
 * The operator's overview (SPEC §5 `GET /v1/admin/stats`): the settings in force (read from the
 * faucet-config stream, so a change shows at once) and the ledger's totals (from the read models).
 */
@ApiTags('admin')
@RequiresScope('admin')
@Controller('v1/admin/stats')
export class GetAdminStatsController {
  constructor(
    @Inject(DATABASE_POOL) private readonly pool: DatabasePool,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    @Inject(BANANO_GATEWAY) private readonly banano: BananoGateway | null,
    private readonly settings: FaucetSettings,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  @ApiOperation({
    summary: 'The settings in force and the ledger\'s totals',
    description:
      'The payout and scheduler settings in force (read from the faucet-config stream, so a change shows at once), the gateway mode, and totals from the read models: ' +
      'users, accruals, payouts by status, donations and open abuse flags.',
  })
  @ApiSuccessExample(200, 'The overview', STATS_EXAMPLE, {
    gateway: '`dry-run` or `live`.',
    'config.lastChange': { nullable: true, description: 'The last admin change of the settings `{type, at, actor, position}`; null before any.' },
    'config.scheduler.settlementIntervalSeconds': '0: only on an admin trigger.',
    'config.scheduler.settlementBatchSize': '0: all eligible users.',
    payouts: 'By status: pending, sent, failed, cancelled.',
  })
  @Get()
  async stats(@Query() query: MinPositionQueryDto): Promise<Record<string, unknown>> {
    await awaitReadModels(this.pool, this.store, READ_MODELS, minPositionOf(query), this.config.http.minPositionWaitMs);
    const [settings, counts, byStatus] = await Promise.all([
      this.settings.current(),
      this.pool.one(sql.type(countsRow)`
        SELECT (SELECT count(*) FROM users)::bigint AS users_registered,
               (SELECT count(*) FROM users WHERE epic_account_id IS NOT NULL)::bigint AS users_linked,
               (SELECT count(*) FROM wallet_links WHERE is_primary)::bigint AS users_with_wallet,
               (SELECT coalesce(sum(accrued_raw), 0) FROM users)::text AS accrued_raw,
               (SELECT coalesce(sum(settled_raw), 0) FROM users)::text AS paid_raw,
               (SELECT coalesce(sum(accrued_kill_count - last_settled_kill_count), 0) FROM users)::bigint AS unsettled_kills,
               (SELECT count(*) FROM reward_accruals)::bigint AS accrual_count,
               (SELECT coalesce(sum(kills), 0) FROM reward_accruals)::bigint AS accrued_kills,
               (SELECT count(*) FROM abuse_flags WHERE status = 'open')::bigint AS flags_open,
               (SELECT count(*) FROM abuse_flags WHERE status = 'open' AND severity = 'high')::bigint AS flags_open_high,
               coalesce((SELECT amount_raw FROM treasury_totals WHERE total_name = 'donated'), 0)::text AS donated_raw,
               coalesce((SELECT entry_count FROM treasury_totals WHERE total_name = 'donated'), 0)::bigint AS donation_count,
               coalesce((SELECT amount_raw FROM treasury_totals WHERE total_name = 'funded'), 0)::text AS funded_raw,
               (SELECT count(*) FROM donor_totals)::bigint AS donor_count`),
      this.pool.any(sql.type(payoutStatusRow)`
        SELECT status, count(*)::bigint AS payouts, coalesce(sum(kills), 0)::bigint AS kills, coalesce(sum(amount_raw), 0)::text AS amount_raw
          FROM payouts GROUP BY status`),
    ]);
    const accrued = BigInt(counts.accrued_raw);
    const paid = BigInt(counts.paid_raw);
    const payout = settings.payout;
    return {
      gateway: this.banano === null ? 'dry-run' : 'live',
      config: {
        payout: {
          banPerKillRaw: payout.banPerKillRaw.toString(),
          banPerKillBan: formatBan(payout.banPerKillRaw),
          dailyKillCap: payout.dailyKillCap,
          weeklyKillCap: payout.weeklyKillCap,
          minOperatorBalanceRaw: payout.minOperatorBalanceRaw.toString(),
          minOperatorBalanceBan: formatBan(payout.minOperatorBalanceRaw),
          requireVerifiedWallet: this.config.payout.requireVerifiedWallet,
          maxAttempts: this.config.payout.maxAttempts,
        },
        scheduler: settings.scheduler,
        lastChange: settings.lastChange,
      },
      users: { registered: Number(counts.users_registered), linked: Number(counts.users_linked), withWallet: Number(counts.users_with_wallet) },
      accruals: {
        count: Number(counts.accrual_count),
        kills: Number(counts.accrued_kills),
        ...pair('accrued', accrued),
        unsettledKills: Number(counts.unsettled_kills),
        ...pair('unsettled', accrued - paid),
      },
      payouts: Object.fromEntries(
        PAYOUT_STATUSES.map((status) => {
          const row = byStatus.find((candidate) => candidate.status === status);
          return [status, { count: Number(row?.payouts ?? 0n), kills: Number(row?.kills ?? 0n), ...pair('amount', BigInt(row?.amount_raw ?? '0')) }];
        }),
      ),
      donations: {
        count: Number(counts.donation_count),
        donors: Number(counts.donor_count),
        ...pair('donated', BigInt(counts.donated_raw)),
        ...pair('funded', BigInt(counts.funded_raw)),
      },
      abuseFlags: { open: Number(counts.flags_open), openHigh: Number(counts.flags_open_high) },
    };
  }
}

/** `{<name>Raw, <name>Ban}`: amounts go out in pairs (SPEC §5). */
function pair(name: string, raw: bigint): Record<string, string> {
  const { raw: rawText, ban } = moneyPair(raw);
  return { [`${name}Raw`]: rawText, [`${name}Ban`]: ban };
}
