import { type CommandMetadata } from '../../platform/decider';

export class VerifyWalletCommand {
  constructor(
    readonly userId: string,
    readonly address: string,
    readonly message: string,
    readonly signature: string,
    readonly metadata: CommandMetadata,
  ) {}
}

export interface VerifyWalletResult {
  readonly address: string;
  readonly verified: true;
  readonly position: string | null;
}
