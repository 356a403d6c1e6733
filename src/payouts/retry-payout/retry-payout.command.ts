import { type CommandMetadata } from '../../platform/decider';

export class RetryPayoutCommand {
  constructor(
    readonly payoutId: string,
    readonly metadata: CommandMetadata,
  ) {}
}

/**
 * The answer to a retry: the payout, whose user stream holds the PayoutRetryRequested event, is
 * pending again. `position` is that event's, for `?minPosition=` on the read models.
 */
export interface RetryPayoutResult {
  readonly payoutId: string;
  readonly userId: string;
  readonly status: 'pending';
  readonly position: string | null;
}
