import { type LoadResult, runLoad } from './load';
import { type ObservationSource } from './ledger-service';

/** The two shapes of P1 load: batches of observations, and one observation per request. */
export type IngestionPhase = 'batch' | 'single';

export interface IngestionSettings {
  /** Observations per POST /v1/kills/batch. */
  readonly batchSize: number;
  /** Concurrent connections of the batch phase; batchSize × this users are in flight at once. */
  readonly batchConnections: number;
  readonly singleConnections: number;
}

export const INGESTION: IngestionSettings = { batchSize: 100, batchConnections: 4, singleConnections: 8 };

export interface PhaseLoad extends LoadResult {
  readonly phase: IngestionPhase;
  /** Observations in the answered requests. */
  readonly observations: number;
  /** Batch items the ledger answered with status "rejected" (its own rules, or a conflict). */
  readonly rejectedItems: number;
}

const REJECTED = '"status":"rejected"';

/**
 * One phase of ingestion against `baseUrl` (the ledger or its baseline: the same routes, bodies,
 * connections and duration). `apiKey` goes into every request, also to the baseline, which
 * ignores it, so both read requests of the same size.
 */
export async function runIngestionPhase(options: {
  readonly phase: IngestionPhase;
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly source: ObservationSource;
  readonly durationSeconds: number;
  readonly settings?: IngestionSettings;
  readonly connections?: number;
  /** Extra headers (the baseline's rows per observation). */
  readonly headers?: Readonly<Record<string, string>>;
}): Promise<PhaseLoad> {
  const settings = options.settings ?? INGESTION;
  let rejectedItems = 0;
  const countRejected = (body: string): void => {
    for (let at = body.indexOf(REJECTED); at !== -1; at = body.indexOf(REJECTED, at + REJECTED.length)) rejectedItems += 1;
  };
  const headers = { authorization: `Bearer ${options.apiKey}`, ...options.headers };
  if (options.phase === 'batch') {
    const result = await runLoad({
      baseUrl: options.baseUrl,
      connections: options.connections ?? settings.batchConnections,
      durationSeconds: options.durationSeconds,
      headers,
      nextRequest: () => ({ path: '/v1/kills/batch', body: { observations: options.source.batch(settings.batchSize) } }),
      onResponseBody: countRejected,
    });
    return { ...result, phase: 'batch', observations: result.requests * settings.batchSize, rejectedItems };
  }
  const result = await runLoad({
    baseUrl: options.baseUrl,
    connections: options.connections ?? settings.singleConnections,
    durationSeconds: options.durationSeconds,
    headers,
    nextRequest: () => {
      const { userId, lifetimeKills } = options.source.next();
      return { path: `/v1/users/${userId}/kills`, body: { lifetimeKills } };
    },
  });
  return { ...result, phase: 'single', observations: result.requests, rejectedItems };
}
