import { type CommandMetadata } from '../../platform/decider';

export interface LinkEpicAccountResult {
  readonly userId: string;
  readonly epicAccountId: string;
  readonly baselineKills: number;
  readonly position: string | null;
}

export class LinkEpicAccountCommand {
  constructor(
    readonly userId: string,
    readonly epicAccountId: string,
    readonly lifetimeKills: bigint | null,
    readonly metadata: CommandMetadata,
  ) {}
}
