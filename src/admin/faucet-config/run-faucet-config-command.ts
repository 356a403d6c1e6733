import { type CommandMetadata, type Decision, handleCommand } from '../../platform/decider';
import { type EventStore } from '../../platform/event-store/event-store.port';
import { type FaucetConfigCommand, faucetConfigDecider, type FaucetConfigState } from './faucet-config.decider';
import { FAUCET_CONFIG_EVENT_SCHEMA_VERSION, FAUCET_CONFIG_STREAM, type FaucetConfigEvent } from './faucet-config.events';

/** Every admin change of the faucet settings goes through here: read, fold, decide, append. */
export function runFaucetConfigCommand(store: EventStore, command: FaucetConfigCommand, metadata: CommandMetadata): Promise<Decision<FaucetConfigEvent, FaucetConfigState>> {
  return handleCommand(store, FAUCET_CONFIG_STREAM, faucetConfigDecider, command, { metadata, schemaVersion: FAUCET_CONFIG_EVENT_SCHEMA_VERSION });
}

/** What a change answers besides the settings in force: the fields it changed, and the position to wait for. */
export function changeOutcome(decision: Decision<FaucetConfigEvent, FaucetConfigState>): { changed: string[]; position: string | null } {
  const position = decision.position ?? decision.history.at(-1)?.position ?? null;
  return { changed: decision.events.flatMap((event) => Object.keys(event.data.changes)), position: position === null ? null : position.toString() };
}
