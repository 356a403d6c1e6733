import { type CommandMetadata } from '../../platform/decider';

export class RebuildDonationsCommand {
  constructor(readonly metadata: CommandMetadata) {}
}

/**
 * What a donation rebuild found on the operator's chain and what it appended. Every receive found
 * is either already recorded or appended now: `receivesFound = alreadyRecorded + donations + funding`.
 */
export interface DonationRebuildReport {
  readonly operatorAddress: string;
  /** Blocks of the operator's chain read, of every kind. */
  readonly blocksScanned: number;
  /** Receive blocks among them, the opening block included. */
  readonly receivesFound: number;
  /** Receives whose send the operator stream already recorded. */
  readonly alreadyRecorded: number;
  readonly appended: {
    readonly donations: number;
    readonly funding: number;
    readonly milestones: number;
  };
  /** The send hashes of the receives appended now, in chain order. */
  readonly appendedSendHashes: readonly string[];
}
