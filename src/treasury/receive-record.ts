import { v5 as uuidv5 } from 'uuid';
import { type Actor, type EventMetadata, type EventStore, type NewEvent, WrongExpectedRevisionError } from '../platform/event-store/event-store.port';
import { milestonesDue, type MilestoneTier } from '../rewards/economics/rate';
import { type DonationsElsewhere } from '../payouts/operator/operator-accounts';
import {
  type DonationReceived,
  type FundingReceived,
  type MilestoneReached,
  OPERATOR_EVENT_SCHEMA_VERSION,
  operatorStream,
  type OperatorState,
  type ReceiveRecordedData,
} from '../payouts/operator/operator.events';

/** Namespace of the ids of DonationReceived / FundingReceived: one id per send block hash. */
const RECEIVED_EVENT_NAMESPACE = '0d5e6a1c-93f4-4b7e-8c21-5f0a9e3d7b64';
/** Namespace of the ids of MilestoneReached: one id per operator account and threshold. */
const MILESTONE_EVENT_NAMESPACE = '6f1c2b8e-4d7a-4e35-9b0c-2a8e5d3f71c9';

/**
 * How a received send is recorded, by the ingester and the donations rebuild alike.
 *
 * Its kind: FundingReceived when it comes from a funding address (treasury.fundingAddresses), from
 * the receiving operator account itself or from an account a former seed named, DonationReceived
 * otherwise. The operator's own send comes back to it when a player linked the operator's address
 * as their wallet and was paid there, and a former account's balance is moved to the new one after
 * a seed change: that is the operator's money, and counted as a donation it would move the
 * milestones and the sustainability factor of every player's rate.
 *
 * `returned`, to spread into the event's data: the payout the send is, when its sender is an
 * operator account (the receiving one or another) that signed it as a payout block, a payout to a
 * player whose wallet is an operator account, come back to the operator; empty for any other send.
 */
export function classifyReceive(
  send: { readonly hash: string; readonly sender: string },
  receiving: { readonly address: string; readonly operator: OperatorState },
  elsewhere: DonationsElsewhere,
  fundingAddresses: ReadonlySet<string>,
): { readonly kind: 'DonationReceived' | 'FundingReceived'; readonly returned: { readonly returnedPayoutId?: string } } {
  const { hash, sender } = send;
  const ownAccount = sender === receiving.address;
  if (!ownAccount && !elsewhere.addresses.has(sender) && !fundingAddresses.has(sender)) return { kind: 'DonationReceived', returned: {} };
  const returnedPayoutId = (ownAccount ? receiving.operator.payoutOfBlock : elsewhere.payoutOfBlockBy.get(sender))?.get(hash);
  return { kind: 'FundingReceived', returned: returnedPayoutId === undefined ? {} : { returnedPayoutId } };
}

/**
 * The events that record one received send: DonationReceived (or FundingReceived when the sender is
 * a funding address), then a MilestoneReached for each tier the new donated total reaches first.
 * They go in one append, so a tier is recorded with the donation that reached it or not at all.
 * The total and the tiers reached are those of every operator account the seed has named
 * (`elsewhere` for the others), so a new seed reaches no tier a second time.
 */
export function receiveRecordEvents(input: {
  readonly address: string;
  readonly operator: OperatorState;
  readonly elsewhere: DonationsElsewhere;
  readonly kind: 'DonationReceived' | 'FundingReceived';
  readonly data: ReceiveRecordedData;
  readonly tiers: readonly MilestoneTier[];
  readonly actor: Actor;
  readonly correlationId: string;
}): NewEvent[] {
  const metadata: EventMetadata = {
    correlationId: input.correlationId,
    causationId: input.data.sendHash,
    actor: input.actor,
    schemaVersion: OPERATOR_EVENT_SCHEMA_VERSION,
  };
  const received: DonationReceived | FundingReceived = { type: input.kind, data: input.data };
  const events: NewEvent[] = [{ id: uuidv5(input.data.sendHash, RECEIVED_EVENT_NAMESPACE), type: received.type, data: received.data, metadata }];
  if (input.kind !== 'DonationReceived') return events;
  const totalDonatedRaw = input.elsewhere.donatedRaw + input.operator.donatedRaw + BigInt(input.data.amountRaw);
  const reachedRaw = new Set([...input.elsewhere.milestonesReachedRaw, ...input.operator.milestonesReachedRaw]);
  for (const tier of milestonesDue(totalDonatedRaw, reachedRaw, input.tiers)) {
    const reached: MilestoneReached = {
      type: 'MilestoneReached',
      data: {
        thresholdRaw: tier.thresholdRaw.toString(),
        multiplier: tier.multiplier,
        name: tier.name,
        totalDonatedRaw: totalDonatedRaw.toString(),
        sendHash: input.data.sendHash,
        reachedAt: input.data.receivedAt,
      },
    };
    const id = uuidv5(`${input.address}:${tier.thresholdRaw.toString()}`, MILESTONE_EVENT_NAMESPACE);
    events.push({ id, type: reached.type, data: reached.data, metadata });
  }
  return events;
}

/**
 * Appends the record of one received send with the revision `operator` was read at. False when
 * another writer moved the stream first: nothing was appended, and the caller reads it again.
 */
export async function appendReceiveRecord(
  store: EventStore,
  address: string,
  operator: OperatorState,
  events: readonly NewEvent[],
): Promise<boolean> {
  try {
    await store.appendToStream(operatorStream(address), events, { expectedRevision: operator.revision ?? 'no_stream' });
    return true;
  } catch (error) {
    if (error instanceof WrongExpectedRevisionError) return false;
    throw error;
  }
}
