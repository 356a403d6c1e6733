import { inspect } from 'node:util';
import { type CommandMetadata } from '../../platform/decider';

/**
 * Store `seed` as the operator seed (SPEC §5 PUT /v1/admin/operator-seed). The seed travels only
 * from the request to the handler: printing the command (JSON, inspect) shows its metadata alone.
 */
export class SetOperatorSeedCommand {
  constructor(
    readonly seed: string,
    readonly metadata: CommandMetadata,
  ) {}

  toJSON(): { metadata: CommandMetadata } {
    return { metadata: this.metadata };
  }

  [inspect.custom](): string {
    return `SetOperatorSeedCommand { seed: [redacted], metadata: ${inspect(this.metadata)} }`;
  }
}
