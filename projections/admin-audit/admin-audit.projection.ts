import { sql } from 'slonik';
import { decodeFaucetConfigEvent } from '../../src/admin/faucet-config/faucet-config.events';
import { decodeUserEvent } from '../../src/identity/user/user.events';
import { decodeOperatorEvent } from '../../src/payouts/operator/operator.events';
import { type RecordedEvent } from '../../src/platform/event-store/event-store.port';
import { int, str, type StoredData } from '../../src/platform/event-store/stored-fields';
import { formatBan } from '../../src/platform/money';
import { type Projection } from '../runtime/projection';

/** One audit row: what an admin did, to what, in a sentence. */
interface AuditEntry {
  readonly action: string;
  readonly targetType: string;
  readonly targetId: string;
  readonly summary: string;
}

/**
 * The event types an admin command appends (SPEC §4.6). An event is an admin action when its type
 * is here and its actor is an admin. The type matters as much as the actor: the payouts an
 * admin-triggered settlement requests carry the admin's metadata too, but the action was the
 * trigger (SettlementRunStarted), not each payout. Donations an admin rebuild appends are each one
 * row: a rebuild that finds nothing missing changes nothing and leaves no row.
 */
const ADMIN_EVENT_TYPES = [
  'SettlementRunStarted',
  'SettlementRunCompleted',
  'PayoutRetryRequested',
  'PayoutCancelled',
  'AbuseFlagCleared',
  'VerificationRecorded',
  'PayoutConfigChanged',
  'SchedulerConfigChanged',
  'SecureConfigChanged',
  'DonationReceived',
  'FundingReceived',
];

/** `admin_audit`: every admin action, with actor, request id and client IP from the event metadata. */
export const adminAuditProjection: Projection = {
  name: 'admin_audit',
  filter: { kind: 'eventType', eventTypes: ADMIN_EVENT_TYPES },
  tables: ['admin_audit'],
  async apply(transaction, events) {
    for (const recorded of events) {
      if (recorded.metadata.actor.kind !== 'admin') continue;
      if (recorded.type === 'SettlementRunCompleted') {
        // The run's outcome completes the row of its trigger; a scheduled run has no row.
        await transaction.query(sql.unsafe`
          UPDATE admin_audit SET summary = split_part(summary, ${OUTCOME_MARK}, 1) || ${OUTCOME_MARK} || ${settlementOutcome(recorded.data)}
           WHERE action = 'settlement.run' AND target_id = ${str(recorded.data, 'runId')}`);
        continue;
      }
      const entry = auditEntry(recorded);
      if (entry === null) continue;
      const clientIp = typeof recorded.metadata.clientIp === 'string' ? recorded.metadata.clientIp : null;
      // A secure-config change reaches the store through an outbox, appended by the next change,
      // rotation or start-up if its process died after the commit: the event's own time is when
      // the admin made it. Every other admin event is appended by the command itself.
      const occurredAt = recorded.type === 'SecureConfigChanged' ? str(recorded.data, 'changedAt') : recorded.createdAt.toISOString();
      await transaction.query(sql.unsafe`
        INSERT INTO admin_audit (event_id, position, action, actor, request_id, client_ip, target_type, target_id, summary, event_type, stream_name, occurred_at)
        VALUES (${recorded.id}, ${recorded.position.toString()}::bigint, ${entry.action}, ${recorded.metadata.actor.name},
                ${recorded.metadata.correlationId}, ${clientIp}, ${entry.targetType}, ${entry.targetId}, ${entry.summary},
                ${recorded.type}, ${recorded.streamName}, ${occurredAt}::timestamptz)
        ON CONFLICT (event_id) DO NOTHING`);
    }
  },
};

function auditEntry(recorded: RecordedEvent): AuditEntry | null {
  const { type, data } = recorded;
  if (type === 'SettlementRunStarted') {
    const config = data.config as StoredData;
    return {
      action: 'settlement.run',
      targetType: 'settlement_run',
      targetId: str(data, 'runId'),
      summary: `Settlement run triggered (${config.dryRun === true ? 'dry-run' : 'live'}, spendable ${formatBan(BigInt(str(config, 'spendableRaw')))} BAN)`,
    };
  }
  if (type === 'SecureConfigChanged') {
    const name = str(data, 'name');
    const action = str(data, 'action');
    const address = typeof data.address === 'string' ? `, operator address ${data.address}` : '';
    return { action: `secure_config.${action}`, targetType: 'secure_config', targetId: name, summary: `${name} ${action} under key ${str(data, 'keyId')}${address}` };
  }
  const user = decodeUserEvent(type, data);
  if (user !== null) {
    switch (user.type) {
      case 'PayoutRetryRequested':
        return { action: 'payout.retry', targetType: 'payout', targetId: user.data.payoutId, summary: `Payout retried with the same idempotency key (user ${user.data.userId})` };
      case 'PayoutCancelled':
        return {
          action: 'payout.cancel',
          targetType: 'payout',
          targetId: user.data.payoutId,
          summary: `Payout cancelled, ${user.data.kills} kills and ${formatBan(BigInt(user.data.amountRaw))} BAN released: ${user.data.reason}`,
        };
      case 'AbuseFlagCleared':
        return { action: 'abuse_flag.clear', targetType: 'abuse_flag', targetId: user.data.flagId, summary: `Abuse flag cleared (user ${user.data.userId}): ${user.data.reason}` };
      case 'VerificationRecorded':
        return { action: 'user.reverify', targetType: 'user', targetId: user.data.userId, summary: `Re-verified with Yunite: ${user.data.status}` };
      default:
        return null;
    }
  }
  const operator = decodeOperatorEvent(type, data);
  if (operator !== null && (operator.type === 'DonationReceived' || operator.type === 'FundingReceived')) {
    const kind = operator.type === 'DonationReceived' ? 'Donation' : 'Funding';
    return {
      action: 'donations.rebuild',
      targetType: 'donation',
      targetId: operator.data.sendHash,
      summary: `${kind} of ${formatBan(BigInt(operator.data.amountRaw))} BAN from ${operator.data.sender} recorded by a rebuild`,
    };
  }
  const config = decodeFaucetConfigEvent(type, data);
  if (config !== null) {
    const name = config.type === 'PayoutConfigChanged' ? 'payout' : 'scheduler';
    return { action: `config.${name}`, targetType: 'config', targetId: name, summary: changeSummary(config.data.changes, config.data.previous) };
  }
  return null;
}

/** The name an admin uses for each setting, as in the request body. */
const SETTING_LABELS: Readonly<Record<string, string>> = { banPerKillRaw: 'banPerKill', minOperatorBalanceRaw: 'minOperatorBalanceBan' };

/** The order settings are named in, whatever order the stored event's keys come back in (jsonb sorts them). */
const SETTING_ORDER = ['banPerKillRaw', 'dailyKillCap', 'weeklyKillCap', 'minOperatorBalanceRaw', 'settlementIntervalSeconds', 'settlementBatchSize'];

/** "banPerKill 0.05000000 BAN → 0.10000000 BAN; dailyKillCap 150 → 100": amounts in BAN, counts as they are. */
function changeSummary(changes: Readonly<Record<string, string | number>>, previous: Readonly<Record<string, string | number>>): string {
  return Object.entries(changes)
    .sort(([a], [b]) => SETTING_ORDER.indexOf(a) - SETTING_ORDER.indexOf(b))
    .map(([field, value]) => {
      const show = (setting: string | number | undefined): string =>
        setting === undefined ? '?' : field.endsWith('Raw') ? `${formatBan(BigInt(setting))} BAN` : String(setting);
      return `${SETTING_LABELS[field] ?? field} ${show(previous[field])} → ${show(value)}`;
    })
    .join('; ');
}

/** What the run did, after its trigger's summary (replacing an earlier outcome, so a replay changes nothing). */
const OUTCOME_MARK = ' ⇒ ';

function settlementOutcome(data: StoredData): string {
  const reason = typeof data.reason === 'string' ? `; requested nothing: ${data.reason}` : '';
  return `${int(data, 'eligible')} eligible, ${int(data, 'payoutsRequested')} payouts requested for ${int(data, 'killsRequested')} kills and ${formatBan(BigInt(str(data, 'amountRequestedRaw')))} BAN${reason}`;
}
