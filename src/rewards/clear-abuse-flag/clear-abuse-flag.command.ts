import { type CommandMetadata } from '../../platform/decider';

export class ClearAbuseFlagCommand {
  constructor(
    readonly flagId: string,
    readonly reason: string,
    readonly metadata: CommandMetadata,
  ) {}
}

/** The flag is closed (now, or before); `position` is for `?minPosition=`: the user stream's last event. */
export interface ClearAbuseFlagResult {
  readonly flagId: string;
  readonly userId: string;
  readonly status: 'cleared';
  readonly position: string | null;
}
