import { type CommandMetadata } from '../../platform/decider';
import { type AccrualView } from '../accrual.view';
import { type CurrentRate } from '../economics/rate-factors.source';

export interface Observation {
  readonly userId: string;
  readonly lifetimeKills: bigint;
  /** null: now. */
  readonly observedAt: Date | null;
  /**
   * The Epic account the count was read for, when the caller read it for one (the stats poller, from
   * a list of linked users that may be behind the stream); absent from HTTP observations.
   */
  readonly epicAccountId?: string;
}

export class RecordKillsCommand {
  constructor(
    readonly observation: Observation,
    readonly metadata: CommandMetadata,
    /**
     * The rate factors in force, when the caller read them for several observations at once (a
     * batch is recorded at one moment); absent, the handler reads them for this observation.
     */
    readonly rate?: CurrentRate,
  ) {}
}

export interface RecordKillsResult {
  readonly accrual: AccrualView | null;
  readonly flags: ReadonlyArray<{ readonly flagId: string; readonly flagType: string; readonly severity: string }>;
  readonly position: string | null;
}
