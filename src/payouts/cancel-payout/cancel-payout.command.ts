import { type CommandMetadata } from '../../platform/decider';

export class CancelPayoutCommand {
  constructor(
    readonly payoutId: string,
    readonly reason: string,
    readonly metadata: CommandMetadata,
  ) {}
}

/**
 * The answer to a cancellation: the payout is cancelled and its kills are free to be claimed by a
 * later settlement. `position` is the PayoutCancelled event's, for `?minPosition=`.
 */
export interface CancelPayoutResult {
  readonly payoutId: string;
  readonly userId: string;
  readonly status: 'cancelled';
  readonly position: string | null;
}
