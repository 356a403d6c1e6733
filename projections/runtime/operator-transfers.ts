import { type DatabaseTransactionConnection, sql } from 'slonik';
import { z } from 'zod';
import { categoryOf, type RecordedEvent } from '../../src/platform/event-store/event-store.port';

const OPERATOR_STREAM_PREFIX = 'operator-';

/** The tables in which a projection keeps the operator accounts it has seen (migrations/0024). */
export type OperatorAccountsTable = 'journal_operator_accounts' | 'treasury_operator_accounts';

/**
 * The ids of the batch's FundingReceived events that record a transfer between two accounts of the
 * operator: the sender is another account with an operator stream, whose first event comes before
 * the receive in $all. That is the balance the operator moves from a former account to the new one
 * after a seed change. The ingester records it as FundingReceived (SPEC §4.5 has no other kind for
 * it), but the BAN were counted when they first came in, so a read model that counted them again
 * would hold them twice.
 *
 * A payout that came back stays funding: a payout to a player whose wallet is an operator account,
 * which the books counted as paid out. The receiving account's own payout is told by the sender,
 * another account's by the payout the ingester found the send to be (`returnedPayoutId`). A send
 * from an account with no event before it stays funding too: nothing recorded its BAN before.
 *
 * A payout of another account that came back before the ingester kept `returnedPayoutId` is
 * counted as a transfer, so the wallet is short by it; the event does not say what it was.
 *
 * It adds the batch's operator accounts to `table`, the projection's own, so the next batch knows
 * them; replaying a batch finds them there and decides the same.
 */
export async function operatorTransfers(
  transaction: DatabaseTransactionConnection,
  table: OperatorAccountsTable,
  events: readonly RecordedEvent[],
): Promise<ReadonlySet<string>> {
  const operatorEvents = events.filter((recorded) => categoryOf(recorded.streamName) === 'operator');
  if (operatorEvents.length === 0) return new Set();
  const firstPosition = new Map<string, bigint>();
  for (const recorded of operatorEvents) {
    const address = recorded.streamName.slice(OPERATOR_STREAM_PREFIX.length);
    const first = firstPosition.get(address);
    if (first === undefined || recorded.position < first) firstPosition.set(address, recorded.position);
  }
  const receives = operatorEvents.flatMap((recorded) => {
    if (recorded.type !== 'FundingReceived') return [];
    const data = recorded.data as { readonly sender?: unknown; readonly returnedPayoutId?: unknown };
    const receiver = recorded.streamName.slice(OPERATOR_STREAM_PREFIX.length);
    if (typeof data.returnedPayoutId === 'string') return [];
    return typeof data.sender === 'string' && data.sender !== receiver ? [{ recorded, sender: data.sender }] : [];
  });
  const known = new Set(
    receives.length === 0
      ? []
      : await transaction.anyFirst(sql.type(z.object({ address: z.string() }))`
          SELECT address FROM ${sql.identifier([table])} WHERE address = ANY(${sql.array([...new Set(receives.map(({ sender }) => sender))], 'text')})`),
  );
  const transfers = new Set<string>();
  for (const { recorded, sender } of receives) {
    const first = firstPosition.get(sender);
    if (known.has(sender) || (first !== undefined && first < recorded.position)) transfers.add(recorded.id);
  }
  await transaction.query(sql.unsafe`
    INSERT INTO ${sql.identifier([table])} (address)
    SELECT unnest(${sql.array([...firstPosition.keys()], 'text')}) ON CONFLICT (address) DO NOTHING`);
  return transfers;
}
