import { formatBan } from '../../platform/money';
import { type Balances } from '../user/user-timeline';
import { type UserEvent } from '../user/user.events';
import { type AuditEntry } from './user-audit-trail';
import { type UserAsOfView } from './user-status-as-of';

/** Free text from events (reasons, node errors) is shown on one line, without control characters. */
const TEXT_LENGTH_MAX = 120;

function text(value: string): string {
  // eslint-disable-next-line no-control-regex
  const flat = value.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ');
  return flat.length > TEXT_LENGTH_MAX ? `${flat.slice(0, TEXT_LENGTH_MAX - 1)}…` : flat;
}

function ban(raw: string | bigint): string {
  return `${formatBan(typeof raw === 'bigint' ? raw : BigInt(raw))} BAN`;
}

/** What one event says, in a few words; every event type is named (the `never` check). */
export function describeUserEvent(event: UserEvent): string {
  switch (event.type) {
    case 'UserRegistered':
      return `discord ${event.data.discordUserId}, region ${event.data.regionCode ?? '-'}`;
    case 'EpicAccountLinked':
      return `epic ${event.data.epicAccountId}, baseline ${event.data.baselineKills} kills (${event.data.source})${
        event.data.baselineFloor === undefined ? '' : `, no lower than user ${event.data.baselineFloor.userId} accrued of it`
      }`;
    case 'VerificationRecorded':
      return `${event.data.status} via ${event.data.source}${event.data.epicAccountId === null ? '' : `, epic ${event.data.epicAccountId}`}${
        event.data.detail === null ? '' : `: ${text(event.data.detail)}`
      }`;
    case 'WalletLinked':
      return `primary wallet ${event.data.address}`;
    case 'WalletVerified':
      return `${event.data.address} proved by signature`;
    case 'KillsObserved':
      return `lifetime ${event.data.lifetimeKills} kills observed ${event.data.observedAt}${
        event.data.skippedUpToKillCount === null ? '' : `, skipped up to ${event.data.skippedUpToKillCount}`
      }`;
    case 'AccrualRecorded':
      return `+${event.data.kills} kills (${event.data.fromKillCount}→${event.data.toKillCount}) × ${ban(event.data.ratePerKillRaw)} = ${ban(event.data.amountRaw)}`;
    case 'AbuseFlagRaised':
      return `${event.data.flagType} (${event.data.severity}) flag ${event.data.flagId}: ${text(event.data.detail)}`;
    case 'AbuseFlagCleared':
      return `flag ${event.data.flagId} cleared: ${text(event.data.reason)}`;
    case 'PayoutRequested':
      return `payout ${event.data.payoutId}: ${event.data.kills} kills, ${ban(event.data.amountRaw)} to ${event.data.address} (${event.data.gateway})`;
    case 'PayoutSent':
      return `payout ${event.data.payoutId} sent: ${event.data.kills} kills, ${ban(event.data.amountRaw)}, block ${event.data.blockHash}`;
    case 'PayoutAttemptFailed':
      return `payout ${event.data.payoutId} attempt ${event.data.attempt} failed: ${text(event.data.error)}${
        event.data.nextAttemptAt === null ? '' : `; next attempt ${event.data.nextAttemptAt}`
      }`;
    case 'PayoutFailed':
      return `payout ${event.data.payoutId} failed after ${event.data.attempts} attempts: ${text(event.data.error)}`;
    case 'PayoutRetryRequested':
      return `payout ${event.data.payoutId} retried`;
    case 'PayoutCancelled':
      return `payout ${event.data.payoutId} cancelled, ${event.data.kills} kills released: ${text(event.data.reason)}`;
    default: {
      const unreachable: never = event;
      throw new Error(`Unknown user event ${JSON.stringify(unreachable)}`);
    }
  }
}

export function describeBalances(balances: Balances): string {
  return (
    `accrued ${balances.accruedKills} (${formatBan(balances.accruedRaw)}) · in flight ${balances.inFlightKills} (${formatBan(balances.inFlightRaw)}) · ` +
    `settled ${balances.settledKills}, paid ${formatBan(balances.paidRaw)} · unsettled ${balances.unsettledKills} (${formatBan(balances.unsettledRaw)})`
  );
}

/** One line per event: time, revision and position, type, what it says, the balances after it. */
export function formatAuditTrail(userId: string, entries: readonly AuditEntry[]): string {
  const lines = entries.map(({ recorded, event, balances }) =>
    [
      recorded.createdAt.toISOString(),
      `#${recorded.revision.toString()} @${recorded.position.toString()}`.padEnd(16),
      recorded.type.padEnd(20),
      event === null ? '(an event type this version does not know)' : describeUserEvent(event),
      `| ${describeBalances(balances)}`,
    ].join('  '),
  );
  return `Audit trail of user ${userId}: ${entries.length} events; balances after each (BAN).\n${lines.join('\n')}\n`;
}

/** The as-of status, one field a line. */
export function formatUserAsOf(view: UserAsOfView): string {
  const rows: Array<[string, string]> = [
    ['as of', `${view.asOf} (position ${view.position})`],
    ['user', view.userId],
    ['discord', view.discordUserId],
    ['epic', view.epicAccountId ?? '-'],
    ['region', view.regionCode ?? '-'],
    ['wallet', view.wallet === null ? '-' : `${view.wallet.address}${view.wallet.verified ? ' (verified)' : ''}`],
    ['verification', view.verificationStatus ?? '-'],
    ['last observed kills', view.lastObservedKillCount === null ? '-' : String(view.lastObservedKillCount)],
    ['accrued kills', String(view.accruedKillCount)],
    ['settled kills', String(view.lastSettledKillCount)],
    ['last settlement', view.lastSettlementAt ?? '-'],
    ['unsettled', `${view.unsettledKills} kills, ${view.unsettledBan} BAN`],
    ['total paid', `${view.totalPaidBan} BAN`],
    ['caps left', `${view.capsRemaining.today} kills today, ${view.capsRemaining.thisWeek} this week`],
    ['open flags', view.openFlags.length === 0 ? '-' : view.openFlags.map((flag) => `${flag.flagType} (${flag.severity}) ${flag.flagId}`).join(', ')],
    ['registered', view.registeredAt],
  ];
  return `${rows.map(([name, value]) => `${name.padEnd(20)} ${value}`).join('\n')}\n`;
}
