import { type CommandMetadata } from '../../platform/decider';

export interface RegisterUserResult {
  readonly userId: string;
  /** False when the Discord id was already registered and nothing was appended. */
  readonly created: boolean;
  /** Position of the user's registration in `$all`, for `?minPosition=`. */
  readonly position: bigint;
}

export class RegisterUserCommand {
  constructor(
    readonly discordUserId: string,
    readonly regionCode: string | null,
    readonly metadata: CommandMetadata,
  ) {}
}
