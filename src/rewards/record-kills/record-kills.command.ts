import { type CommandMetadata } from '../../platform/decider';
import { type AccrualView } from '../accrual.view';

export interface Observation {
  readonly userId: string;
  readonly lifetimeKills: bigint;
  /** null: now. */
  readonly observedAt: Date | null;
}

export class RecordKillsCommand {
  constructor(
    readonly observation: Observation,
    readonly metadata: CommandMetadata,
  ) {}
}

export interface RecordKillsResult {
  readonly accrual: AccrualView | null;
  readonly flags: ReadonlyArray<{ readonly flagId: string; readonly flagType: string; readonly severity: string }>;
  readonly position: string | null;
}
