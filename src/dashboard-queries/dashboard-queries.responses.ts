import { ApiExtraModels, ApiProperty, ApiSchema, getSchemaPath } from '@nestjs/swagger';
import { EXAMPLE } from '../platform/http/openapi';
import { type FeedAccrualView, type FeedPayoutView, type FeedView, type GatewayMode } from './feed/feed.view';
import { LEADERBOARD_MEASURES, type LeaderboardEntryView, type LeaderboardMeasure, type LeaderboardView } from './leaderboard/leaderboard.view';

/*
 * The answers of the public dashboard routes, as the OpenAPI document shows them. These classes
 * describe only: nothing builds them. Each implements the type its handler returns, so a field
 * added there and forgotten here fails the type check.
 */

const DISPLAY_NAME = {
  description: 'The player as the public sees them: `••••` and the last 4 characters of their Discord id; the whole id only where the operator set DASHBOARD_SHOW_DISCORD_IDS=true.',
  example: '••••5678',
} as const;

const EXPLORER_BLOCK_URL = 'https://creeper.banano.cc/hash/';

const PLAYER_ID = {
  description:
    "The player's public id: stable for this deployment, the same on the leaderboard and in the feed, and not their user id, which anyone who knows their Discord id could derive.",
  example: '5f0c7a2e9b41d8c36e2a7f10b4d95c88',
} as const;

@ApiSchema({ name: 'LeaderboardEntry' })
export class LeaderboardEntryResponse implements LeaderboardEntryView {
  @ApiProperty({ description: '1-based position in the list.', type: 'integer', example: 1 })
  readonly rank!: number;

  @ApiProperty(PLAYER_ID)
  readonly playerId!: string;

  @ApiProperty(DISPLAY_NAME)
  readonly displayName!: string;

  @ApiProperty({ description: 'Every kill accrued to the player.', type: 'integer', example: 130 })
  readonly kills!: number;

  @ApiProperty({ description: 'Everything accrued to the player, paid or not.', example: '1300000000000000000000000000000' })
  readonly earnedRaw!: string;

  @ApiProperty({ example: '13.00000000' })
  readonly earnedBan!: string;

  @ApiProperty({ description: 'The total of the player\'s sent payouts.', example: '300000000000000000000000000000' })
  readonly paidRaw!: string;

  @ApiProperty({ example: '3.00000000' })
  readonly paidBan!: string;
}

@ApiSchema({ name: 'Leaderboard', description: 'The top players, from the users read model; players with nothing accrued are left out.' })
export class LeaderboardResponse implements LeaderboardView {
  @ApiProperty({ description: 'What the players are ranked by, highest first; ties by user id.', enum: LEADERBOARD_MEASURES, example: 'kills' })
  readonly by!: LeaderboardMeasure;

  @ApiProperty({ type: () => [LeaderboardEntryResponse] })
  readonly items!: LeaderboardEntryResponse[];
}

@ApiSchema({ name: 'FeedAccrual', description: 'An accrual: kills rewarded at the rate in force when it was recorded.' })
export class FeedAccrualResponse implements FeedAccrualView {
  @ApiProperty({ enum: ['accrual'], example: 'accrual' })
  readonly kind!: 'accrual';

  @ApiProperty({ description: 'When the accrual was recorded.', format: 'date-time', example: EXAMPLE.time })
  readonly at!: string;

  @ApiProperty(PLAYER_ID)
  readonly playerId!: string;

  @ApiProperty(DISPLAY_NAME)
  readonly displayName!: string;

  @ApiProperty({ description: "The accrual's public id, unique in the feed; not its accrual id, which is derived from the user id.", example: '0e9d31c4a87b25f6d1c0e4a3b2f79d18' })
  readonly accrualKey!: string;

  @ApiProperty({ type: 'integer', example: 12 })
  readonly kills!: number;

  @ApiProperty({ example: '120000000000000000000000000000' })
  readonly amountRaw!: string;

  @ApiProperty({ example: '1.20000000' })
  readonly amountBan!: string;
}

@ApiSchema({ name: 'FeedPayout', description: 'A payout of any status.' })
export class FeedPayoutResponse implements FeedPayoutView {
  @ApiProperty({ enum: ['payout'], example: 'payout' })
  readonly kind!: 'payout';

  @ApiProperty({ description: 'When the payout was sent; while it is not, when it was requested.', format: 'date-time', example: EXAMPLE.time })
  readonly at!: string;

  @ApiProperty(PLAYER_ID)
  readonly playerId!: string;

  @ApiProperty(DISPLAY_NAME)
  readonly displayName!: string;

  @ApiProperty({ format: 'uuid', example: EXAMPLE.payoutId })
  readonly payoutId!: string;

  @ApiProperty({ enum: ['pending', 'sent', 'failed', 'cancelled'], example: 'sent' })
  readonly status!: string;

  @ApiProperty({ type: 'integer', example: 30 })
  readonly kills!: number;

  @ApiProperty({ example: '300000000000000000000000000000' })
  readonly amountRaw!: string;

  @ApiProperty({ example: '3.00000000' })
  readonly amountBan!: string;

  @ApiProperty({ type: String, nullable: true, description: 'The send block\'s hash once sent (`dryrun-<payoutId>` in dry-run); null before.', example: EXAMPLE.blockHash })
  readonly blockHash!: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'The block on the explorer (BANANO_EXPLORER_BLOCK_URL followed by the hash): live blocks only; null for a dry-run payout or one not sent yet.',
    example: `${EXPLORER_BLOCK_URL}${EXAMPLE.blockHash}`,
  })
  readonly blockUrl!: string | null;

  @ApiProperty({ description: 'Paid (or to be paid) by the dry-run gateway: no block on any chain.', example: false })
  readonly dryRun!: boolean;
}

/** Both kinds, newest first, as an example: a payout usually follows the accruals it covers. */
const FEED_EXAMPLE: ReadonlyArray<FeedPayoutView | FeedAccrualView> = [
  {
    kind: 'payout',
    at: '2026-01-15T18:50:00.000Z',
    playerId: PLAYER_ID.example,
    displayName: DISPLAY_NAME.example,
    payoutId: EXAMPLE.payoutId,
    status: 'sent',
    kills: 30,
    amountRaw: '300000000000000000000000000000',
    amountBan: '3.00000000',
    blockHash: EXAMPLE.blockHash,
    blockUrl: `${EXPLORER_BLOCK_URL}${EXAMPLE.blockHash}`,
    dryRun: false,
  },
  {
    kind: 'accrual',
    at: EXAMPLE.time,
    playerId: PLAYER_ID.example,
    displayName: DISPLAY_NAME.example,
    accrualKey: '0e9d31c4a87b25f6d1c0e4a3b2f79d18',
    kills: 12,
    amountRaw: '120000000000000000000000000000',
    amountBan: '1.20000000',
  },
];

@ApiSchema({ name: 'Feed', description: 'The newest accruals and payouts, from the read models.' })
@ApiExtraModels(FeedPayoutResponse, FeedAccrualResponse)
export class FeedResponse implements FeedView {
  @ApiProperty({ description: '`live` when the service pays through a Banano node (BANANO_RPC_URL set), else `dry-run`.', enum: ['dry-run', 'live'], example: 'live' })
  readonly gateway!: GatewayMode;

  @ApiProperty({
    description: 'Accruals and payouts, newest first; `kind` tells them apart.',
    type: 'array',
    items: { oneOf: [{ $ref: getSchemaPath(FeedPayoutResponse) }, { $ref: getSchemaPath(FeedAccrualResponse) }] },
    example: FEED_EXAMPLE,
  })
  readonly items!: Array<FeedPayoutResponse | FeedAccrualResponse>;
}
