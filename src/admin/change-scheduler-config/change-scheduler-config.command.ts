import { type CommandMetadata } from '../../platform/decider';
import { type SchedulerSettings } from '../faucet-config/faucet-config.events';

export class ChangeSchedulerConfigCommand {
  constructor(
    readonly changes: Partial<SchedulerSettings>,
    readonly metadata: CommandMetadata,
  ) {}
}

/** The schedule in force after the change, which fields it changed, and its position. */
export interface ChangeSchedulerConfigResult {
  readonly scheduler: SchedulerSettings;
  readonly changed: readonly string[];
  readonly position: string | null;
}
