import { sql } from 'slonik';
import { decodeOperatorEvent } from '../../src/payouts/operator/operator.events';
import { formatBan } from '../../src/platform/money';
import { operatorTransfers } from '../runtime/operator-transfers';
import { type Projection } from '../runtime/projection';

/**
 * The inflow read models of the operator streams: `donation_ledger` (one row per received send,
 * unique by its hash), `donor_totals` and `treasury_totals` (running sums, raised only by the insert
 * of a new donation_ledger row, so a replayed batch raises nothing), and `milestones` (the tiers
 * reached). Payout blocks signed are the executor's business and book nothing here. A send from
 * another account of the operator (projections/runtime/operator-transfers.ts) is listed with kind
 * 'transfer' and counted in no total: its BAN were counted when they first came in.
 */
export const treasuryProjection: Projection = {
  name: 'treasury',
  filter: { kind: 'category', categories: ['operator'] },
  tables: ['donation_ledger', 'donor_totals', 'treasury_totals', 'milestones', 'treasury_operator_accounts'],
  async apply(transaction, events) {
    const transfers = await operatorTransfers(transaction, 'treasury_operator_accounts', events);
    for (const recorded of events) {
      const event = decodeOperatorEvent(recorded.type, recorded.data);
      if (event === null) continue;
      const operatorAddress = recorded.streamName.slice('operator-'.length);
      switch (event.type) {
        case 'DonationReceived':
        case 'FundingReceived': {
          const received = event.data;
          const kind = event.type === 'DonationReceived' ? 'donation' : transfers.has(recorded.id) ? 'transfer' : 'funding';
          const amountRaw = BigInt(received.amountRaw);
          await transaction.query(sql.unsafe`
            WITH inserted AS (
              INSERT INTO donation_ledger (send_block_hash, operator_address, kind, sender, amount_raw, amount_ban,
                                           receive_block_hash, received_at, event_id, position)
              VALUES (${received.sendHash}, ${operatorAddress}, ${kind}, ${received.sender}, ${received.amountRaw}::numeric,
                      ${formatBan(amountRaw)}::numeric, ${received.receiveHash}, ${received.receivedAt}::timestamptz,
                      ${recorded.id}, ${recorded.position.toString()}::bigint)
              ON CONFLICT (send_block_hash) DO NOTHING
              RETURNING kind, sender, amount_raw, received_at),
            donor AS (
              INSERT INTO donor_totals (sender, amount_raw, donation_count, last_donation_at)
              SELECT sender, amount_raw, 1, received_at FROM inserted WHERE kind = 'donation'
              ON CONFLICT (sender) DO UPDATE SET amount_raw = donor_totals.amount_raw + EXCLUDED.amount_raw,
                     donation_count = donor_totals.donation_count + 1,
                     last_donation_at = GREATEST(donor_totals.last_donation_at, EXCLUDED.last_donation_at))
            INSERT INTO treasury_totals (total_name, amount_raw, entry_count)
            SELECT CASE kind WHEN 'donation' THEN 'donated' ELSE 'funded' END, amount_raw, 1 FROM inserted WHERE kind <> 'transfer'
            ON CONFLICT (total_name) DO UPDATE SET amount_raw = treasury_totals.amount_raw + EXCLUDED.amount_raw,
                   entry_count = treasury_totals.entry_count + 1`);
          break;
        }
        case 'MilestoneReached': {
          const reached = event.data;
          await transaction.query(sql.unsafe`
            INSERT INTO milestones (threshold_raw, threshold_ban, multiplier, name, reached_at, total_donated_raw, send_block_hash, event_id)
            VALUES (${reached.thresholdRaw}::numeric, ${formatBan(BigInt(reached.thresholdRaw))}::numeric, ${reached.multiplier},
                    ${reached.name}, ${reached.reachedAt}::timestamptz, ${reached.totalDonatedRaw}::numeric, ${reached.sendHash}, ${recorded.id})
            ON CONFLICT (threshold_raw) DO NOTHING`);
          break;
        }
        case 'PayoutBlockSigned':
          break;
        default: {
          const unreachable: never = event;
          throw new Error(`Unhandled operator event ${JSON.stringify(unreachable)}`);
        }
      }
    }
  },
};
