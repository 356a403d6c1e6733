import { type DatabaseTransactionConnection, sql } from 'slonik';
import { z } from 'zod';
import { decodeUserEvent, type UserEvent } from '../../src/identity/user/user.events';
import { decodeOperatorEvent, type OperatorEvent } from '../../src/payouts/operator/operator.events';
import { categoryOf, type RecordedEvent } from '../../src/platform/event-store/event-store.port';
import { formatBan } from '../../src/platform/money';
import { type Projection } from '../runtime/projection';
import { operatorTransfers } from '../runtime/operator-transfers';
import { inRounds } from '../runtime/user-stream-projection';

/**
 * `journal_entries` and `journal_postings`: the double-entry journal of every raw the faucet owes,
 * claims, pays and receives. Each event that moves money is booked as one entry (its id is the
 * event's id) of signed postings, debit positive and credit negative, that sum to zero.
 *
 * Chart of accounts (normal balance in brackets):
 * - `asset:operator_wallet` [debit]: the BAN the operator accounts hold, as far as the events tell
 *   (every account a seed has named, together).
 *   It has no opening balance: what the account held before its first recorded receive (and the
 *   simulated balance of a dry run) is not an event, so the balance can be negative.
 * - `expense:rewards` [debit]: every reward accrued to players, the cost of the faucet.
 * - `liability:payable:<userId>` [credit]: accrued to the user and not claimed by a payout yet.
 * - `liability:in_flight:<userId>` [credit]: claimed by a requested payout, not sent yet (also
 *   while the payout is failed, since it keeps its claim until an admin cancels it).
 * - `equity:donations` [credit]: donations received (DonationReceived).
 * - `equity:funding` [credit]: operator funding received (FundingReceived).
 *
 * Booking rules (Dr account / Cr account):
 * - AccrualRecorded: Dr expense:rewards / Cr liability:payable:<user>, the accrual's amount.
 * - PayoutRequested: Dr liability:payable:<user> / Cr liability:in_flight:<user>, the payout's amount.
 * - PayoutSent: Dr liability:in_flight:<user> / Cr asset:operator_wallet, the amount of the claim
 *   booked for the payout.
 * - PayoutCancelled: a reversal of the payout's claim: its postings negated, in a new entry that
 *   names the claim's entry (reverses_entry_id). The claim's entry stays as it was.
 * - DonationReceived: Dr asset:operator_wallet / Cr equity:donations.
 * - FundingReceived: Dr asset:operator_wallet / Cr equity:funding. From another account of the
 *   operator (projections/runtime/operator-transfers.ts) it is a transfer between the operator's own
 *   accounts: Dr asset:operator_wallet / Cr asset:operator_wallet, an entry that moves nothing, since
 *   the BAN were booked when they first came in.
 * - Every other event books nothing, and so does an event whose amount is zero.
 *
 * So, at any position: wallet = donations + funding − sent, and for each user accrued = payable +
 * in flight + paid.
 *
 * A replayed event finds its entry (ON CONFLICT on the event id) and writes nothing; the entries and
 * their postings go in one statement, so neither exists without the other.
 */

const OPERATOR_WALLET = 'asset:operator_wallet';
const REWARDS_EXPENSE = 'expense:rewards';
const DONATIONS_EQUITY = 'equity:donations';
const FUNDING_EQUITY = 'equity:funding';
const payableAccount = (userId: string): string => `liability:payable:${userId}`;
const inFlightAccount = (userId: string): string => `liability:in_flight:${userId}`;

interface EntryHeader {
  readonly userId: string | null;
  readonly payoutId: string | null;
  readonly occurredAt: string;
  readonly description: string;
}

type Decoded =
  | { readonly category: 'user'; readonly event: UserEvent; readonly recorded: RecordedEvent }
  | { readonly category: 'operator'; readonly event: OperatorEvent; readonly recorded: RecordedEvent };

/** One entry of two postings: `amountRaw` from `credit` to `debit`. */
interface Transfer {
  readonly recorded: RecordedEvent;
  readonly header: EntryHeader;
  readonly debit: string;
  readonly credit: string;
  readonly amountRaw: bigint;
}

/** A new entry whose postings are those of `reversedEntryId`, negated. */
interface Reversal {
  readonly recorded: RecordedEvent;
  readonly reversedEntryId: string;
  readonly header: EntryHeader;
}

/**
 * A batch is booked round by round (projections/runtime/user-stream-projection.ts, inRounds): a
 * round holds at most one event per stream, and events of different streams book into different
 * entries (a user's payable and in-flight accounts are that user's; the operator wallet and the
 * equity accounts are only ever added to), so a round is booked with one statement for its
 * transfers and one for its reversals. A payout's claim is booked in an earlier round or batch
 * than its send or cancellation, which come later in the same user stream.
 */
export const journalProjection: Projection = {
  name: 'journal',
  filter: { kind: 'category', categories: ['user', 'operator'] },
  tables: ['journal_entries', 'journal_postings', 'journal_operator_accounts'],
  async apply(transaction, events) {
    const transfers = await operatorTransfers(transaction, 'journal_operator_accounts', events);
    const decoded: Decoded[] = [];
    for (const recorded of events) {
      const category = categoryOf(recorded.streamName);
      if (category === 'user') {
        const event = decodeUserEvent(recorded.type, recorded.data);
        if (event !== null) decoded.push({ category, event, recorded });
      } else if (category === 'operator') {
        const event = decodeOperatorEvent(recorded.type, recorded.data);
        if (event !== null) decoded.push({ category, event, recorded });
      }
    }
    for (const round of inRounds(decoded, (item) => item.recorded.streamName)) await bookRound(transaction, round, transfers);
  },
};

/** `operatorTransfers` are the ids of the FundingReceived events that record a transfer between the operator's accounts. */
async function bookRound(transaction: DatabaseTransactionConnection, round: readonly Decoded[], operatorTransfers: ReadonlySet<string>): Promise<void> {
  const transfers: Transfer[] = [];
  const reversals: Reversal[] = [];
  const settlements: Array<{ readonly recorded: RecordedEvent; readonly event: UserEvent & { readonly type: 'PayoutSent' | 'PayoutCancelled' } }> = [];
  for (const item of round) {
    if (item.category === 'operator') {
      const transfer = operatorTransfer(item.event, item.recorded, operatorTransfers.has(item.recorded.id));
      if (transfer !== null) transfers.push(transfer);
      continue;
    }
    const { event, recorded } = item;
    if (event.type === 'PayoutSent' || event.type === 'PayoutCancelled') settlements.push({ recorded, event });
    else {
      const transfer = userTransfer(event, recorded);
      if (transfer !== null) transfers.push(transfer);
    }
  }
  if (settlements.length > 0) {
    const claims = await claimsOf(transaction, settlements.map(({ event }) => event.data.payoutId));
    for (const { event, recorded } of settlements) {
      const claim = checkedClaim(claims, event.data.payoutId, event.data.userId, BigInt(event.data.amountRaw));
      if (event.type === 'PayoutSent') {
        // The wallet pays what the claim moved into flight: the amount comes from the books, and the
        // event's own copy of it must agree.
        const sent = event.data;
        transfers.push({
          recorded,
          header: {
            userId: sent.userId,
            payoutId: sent.payoutId,
            occurredAt: sent.sentAt,
            description: `Payout ${sent.payoutId} sent, ${formatBan(claim.amountRaw)} BAN, in block ${sent.blockHash}`,
          },
          debit: inFlightAccount(sent.userId),
          credit: OPERATOR_WALLET,
          amountRaw: claim.amountRaw,
        });
      } else {
        const cancelled = event.data;
        reversals.push({
          recorded,
          reversedEntryId: claim.entryId,
          header: {
            userId: cancelled.userId,
            payoutId: cancelled.payoutId,
            occurredAt: cancelled.cancelledAt,
            description: `Reversal of the claim of payout ${cancelled.payoutId}, ${formatBan(claim.amountRaw)} BAN: ${cancelled.reason}`,
          },
        });
      }
    }
  }
  await bookTransfers(transaction, transfers);
  await bookReversals(transaction, reversals);
}

/** The transfer an AccrualRecorded or PayoutRequested books; null for events that move no money. */
function userTransfer(event: UserEvent, recorded: RecordedEvent): Transfer | null {
  switch (event.type) {
    case 'AccrualRecorded': {
      const accrual = event.data;
      return checkedTransfer({
        recorded,
        header: {
          userId: accrual.userId,
          payoutId: null,
          occurredAt: accrual.recordedAt,
          description: `Reward of ${accrual.kills} kills at ${formatBan(BigInt(accrual.ratePerKillRaw))} BAN a kill (accrual ${accrual.accrualId})`,
        },
        debit: REWARDS_EXPENSE,
        credit: payableAccount(accrual.userId),
        amountRaw: BigInt(accrual.amountRaw),
      });
    }
    case 'PayoutRequested': {
      const payout = event.data;
      return checkedTransfer({
        recorded,
        header: {
          userId: payout.userId,
          payoutId: payout.payoutId,
          occurredAt: payout.requestedAt,
          description: `Payout ${payout.payoutId} claims ${payout.kills} kills, ${formatBan(BigInt(payout.amountRaw))} BAN, for ${payout.address}`,
        },
        debit: payableAccount(payout.userId),
        credit: inFlightAccount(payout.userId),
        amountRaw: BigInt(payout.amountRaw),
      });
    }
    case 'PayoutSent':
    case 'PayoutCancelled':
      throw new Error(`${event.type} is booked against its claim (bookRound)`);
    case 'UserRegistered':
    case 'EpicAccountLinked':
    case 'VerificationRecorded':
    case 'WalletLinked':
    case 'WalletVerified':
    case 'KillsObserved':
    case 'AbuseFlagRaised':
    case 'AbuseFlagCleared':
    case 'PayoutAttemptFailed':
    case 'PayoutFailed':
    case 'PayoutRetryRequested':
      // No money moves: a failed payout keeps its claim in flight, a retry keeps the same claim.
      return null;
    default: {
      const unreachable: never = event;
      throw new Error(`Unhandled user event ${JSON.stringify(unreachable)}`);
    }
  }
}

/** `betweenOperatorAccounts`: a FundingReceived whose sender is another account of the operator. */
function operatorTransfer(event: OperatorEvent, recorded: RecordedEvent, betweenOperatorAccounts: boolean): Transfer | null {
  switch (event.type) {
    case 'DonationReceived':
    case 'FundingReceived': {
      const received = event.data;
      const donation = event.type === 'DonationReceived';
      const internal = !donation && betweenOperatorAccounts;
      const amountRaw = BigInt(received.amountRaw);
      const what = donation ? 'Donation' : internal ? 'Transfer between the operator\'s accounts' : 'Funding';
      return checkedTransfer({
        recorded,
        header: {
          userId: null,
          payoutId: null,
          occurredAt: received.receivedAt,
          description: `${what} of ${formatBan(amountRaw)} BAN from ${received.sender} (send block ${received.sendHash})`,
        },
        debit: OPERATOR_WALLET,
        credit: donation ? DONATIONS_EQUITY : internal ? OPERATOR_WALLET : FUNDING_EQUITY,
        amountRaw,
      });
    }
    case 'PayoutBlockSigned':
      // A signed block is not a payment yet: the wallet pays when PayoutSent says it went through.
      return null;
    case 'MilestoneReached':
      return null;
    default: {
      const unreachable: never = event;
      throw new Error(`Unhandled operator event ${JSON.stringify(unreachable)}`);
    }
  }
}

/** A transfer of a zero amount books nothing; a negative one is a broken event. */
function checkedTransfer(transfer: Transfer): Transfer | null {
  if (transfer.amountRaw < 0n) throw new Error(`Event ${transfer.recorded.id} (${transfer.recorded.type}) carries a negative amount`);
  return transfer.amountRaw === 0n ? null : transfer;
}

/**
 * Each transfer as one entry of two postings (debit positive, credit negative), all in one
 * statement. An event booked before finds its entry (ON CONFLICT) and adds no postings either.
 */
async function bookTransfers(transaction: DatabaseTransactionConnection, transfers: readonly Transfer[]): Promise<void> {
  if (transfers.length === 0) return;
  await transaction.query(sql.unsafe`
    WITH v AS (
      SELECT * FROM ${sql.unnest(
        transfers.map((transfer) => [...entryValues(transfer.recorded, transfer.header), transfer.debit, transfer.credit, transfer.amountRaw.toString()]),
        [...ENTRY_TYPES, 'text', 'text', 'numeric'],
      )} AS v (entry_id, position, stream_name, event_type, user_id, payout_id, occurred_at, description, debit, credit, amount_raw)),
    entry AS (
      INSERT INTO journal_entries (entry_id, position, stream_name, event_type, kind, user_id, payout_id, reverses_entry_id, occurred_at, description)
      SELECT entry_id, position, stream_name, event_type, 'standard', user_id, payout_id, NULL, occurred_at, description FROM v
      ON CONFLICT (entry_id) DO NOTHING
      RETURNING entry_id)
    INSERT INTO journal_postings (entry_id, line, account, amount_raw)
    SELECT v.entry_id, line.line, line.account, line.amount_raw
      FROM entry JOIN v ON v.entry_id = entry.entry_id
      CROSS JOIN LATERAL (VALUES (1::smallint, v.debit, v.amount_raw), (2::smallint, v.credit, -v.amount_raw)) AS line (line, account, amount_raw)`);
}

/** Each reversal as a new entry whose postings are those of the entry it reverses, negated. */
async function bookReversals(transaction: DatabaseTransactionConnection, reversals: readonly Reversal[]): Promise<void> {
  if (reversals.length === 0) return;
  await transaction.query(sql.unsafe`
    WITH v AS (
      SELECT * FROM ${sql.unnest(
        reversals.map((reversal) => [...entryValues(reversal.recorded, reversal.header), reversal.reversedEntryId]),
        [...ENTRY_TYPES, 'uuid'],
      )} AS v (entry_id, position, stream_name, event_type, user_id, payout_id, occurred_at, description, reverses_entry_id)),
    entry AS (
      INSERT INTO journal_entries (entry_id, position, stream_name, event_type, kind, user_id, payout_id, reverses_entry_id, occurred_at, description)
      SELECT entry_id, position, stream_name, event_type, 'reversal', user_id, payout_id, reverses_entry_id, occurred_at, description FROM v
      ON CONFLICT (entry_id) DO NOTHING
      RETURNING entry_id)
    INSERT INTO journal_postings (entry_id, line, account, amount_raw)
    SELECT entry.entry_id, reversed.line, reversed.account, -reversed.amount_raw
      FROM entry JOIN v ON v.entry_id = entry.entry_id
      JOIN journal_postings reversed ON reversed.entry_id = v.reverses_entry_id`);
}

/** An entry's columns (its id is the event's), in the order of ENTRY_TYPES. */
const ENTRY_TYPES = ['uuid', 'int8', 'text', 'text', 'uuid', 'uuid', 'timestamptz', 'text'];

function entryValues(recorded: RecordedEvent, header: EntryHeader): Array<string | null> {
  return [recorded.id, recorded.position.toString(), recorded.streamName, recorded.type, header.userId, header.payoutId, header.occurredAt, header.description];
}

const claimRow = z.object({ payout_id: z.string(), entry_id: z.string(), user_id: z.string().nullable(), amount_raw: z.string() });

type Claims = ReadonlyMap<string, z.infer<typeof claimRow>>;

/** The entries that booked these payouts' PayoutRequested, with the amount each moved into flight (the sum of its debits). */
async function claimsOf(transaction: DatabaseTransactionConnection, payoutIds: readonly string[]): Promise<Claims> {
  const rows = await transaction.any(sql.type(claimRow)`
    SELECT e.payout_id, e.entry_id, e.user_id,
           (SELECT sum(p.amount_raw) FROM journal_postings p WHERE p.entry_id = e.entry_id AND p.amount_raw > 0)::text AS amount_raw
      FROM journal_entries e
     WHERE e.payout_id = ANY(${sql.array(payoutIds, 'uuid')}) AND e.event_type = 'PayoutRequested'`);
  return new Map(rows.map((row) => [row.payout_id, row]));
}

/**
 * The payout's claim. Events are applied in position order, so the claim is always booked before
 * its send or cancellation, in this transaction or an earlier one; its absence, or a disagreement
 * with the amount the event repeats, means the history or this projection is broken, and stops it.
 */
function checkedClaim(claims: Claims, payoutId: string, userId: string, amountRawOfEvent: bigint): { readonly entryId: string; readonly amountRaw: bigint } {
  const row = claims.get(payoutId);
  if (row === undefined) throw new Error(`Payout ${payoutId} has no claim in the journal`);
  const amountRaw = BigInt(row.amount_raw);
  if (row.user_id !== userId || amountRaw !== amountRawOfEvent) {
    throw new Error(
      `Payout ${payoutId} was claimed for ${String(row.user_id)}, ${amountRaw} raw, but an event says ${userId}, ${amountRawOfEvent} raw`,
    );
  }
  return { entryId: row.entry_id, amountRaw };
}
