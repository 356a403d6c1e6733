import { DomainError } from '../../platform/errors/domain-error';

export const LIFETIME_KILLS_SOURCE = Symbol('LIFETIME_KILLS_SOURCE');

/** Where a baseline or an observation comes from when a caller does not give one. */
export interface LifetimeKillsSource {
  lifetimeKills(epicAccountId: string): Promise<bigint>;
}

/** How each stats failure reaches an HTTP caller: never as a 500, and never as a baseline of 0. */
const STATS_FAILURES: Readonly<Record<string, { status: number; message: string }>> = {
  stats_unavailable: { status: 503, message: 'The Fortnite stats API is unavailable, so the baseline cannot be read; retry later' },
  stats_rate_limited: { status: 503, message: 'The Fortnite stats API is rate-limiting the ledger; retry later' },
  epic_account_not_found: { status: 422, message: 'The Fortnite stats API knows no such Epic account' },
  stats_private: { status: 422, message: 'The Epic account keeps its stats private, so its kills cannot be read' },
};

/** The stats client's typed errors carry a `code`; anything else is a bug and stays a 500. */
export function statsFailure(error: unknown): DomainError | null {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return null;
  const failure = STATS_FAILURES[code];
  return failure === undefined ? null : new DomainError(code, failure.message, failure.status);
}

/** The reason recorded in a verification when a baseline could not be read, or null for a bug. */
export function statsFailureCode(error: unknown): string | null {
  return statsFailure(error)?.code ?? null;
}
