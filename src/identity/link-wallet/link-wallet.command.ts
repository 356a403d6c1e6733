import { type CommandMetadata } from '../../platform/decider';

export class LinkWalletCommand {
  constructor(
    readonly userId: string,
    readonly address: string,
    readonly metadata: CommandMetadata,
  ) {}
}

export interface LinkWalletResult {
  readonly address: string;
  readonly primary: true;
  readonly verified: boolean;
  readonly position: string | null;
}
