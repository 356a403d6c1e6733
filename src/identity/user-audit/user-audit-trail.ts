import { NotFoundError } from '../../platform/errors/domain-error';
import { messageOf } from '../../platform/errors/message-of';
import { type EventStore, type RecordedEvent } from '../../platform/event-store/event-store.port';
import { formatBan } from '../../platform/money';
import { type Balances, balancesOf, evolveTimeline, initialTimelineState } from '../user/user-timeline';
import { decodeUserEvent, type UserEvent } from '../user/user.events';
import { toStreamName, userIdFromDiscordId } from '../user/user.stream';

/** One event of a user's audit trail and the balances right after it. */
export interface AuditEntry {
  readonly recorded: RecordedEvent;
  /** Null for an event type this service does not know: listed, but it changes no balance. */
  readonly event: UserEvent | null;
  readonly balances: Balances;
}

/** The balances of an entry as JSON: kills as integers, amounts as raw / BAN strings (SPEC §2). */
export interface BalancesJson {
  readonly accruedKills: number;
  readonly accruedRaw: string;
  readonly accruedBan: string;
  readonly claimedKills: number;
  readonly claimedRaw: string;
  readonly claimedBan: string;
  readonly inFlightKills: number;
  readonly inFlightRaw: string;
  readonly inFlightBan: string;
  readonly settledKills: number;
  readonly paidRaw: string;
  readonly paidBan: string;
  readonly unsettledKills: number;
  readonly unsettledRaw: string;
  readonly unsettledBan: string;
}

export interface AuditEntryJson {
  readonly position: string;
  readonly revision: number;
  readonly type: string;
  readonly recordedAt: string;
  readonly actor: { readonly kind: string; readonly name: string };
  readonly data: Readonly<Record<string, unknown>>;
  readonly balances: BalancesJson;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Discord ids are snowflakes of 17 to 20 digits, as POST /v1/users accepts them. */
const DISCORD_ID = /^[0-9]{17,20}$/;

/** A user named by its user id (a UUID) or its Discord id; null when the text is neither. */
export function resolveUserRef(text: string): string | null {
  if (UUID.test(text)) return text.toLowerCase();
  if (DISCORD_ID.test(text)) return userIdFromDiscordId(text);
  return null;
}

/**
 * The user event a recorded one holds; null for a type this service does not know. One it cannot
 * read (a field missing or of the wrong type) fails naming it, so the operator can find it.
 */
export function decodeRecorded(recorded: RecordedEvent): UserEvent | null {
  try {
    return decodeUserEvent(recorded.type, recorded.data);
  } catch (error) {
    throw new Error(
      `The event at position ${recorded.position.toString()} (#${recorded.revision.toString()} ${recorded.type} of ${recorded.streamName}) cannot be read: ${messageOf(error)}`,
      { cause: error },
    );
  }
}

/** The recorded events with the balances after each one, by the pure audit fold. */
export function auditTrailOf(history: readonly RecordedEvent[]): AuditEntry[] {
  let state = initialTimelineState;
  return history.map((recorded) => {
    const event = decodeRecorded(recorded);
    if (event !== null) state = evolveTimeline(state, event);
    return { recorded, event, balances: balancesOf(state) };
  });
}

/** The user's whole stream as an audit trail, from the event store itself. 404 for a user with no events. */
export async function readUserAuditTrail(store: EventStore, userId: string): Promise<AuditEntry[]> {
  const history = await store.readStream(toStreamName(userId));
  if (history.length === 0) throw new NotFoundError('user_not_found', `No user ${userId} (no event in stream ${toStreamName(userId)})`);
  return auditTrailOf(history);
}

export function balancesJson(balances: Balances): BalancesJson {
  return {
    accruedKills: Number(balances.accruedKills),
    accruedRaw: balances.accruedRaw.toString(),
    accruedBan: formatBan(balances.accruedRaw),
    claimedKills: Number(balances.claimedKills),
    claimedRaw: balances.claimedRaw.toString(),
    claimedBan: formatBan(balances.claimedRaw),
    inFlightKills: Number(balances.inFlightKills),
    inFlightRaw: balances.inFlightRaw.toString(),
    inFlightBan: formatBan(balances.inFlightRaw),
    settledKills: Number(balances.settledKills),
    paidRaw: balances.paidRaw.toString(),
    paidBan: formatBan(balances.paidRaw),
    unsettledKills: Number(balances.unsettledKills),
    unsettledRaw: balances.unsettledRaw.toString(),
    unsettledBan: formatBan(balances.unsettledRaw),
  };
}

export function auditEntryJson(entry: AuditEntry): AuditEntryJson {
  const { recorded } = entry;
  return {
    position: recorded.position.toString(),
    revision: Number(recorded.revision),
    type: recorded.type,
    recordedAt: recorded.createdAt.toISOString(),
    actor: { kind: recorded.metadata.actor.kind, name: recorded.metadata.actor.name },
    data: recorded.data,
    balances: balancesJson(entry.balances),
  };
}
