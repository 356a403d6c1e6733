import { type CommandMetadata } from '../../platform/decider';

export class VerifyUserCommand {
  constructor(
    readonly userId: string,
    readonly metadata: CommandMetadata,
  ) {}
}

/** The verification record, as appended. */
export interface VerifyUserResult {
  readonly userId: string;
  readonly source: string;
  readonly status: string;
  readonly epicAccountId: string | null;
  readonly detail: string | null;
  readonly verifiedAt: string;
  readonly position: string | null;
}
