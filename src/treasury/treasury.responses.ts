import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import { EXAMPLE } from '../platform/http/openapi';
import { type DonationsView, type DonorView, type MilestoneView } from './donations/donations.view';
import { type DonationRebuildReport } from './rebuild-donations/rebuild-donations.command';
import { type Difference, type DifferenceKind, type EventRef, type ReconciliationReport } from './reconciliation/reconciliation';

/*
 * The answers of the treasury routes, as the OpenAPI document shows them. These classes describe
 * only: nothing builds them. Each implements the type its handler returns, so a field added there
 * and forgotten here fails the type check.
 */

@ApiSchema({ name: 'Milestone' })
export class MilestoneResponse implements MilestoneView {
  @ApiProperty({ description: 'Total donated at which the tier is reached.', example: '10000000000000000000000000000000' })
  readonly thresholdRaw!: string;

  @ApiProperty({ example: '100.00000000' })
  readonly thresholdBan!: string;

  @ApiProperty({ description: 'The per-kill rate\'s multiplier in this tier.', example: '1.05' })
  readonly multiplier!: string;

  @ApiProperty({ example: 'First Blood' })
  readonly name!: string;

  @ApiProperty({ example: true })
  readonly reached!: boolean;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'When MilestoneReached was recorded; null for the 0 tier and tiers not reached.', example: EXAMPLE.time })
  readonly reachedAt!: string | null;
}

@ApiSchema({ name: 'NextMilestone' })
export class NextMilestoneResponse extends MilestoneResponse {
  @ApiProperty({ description: 'What is still to donate to reach it.', example: '39000000000000000000000000000000' })
  readonly remainingRaw!: string;

  @ApiProperty({ example: '390.00000000' })
  readonly remainingBan!: string;
}

@ApiSchema({ name: 'Donor' })
export class DonorResponse implements DonorView {
  @ApiProperty({ example: EXAMPLE.address })
  readonly address!: string;

  @ApiProperty({ example: '11000000000000000000000000000000' })
  readonly totalRaw!: string;

  @ApiProperty({ example: '110.00000000' })
  readonly totalBan!: string;

  @ApiProperty({ type: 'integer', example: 2 })
  readonly donationCount!: number;

  @ApiProperty({ format: 'date-time', example: EXAMPLE.time })
  readonly lastDonationAt!: string;
}

@ApiSchema({ name: 'Donations', description: 'Donations, milestones and the per-kill rate in force (SPEC §4.5), from the read models.' })
export class DonationsResponse implements DonationsView {
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Where to donate: the operator account, derived from the operator seed in force; null while none is configured. Public, as it is on the chain; nothing else about the seed is ever shown.',
    example: EXAMPLE.address,
  })
  readonly operatorAddress!: string | null;

  @ApiProperty({ example: '11000000000000000000000000000000' })
  readonly totalDonatedRaw!: string;

  @ApiProperty({ example: '110.00000000' })
  readonly totalDonatedBan!: string;

  @ApiProperty({ type: 'integer', example: 2 })
  readonly donationCount!: number;

  @ApiProperty({ type: 'integer', example: 1 })
  readonly donorCount!: number;

  @ApiProperty({
    description:
      "Operator funding, never counted as donations: sends from the treasury's funding addresses, and payouts to an operator account that came back. " +
      'BAN moved from another operator account are not counted: they were counted when they first came in.',
    example: '0',
  })
  readonly totalFundingRaw!: string;

  @ApiProperty({ example: '0.00000000' })
  readonly totalFundingBan!: string;

  @ApiProperty({ example: '1000000000000000000000000000000000' })
  readonly goalRaw!: string;

  @ApiProperty({ example: '10000.00000000' })
  readonly goalBan!: string;

  @ApiProperty({ description: 'min(total / goal, 1), 4 decimals, rounded down.', example: '0.0110' })
  readonly progress!: string;

  @ApiProperty({ type: () => MilestoneResponse, description: 'The highest tier reached.' })
  readonly currentMilestone!: MilestoneResponse;

  @ApiProperty({ type: () => NextMilestoneResponse, nullable: true, description: 'The next tier; null once the last is reached.' })
  readonly nextMilestone!: NextMilestoneResponse | null;

  @ApiProperty({ type: () => [MilestoneResponse], description: 'The whole ladder, lowest first.' })
  readonly milestones!: MilestoneResponse[];

  @ApiProperty({ description: 'The current tier\'s multiplier.', example: '1.05' })
  readonly multiplier!: string;

  @ApiProperty({ description: 'clamp((seedFund + donated) / paidOut, 0.1, 2.0), 4 decimals; 2.0 before any payout.', example: '2.0000' })
  readonly sustainabilityFactor!: string;

  @ApiProperty({ example: '5000000000000000000000000000' })
  readonly baseRatePerKillRaw!: string;

  @ApiProperty({ example: '0.05000000' })
  readonly baseRatePerKillBan!: string;

  @ApiProperty({ description: 'floor8(base × multiplier × sustainability factor): what the next kill accrues.', example: '10500000000000000000000000000' })
  readonly effectiveRatePerKillRaw!: string;

  @ApiProperty({ example: '0.10500000' })
  readonly effectiveRatePerKillBan!: string;

  @ApiProperty({ type: () => [DonorResponse], description: 'The 50 largest donors by total.' })
  readonly topDonors!: DonorResponse[];
}

@ApiSchema({ name: 'DonationsAppended' })
export class DonationsAppendedResponse {
  @ApiProperty({ type: 'integer', example: 1 })
  readonly donations!: number;

  @ApiProperty({ type: 'integer', example: 0 })
  readonly funding!: number;

  @ApiProperty({ type: 'integer', example: 1 })
  readonly milestones!: number;
}

@ApiSchema({ name: 'DonationRebuild', description: '`receivesFound = alreadyRecorded + appended.donations + appended.funding`.' })
export class DonationRebuildResponse implements DonationRebuildReport {
  @ApiProperty({ example: EXAMPLE.address })
  readonly operatorAddress!: string;

  @ApiProperty({ description: 'Blocks of the operator\'s chain read, of every kind.', type: 'integer', example: 42 })
  readonly blocksScanned!: number;

  @ApiProperty({ description: 'Receive blocks among them, the opening block included.', type: 'integer', example: 8 })
  readonly receivesFound!: number;

  @ApiProperty({ description: 'Receives whose send the operator stream already recorded.', type: 'integer', example: 7 })
  readonly alreadyRecorded!: number;

  @ApiProperty({ type: () => DonationsAppendedResponse })
  readonly appended!: DonationsAppendedResponse;

  @ApiProperty({ type: [String], description: 'The send hashes of the receives appended now, in chain order.', example: [EXAMPLE.blockHash] })
  readonly appendedSendHashes!: string[];
}

@ApiSchema({ name: 'EventRef', description: 'A recorded event, enough to find it in the store again.' })
export class EventRefResponse implements EventRef {
  @ApiProperty({ example: `operator-${EXAMPLE.address}` })
  readonly streamName!: string;

  @ApiProperty({ type: 'integer', example: 3 })
  readonly revision!: number;

  @ApiProperty({ example: 'PayoutBlockSigned' })
  readonly type!: string;

  @ApiProperty({ format: 'uuid', example: EXAMPLE.eventId })
  readonly eventId!: string;
}

const DIFFERENCE_KINDS: readonly DifferenceKind[] = [
  'receivable_not_pocketed',
  'recorded_receive_not_on_chain',
  'unknown_block',
  'payout_signed_unconfirmed',
  'payout_sent_not_on_chain',
  'amount_mismatch',
  'destination_mismatch',
  'balance_mismatch',
  'frontier_mismatch',
  'read_model_mismatch',
  'read_model_behind',
];

@ApiSchema({ name: 'ReconciliationDifference' })
export class DifferenceResponse implements Difference {
  @ApiProperty({ enum: DIFFERENCE_KINDS, example: 'payout_signed_unconfirmed' })
  readonly kind!: DifferenceKind;

  @ApiProperty({ example: `Payout ${EXAMPLE.payoutId} has a signed block the node does not have yet` })
  readonly message!: string;

  @ApiProperty({ required: false, example: EXAMPLE.blockHash })
  readonly blockHash?: string;

  @ApiProperty({ required: false, description: 'Signed for `balance_mismatch`: what the chain holds minus what the ledger says.', example: '120000000000000000000000000000' })
  readonly amountRaw?: string;

  @ApiProperty({ required: false, example: '1.20000000' })
  readonly amountBan?: string;

  @ApiProperty({ required: false, description: '`payout_signed_unconfirmed`: whether the signed block is on the operator\'s chain.', example: false })
  readonly onChain?: boolean;

  @ApiProperty({ type: () => [EventRefResponse], description: 'The events the difference concerns; empty when the ledger has none (an unknown block).' })
  readonly events!: EventRefResponse[];
}

@ApiSchema({ name: 'LedgerWallet' })
export class LedgerWalletResponse {
  @ApiProperty({ example: '9998000000000000000000000000000000' })
  readonly balanceRaw!: string;

  @ApiProperty({ example: '99980.00000000' })
  readonly balanceBan!: string;

  @ApiProperty({ type: String, nullable: true, description: 'The last block the ledger counts.', example: EXAMPLE.blockHash })
  readonly frontier!: string | null;
}

@ApiSchema({ name: 'ChainWallet' })
export class ChainWalletResponse extends LedgerWalletResponse {
  @ApiProperty({ example: '0' })
  readonly receivableRaw!: string;

  @ApiProperty({ example: '0.00000000' })
  readonly receivableBan!: string;
}

@ApiSchema({ name: 'Reconciliation', description: 'The operator wallet as the events count it, against the chain.' })
export class ReconciliationResponse implements ReconciliationReport {
  @ApiProperty({ enum: ['live', 'dry-run'], example: 'live' })
  readonly mode!: 'live' | 'dry-run';

  @ApiProperty({ type: String, nullable: true, description: 'Null in dry-run.', example: EXAMPLE.address })
  readonly operatorAddress!: string | null;

  @ApiProperty({ format: 'date-time', example: EXAMPLE.time })
  readonly checkedAt!: string;

  @ApiProperty({ description: 'True only when `differences` is empty.', example: false })
  readonly inBalance!: boolean;

  @ApiProperty({ type: () => LedgerWalletResponse, description: 'The operator wallet as the events count it.' })
  readonly ledger!: LedgerWalletResponse;

  @ApiProperty({ type: () => ChainWalletResponse, description: 'What the node says; in dry-run, the simulated balance settlement plans against, with nothing receivable and no frontier.' })
  readonly chain!: ChainWalletResponse;

  @ApiProperty({ type: () => [DifferenceResponse] })
  readonly differences!: DifferenceResponse[];
}
