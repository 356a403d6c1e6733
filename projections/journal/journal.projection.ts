import { type DatabaseTransactionConnection, sql } from 'slonik';
import { z } from 'zod';
import { decodeUserEvent, type UserEvent } from '../../src/identity/user/user.events';
import { decodeOperatorEvent, type OperatorEvent } from '../../src/payouts/operator/operator.events';
import { categoryOf, type RecordedEvent } from '../../src/platform/event-store/event-store.port';
import { formatBan } from '../../src/platform/money';
import { type Projection } from '../runtime/projection';

/**
 * `journal_entries` and `journal_postings`: the double-entry journal of every raw the faucet owes,
 * claims, pays and receives. Each event that moves money is booked as one entry (its id is the
 * event's id) of signed postings, debit positive and credit negative, that sum to zero.
 *
 * Chart of accounts (normal balance in brackets):
 * - `asset:operator_wallet` [debit]: the BAN the operator account holds, as far as the events tell.
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
 * - FundingReceived: Dr asset:operator_wallet / Cr equity:funding.
 * - Every other event books nothing, and so does an event whose amount is zero.
 *
 * So, at any position: wallet = donations + funding − sent, and for each user accrued = payable +
 * in flight + paid.
 *
 * A replayed event finds its entry (ON CONFLICT on the event id) and writes nothing; the entry and
 * its postings go in one statement, so neither exists without the other.
 */

const OPERATOR_WALLET = 'asset:operator_wallet';
const REWARDS_EXPENSE = 'expense:rewards';
const DONATIONS_EQUITY = 'equity:donations';
const FUNDING_EQUITY = 'equity:funding';
const payableAccount = (userId: string): string => `liability:payable:${userId}`;
const inFlightAccount = (userId: string): string => `liability:in_flight:${userId}`;

interface Posting {
  readonly account: string;
  /** Debit positive, credit negative. */
  readonly amountRaw: bigint;
}

interface EntryHeader {
  readonly userId: string | null;
  readonly payoutId: string | null;
  readonly occurredAt: string;
  readonly description: string;
}

export const journalProjection: Projection = {
  name: 'journal',
  filter: { kind: 'category', categories: ['user', 'operator'] },
  tables: ['journal_entries', 'journal_postings'],
  async apply(transaction, events) {
    for (const recorded of events) {
      const category = categoryOf(recorded.streamName);
      if (category === 'user') {
        const event = decodeUserEvent(recorded.type, recorded.data);
        if (event !== null) await bookUserEvent(transaction, event, recorded);
      } else if (category === 'operator') {
        const event = decodeOperatorEvent(recorded.type, recorded.data);
        if (event !== null) await bookOperatorEvent(transaction, event, recorded);
      }
    }
  },
};

async function bookUserEvent(transaction: DatabaseTransactionConnection, event: UserEvent, recorded: RecordedEvent): Promise<void> {
  switch (event.type) {
    case 'AccrualRecorded': {
      const accrual = event.data;
      const amountRaw = BigInt(accrual.amountRaw);
      await bookTransfer(transaction, recorded, {
        header: {
          userId: accrual.userId,
          payoutId: null,
          occurredAt: accrual.recordedAt,
          description: `Reward of ${accrual.kills} kills at ${formatBan(BigInt(accrual.ratePerKillRaw))} BAN a kill (accrual ${accrual.accrualId})`,
        },
        debit: REWARDS_EXPENSE,
        credit: payableAccount(accrual.userId),
        amountRaw,
      });
      return;
    }
    case 'PayoutRequested': {
      const payout = event.data;
      await bookTransfer(transaction, recorded, {
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
      return;
    }
    case 'PayoutSent': {
      // The wallet pays what the claim moved into flight: the amount comes from the books, and the
      // event's own copy of it must agree.
      const sent = event.data;
      const claim = await claimOf(transaction, sent.payoutId, sent.userId, BigInt(sent.amountRaw));
      await bookTransfer(transaction, recorded, {
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
      return;
    }
    case 'PayoutCancelled': {
      const cancelled = event.data;
      const claim = await claimOf(transaction, cancelled.payoutId, cancelled.userId, BigInt(cancelled.amountRaw));
      await bookReversal(transaction, recorded, claim.entryId, {
        userId: cancelled.userId,
        payoutId: cancelled.payoutId,
        occurredAt: cancelled.cancelledAt,
        description: `Reversal of the claim of payout ${cancelled.payoutId}, ${formatBan(claim.amountRaw)} BAN: ${cancelled.reason}`,
      });
      return;
    }
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
      return;
    default: {
      const unreachable: never = event;
      throw new Error(`Unhandled user event ${JSON.stringify(unreachable)}`);
    }
  }
}

async function bookOperatorEvent(transaction: DatabaseTransactionConnection, event: OperatorEvent, recorded: RecordedEvent): Promise<void> {
  switch (event.type) {
    case 'DonationReceived':
    case 'FundingReceived': {
      const received = event.data;
      const donation = event.type === 'DonationReceived';
      const amountRaw = BigInt(received.amountRaw);
      await bookTransfer(transaction, recorded, {
        header: {
          userId: null,
          payoutId: null,
          occurredAt: received.receivedAt,
          description: `${donation ? 'Donation' : 'Funding'} of ${formatBan(amountRaw)} BAN from ${received.sender} (send block ${received.sendHash})`,
        },
        debit: OPERATOR_WALLET,
        credit: donation ? DONATIONS_EQUITY : FUNDING_EQUITY,
        amountRaw,
      });
      return;
    }
    case 'PayoutBlockSigned':
      // A signed block is not a payment yet: the wallet pays when PayoutSent says it went through.
      return;
    case 'MilestoneReached':
      return;
    default: {
      const unreachable: never = event;
      throw new Error(`Unhandled operator event ${JSON.stringify(unreachable)}`);
    }
  }
}

/** One entry of two postings: `amountRaw` from `credit` to `debit`. A zero amount books nothing. */
async function bookTransfer(
  transaction: DatabaseTransactionConnection,
  recorded: RecordedEvent,
  transfer: { readonly header: EntryHeader; readonly debit: string; readonly credit: string; readonly amountRaw: bigint },
): Promise<void> {
  if (transfer.amountRaw < 0n) throw new Error(`Event ${recorded.id} (${recorded.type}) carries a negative amount`);
  if (transfer.amountRaw === 0n) return;
  const postings: readonly Posting[] = [
    { account: transfer.debit, amountRaw: transfer.amountRaw },
    { account: transfer.credit, amountRaw: -transfer.amountRaw },
  ];
  const lines = postings.map(
    (posting, index) => sql.fragment`(${index + 1}::smallint, ${posting.account}::text, ${posting.amountRaw.toString()}::numeric)`,
  );
  await transaction.query(sql.unsafe`
    WITH entry AS (
      ${insertEntry(recorded, 'standard', null, transfer.header)}
    )
    INSERT INTO journal_postings (entry_id, line, account, amount_raw)
    SELECT entry.entry_id, line.line, line.account, line.amount_raw
      FROM entry CROSS JOIN (VALUES ${sql.join(lines, sql.fragment`, `)}) AS line (line, account, amount_raw)`);
}

/** A new entry whose postings are those of `reversedEntryId`, negated. */
async function bookReversal(
  transaction: DatabaseTransactionConnection,
  recorded: RecordedEvent,
  reversedEntryId: string,
  header: EntryHeader,
): Promise<void> {
  await transaction.query(sql.unsafe`
    WITH entry AS (
      ${insertEntry(recorded, 'reversal', reversedEntryId, header)}
    )
    INSERT INTO journal_postings (entry_id, line, account, amount_raw)
    SELECT entry.entry_id, reversed.line, reversed.account, -reversed.amount_raw
      FROM entry CROSS JOIN journal_postings reversed
     WHERE reversed.entry_id = ${reversedEntryId}`);
}

/** The entry's row; RETURNING nothing when the event was booked before. */
function insertEntry(recorded: RecordedEvent, kind: 'standard' | 'reversal', reversesEntryId: string | null, header: EntryHeader) {
  return sql.fragment`
    INSERT INTO journal_entries (entry_id, position, stream_name, event_type, kind, user_id, payout_id, reverses_entry_id, occurred_at, description)
    VALUES (${recorded.id}::uuid, ${recorded.position.toString()}::bigint, ${recorded.streamName}, ${recorded.type}, ${kind},
            ${header.userId}::uuid, ${header.payoutId}::uuid, ${reversesEntryId}::uuid, ${header.occurredAt}::timestamptz, ${header.description})
    ON CONFLICT (entry_id) DO NOTHING
    RETURNING entry_id`;
}

const claimRow = z.object({ entry_id: z.string(), user_id: z.string().nullable(), amount_raw: z.string() });

/**
 * The entry that booked the payout's PayoutRequested, and the amount it moved into flight (the sum
 * of its debits). Events are applied in position order, so the claim is always booked before its
 * send or cancellation, in this transaction or an earlier one; its absence, or a disagreement with
 * the amount the event repeats, means the history or this projection is broken, and stops it.
 */
async function claimOf(
  transaction: DatabaseTransactionConnection,
  payoutId: string,
  userId: string,
  amountRawOfEvent: bigint,
): Promise<{ readonly entryId: string; readonly amountRaw: bigint }> {
  const row = await transaction.maybeOne(sql.type(claimRow)`
    SELECT e.entry_id, e.user_id,
           (SELECT sum(p.amount_raw) FROM journal_postings p WHERE p.entry_id = e.entry_id AND p.amount_raw > 0)::text AS amount_raw
      FROM journal_entries e
     WHERE e.payout_id = ${payoutId}::uuid AND e.event_type = 'PayoutRequested'`);
  if (row === null) throw new Error(`Payout ${payoutId} has no claim in the journal`);
  const amountRaw = BigInt(row.amount_raw);
  if (row.user_id !== userId || amountRaw !== amountRawOfEvent) {
    throw new Error(
      `Payout ${payoutId} was claimed for ${String(row.user_id)}, ${amountRaw} raw, but an event says ${userId}, ${amountRawOfEvent} raw`,
    );
  }
  return { entryId: row.entry_id, amountRaw };
}
