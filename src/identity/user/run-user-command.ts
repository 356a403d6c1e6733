import { type CommandMetadata, type Decision, fold, handleCommand, type HandleOptions } from '../../platform/decider';
import { type EventStore } from '../../platform/event-store/event-store.port';
import { type UserCommand, userDecider, type UserState } from './user.decider';
import { USER_EVENT_SCHEMA_VERSION, type UserEvent } from './user.events';
import { toStreamName } from './user.stream';

/**
 * Every command on a user stream goes through here: read, fold, decide, append. `beforeAppend`
 * checks outside facts against the events the decision was made on (see HandleOptions).
 */
export function runUserCommand(
  store: EventStore,
  userId: string,
  command: UserCommand,
  metadata: CommandMetadata,
  beforeAppend?: HandleOptions['beforeAppend'],
): Promise<Decision<UserEvent, UserState>> {
  return handleCommand(store, toStreamName(userId), userDecider, command, { metadata, schemaVersion: USER_EVENT_SCHEMA_VERSION, beforeAppend });
}

/** The user's state folded from its stream, for handlers that must look before they fetch. */
export async function loadUser(store: EventStore, userId: string): Promise<UserState> {
  return fold(userDecider, await store.readStream(toStreamName(userId)));
}

/** The position a command's answer carries: its last event, or the stream's last one if it decided nothing. */
export function positionOf(decision: Decision<UserEvent, UserState>): string | null {
  const position = decision.position ?? decision.history.at(-1)?.position ?? null;
  return position === null ? null : position.toString();
}
