import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import { EXAMPLE } from '../platform/http/openapi';
import { type HistoryItem } from './get-user-history/get-user-history.query';
import { type UserView } from './get-user/get-user.query';
import { type UserAsOfView } from './user-audit/user-status-as-of';
import { type LinkEpicAccountResult } from './link-epic-account/link-epic-account.command';
import { type LinkWalletResult } from './link-wallet/link-wallet.command';
import { type VerifyUserResult } from './verify-user/verify-user.command';
import { type VerifyWalletResult } from './verify-wallet/verify-wallet.command';

/*
 * The answers of the identity routes, as the OpenAPI document shows them (SPEC §5 shapes). These
 * classes describe only: nothing builds them. Each implements the type its handler returns, so a
 * field added there and forgotten here fails the type check.
 */

const POSITION = { description: 'The position of the last event appended, for `?minPosition=`; null when nothing was appended and the stream is empty.', type: String, nullable: true, example: '1234' } as const;

@ApiSchema({ name: 'RegisteredUser' })
export class RegisterUserResponse {
  @ApiProperty({ description: 'A UUID v5 of the Discord id: the same Discord id always gets the same user id.', format: 'uuid', example: EXAMPLE.userId })
  readonly userId!: string;

  @ApiProperty({ description: 'The position of the registration, for `?minPosition=`.', example: '1234' })
  readonly position!: string;
}

@ApiSchema({ name: 'EpicAccountLink' })
export class LinkEpicAccountResponse implements LinkEpicAccountResult {
  @ApiProperty({ format: 'uuid', example: EXAMPLE.userId })
  readonly userId!: string;

  @ApiProperty({ description: 'Lower-cased.', example: EXAMPLE.epicAccountId })
  readonly epicAccountId!: string;

  @ApiProperty({ description: 'The lifetime kills at link time: kills up to here are never paid.', type: 'integer', example: 1200 })
  readonly baselineKills!: number;

  @ApiProperty(POSITION)
  readonly position!: string | null;
}

@ApiSchema({ name: 'VerificationRecord' })
export class VerificationRecordResponse implements VerifyUserResult {
  @ApiProperty({ format: 'uuid', example: EXAMPLE.userId })
  readonly userId!: string;

  @ApiProperty({ description: '`yunite`, or `integration` for a direct link.', enum: ['yunite', 'integration'], example: 'yunite' })
  readonly source!: string;

  @ApiProperty({ description: 'A user is paid only while the last verification is `ok`.', enum: ['ok', 'no_epic_link', 'epic_changed', 'error'], example: 'ok' })
  readonly status!: string;

  @ApiProperty({ description: 'The Epic account Yunite named; null for `no_epic_link`.', type: String, nullable: true, example: EXAMPLE.epicAccountId })
  readonly epicAccountId!: string | null;

  @ApiProperty({ description: 'Why, for `error` (e.g. `epic_account_already_linked`, `stats_unavailable`) and `epic_changed` (the previous account).', type: String, nullable: true, example: null })
  readonly detail!: string | null;

  @ApiProperty({ format: 'date-time', example: EXAMPLE.time })
  readonly verifiedAt!: string;

  @ApiProperty(POSITION)
  readonly position!: string | null;
}

@ApiSchema({ name: 'WalletLink' })
export class LinkWalletResponse implements LinkWalletResult {
  @ApiProperty({ example: EXAMPLE.address })
  readonly address!: string;

  @ApiProperty({ description: 'Always true: the address is now the user\'s only primary wallet.', enum: [true], example: true })
  readonly primary!: true;

  @ApiProperty({ description: 'Whether a WalletVerified proof holds for this address.', example: false })
  readonly verified!: boolean;

  @ApiProperty(POSITION)
  readonly position!: string | null;
}

@ApiSchema({ name: 'WalletVerification' })
export class VerifyWalletResponse implements VerifyWalletResult {
  @ApiProperty({ example: EXAMPLE.address })
  readonly address!: string;

  @ApiProperty({ enum: [true], example: true })
  readonly verified!: true;

  @ApiProperty(POSITION)
  readonly position!: string | null;
}

@ApiSchema({ name: 'UserWallet' })
export class UserWalletResponse {
  @ApiProperty({ example: EXAMPLE.address })
  readonly address!: string;

  @ApiProperty({ description: 'A WalletVerified proof holds for this address.', example: true })
  readonly verified!: boolean;
}

@ApiSchema({ name: 'CapsRemaining' })
export class CapsRemainingResponse {
  @ApiProperty({ description: 'Kills still payable this UTC day.', type: 'integer', example: 138 })
  readonly today!: number;

  @ApiProperty({ description: 'Kills still payable this ISO week (from Monday 00:00 UTC).', type: 'integer', example: 738 })
  readonly thisWeek!: number;
}

@ApiSchema({ name: 'OpenAbuseFlag' })
export class OpenFlagResponse {
  @ApiProperty({ format: 'uuid', example: EXAMPLE.flagId })
  readonly flagId!: string;

  @ApiProperty({ enum: ['kill_rate_spike', 'impossible_delta', 'kills_decreased', 'shared_wallet'], example: 'kill_rate_spike' })
  readonly flagType!: string;

  @ApiProperty({ description: 'An open `high` flag stops settlement until an admin clears it.', enum: ['low', 'med', 'high'], example: 'med' })
  readonly severity!: string;
}

@ApiSchema({ name: 'User', description: 'A player as the users read model holds them (SPEC §5).' })
export class UserResponse implements UserView {
  @ApiProperty({ format: 'uuid', example: EXAMPLE.userId })
  readonly userId!: string;

  @ApiProperty({ example: EXAMPLE.discordUserId })
  readonly discordUserId!: string;

  @ApiProperty({ type: String, nullable: true, description: 'Null until an Epic account is linked.', example: EXAMPLE.epicAccountId })
  readonly epicAccountId!: string | null;

  @ApiProperty({ type: String, nullable: true, example: 'EU' })
  readonly regionCode!: string | null;

  @ApiProperty({ type: () => UserWalletResponse, nullable: true, description: 'The primary wallet; null until one is linked.' })
  readonly wallet!: UserWalletResponse | null;

  @ApiProperty({ type: String, nullable: true, enum: ['ok', 'no_epic_link', 'epic_changed', 'error'], description: 'The last verification\'s status; null before any.', example: 'ok' })
  readonly verificationStatus!: string | null;

  @ApiProperty({ description: 'Kills that sent payouts covered.', type: 'integer', example: 40 })
  readonly lastSettledKillCount!: number;

  @ApiProperty({ description: 'Kills accrued so far (a sum, not a lifetime count).', type: 'integer', example: 52 })
  readonly accruedKillCount!: number;

  @ApiProperty({ description: 'The lifetime count of the last observation; null before any.', type: 'integer', nullable: true, example: 1252 })
  readonly lastObservedKillCount!: number | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'When the last payout was sent; null before any.', example: EXAMPLE.time })
  readonly lastSettlementAt!: string | null;

  @ApiProperty({ description: '`accruedKillCount − lastSettledKillCount`.', type: 'integer', example: 12 })
  readonly unsettledKills!: number;

  @ApiProperty({ example: '60000000000000000000000000000' })
  readonly unsettledRaw!: string;

  @ApiProperty({ example: '0.60000000' })
  readonly unsettledBan!: string;

  @ApiProperty({ example: '200000000000000000000000000000' })
  readonly totalPaidRaw!: string;

  @ApiProperty({ example: '2.00000000' })
  readonly totalPaidBan!: string;

  @ApiProperty({ type: () => CapsRemainingResponse })
  readonly capsRemaining!: CapsRemainingResponse;

  @ApiProperty({ type: () => [OpenFlagResponse] })
  readonly openFlags!: OpenFlagResponse[];

  @ApiProperty({ format: 'date-time', example: EXAMPLE.time })
  readonly registeredAt!: string;
}

@ApiSchema({ name: 'EventActor' })
export class ActorResponse {
  @ApiProperty({ enum: ['integration', 'admin', 'system'], example: 'integration' })
  readonly kind!: string;

  @ApiProperty({ description: 'The API key\'s name, or the worker\'s.', example: 'discord-bot' })
  readonly name!: string;
}

@ApiSchema({ name: 'HistoryItem', description: 'One event of the user\'s stream, as stored.' })
export class HistoryItemResponse implements HistoryItem {
  @ApiProperty({ description: 'The event\'s position in `$all`.', example: '1234' })
  readonly position!: string;

  @ApiProperty({ description: 'The event\'s revision in its stream, from 0.', type: 'integer', example: 0 })
  readonly revision!: number;

  @ApiProperty({ description: 'The event type (SPEC §3).', example: 'UserRegistered' })
  readonly type!: string;

  @ApiProperty({
    description: 'The event\'s data, as appended.',
    type: 'object',
    additionalProperties: true,
    example: { userId: EXAMPLE.userId, regionCode: 'EU', registeredAt: EXAMPLE.time, discordUserId: EXAMPLE.discordUserId },
  })
  readonly data!: Readonly<Record<string, unknown>>;

  @ApiProperty({ description: 'The request id of the command that appended it.', example: 'discord-bot-4711' })
  readonly correlationId!: string;

  @ApiProperty({ type: String, nullable: true, example: null })
  readonly causationId!: string | null;

  @ApiProperty({ type: () => ActorResponse })
  readonly actor!: ActorResponse;

  @ApiProperty({ format: 'date-time', example: EXAMPLE.time })
  readonly recordedAt!: string;
}

@ApiSchema({ name: 'UserAsOf', description: 'A player as their events add up to at `?asOf=`, folded from the event store.' })
export class UserAsOfResponse extends UserResponse implements UserAsOfView {
  @ApiProperty({ format: 'date-time', description: 'The time the answer is for.', example: EXAMPLE.time })
  readonly asOf!: string;

  @ApiProperty({ description: 'The position in `$all` of the user\'s last event included.', example: '1234' })
  readonly position!: string;
}
