import { type RecordedEvent } from '../../platform/event-store/event-store.port';
import { type StateBlock } from '../banano/state-block';

/** Bumped when an operator event's data changes shape; readers accept every version up to it. */
export const OPERATOR_EVENT_SCHEMA_VERSION = 1;

/** The stream of one operator account: what it signed, received and reached (SPEC §3). */
export function operatorStream(address: string): string {
  return `operator-${address}`;
}

/**
 * A send block of a payout, signed and with its work, recorded before it is published (SPEC §4.4
 * step 2). It is the executor's memory across crashes: a payout whose current attempt has a signed
 * block only ever publishes that block again.
 */
export interface PayoutBlockSigned {
  readonly type: 'PayoutBlockSigned';
  readonly data: {
    readonly payoutId: string;
    readonly userId: string;
    /** The payout's attempt this block belongs to (1 for the first). */
    readonly attempt: number;
    readonly blockHash: string;
    readonly previous: string;
    readonly destination: string;
    readonly amountRaw: string;
    readonly block: StateBlock;
    readonly signedAt: string;
  };
}

export type OperatorEvent = PayoutBlockSigned;

export interface SignedPayoutBlock {
  readonly payoutId: string;
  readonly userId: string;
  readonly attempt: number;
  readonly blockHash: string;
  readonly block: StateBlock;
}

export interface OperatorState {
  /** The stream's revision, for the expected revision of the next append; null: no stream yet. */
  readonly revision: bigint | null;
  /** The block signed last. The executor resolves it before it signs another (one at a time). */
  readonly lastSigned: SignedPayoutBlock | null;
  /** Every block signed for each payout, oldest first. */
  readonly signedByPayout: ReadonlyMap<string, readonly SignedPayoutBlock[]>;
}

export const emptyOperatorState: OperatorState = { revision: null, lastSigned: null, signedByPayout: new Map() };

/**
 * Folds events of the operator stream onto `state` (the events that follow it); event types it
 * does not know (donations, milestones) only move the revision.
 */
export function foldOperator(events: readonly RecordedEvent[], state: OperatorState = emptyOperatorState): OperatorState {
  let { lastSigned } = state;
  const signedByPayout = new Map(state.signedByPayout);
  for (const recorded of events) {
    const event = decodeOperatorEvent(recorded.type, recorded.data);
    if (event === null) continue;
    const signed: SignedPayoutBlock = {
      payoutId: event.data.payoutId,
      userId: event.data.userId,
      attempt: event.data.attempt,
      blockHash: event.data.blockHash,
      block: event.data.block,
    };
    lastSigned = signed;
    signedByPayout.set(signed.payoutId, [...(signedByPayout.get(signed.payoutId) ?? []), signed]);
  }
  return { revision: events.at(-1)?.revision ?? state.revision, lastSigned, signedByPayout };
}

type Data = Readonly<Record<string, unknown>>;

export function decodeOperatorEvent(type: string, data: Data): OperatorEvent | null {
  if (type !== 'PayoutBlockSigned') return null;
  const block = (data.block ?? {}) as Data;
  return {
    type,
    data: {
      payoutId: str(data, 'payoutId'),
      userId: str(data, 'userId'),
      attempt: int(data, 'attempt'),
      blockHash: str(data, 'blockHash'),
      previous: str(data, 'previous'),
      destination: str(data, 'destination'),
      amountRaw: str(data, 'amountRaw'),
      block: {
        type: 'state',
        account: str(block, 'account'),
        previous: str(block, 'previous'),
        representative: str(block, 'representative'),
        balance: str(block, 'balance'),
        link: str(block, 'link'),
        signature: str(block, 'signature'),
        work: str(block, 'work'),
      },
      signedAt: str(data, 'signedAt'),
    },
  };
}

function str(data: Data, field: string): string {
  const value = data[field];
  if (typeof value !== 'string') throw new Error(`Stored operator event field ${field} is not a string`);
  return value;
}

function int(data: Data, field: string): number {
  const value = data[field];
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new Error(`Stored operator event field ${field} is not an integer`);
  return value;
}
