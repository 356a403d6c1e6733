/** A fixed-concurrency HTTP load through autocannon (a devDependency without type declarations). */

interface AutocannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
}

interface AutocannonHistogram {
  readonly average: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

interface AutocannonResult {
  readonly latency: AutocannonHistogram;
  readonly requests: AutocannonHistogram & { readonly total: number };
  readonly duration: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly non2xx: number;
  readonly statusCodeStats?: Record<string, { readonly count: number }>;
  readonly start: Date;
  readonly finish: Date;
}

interface AutocannonInstance extends PromiseLike<AutocannonResult> {
  stop(): void;
  on(event: 'response', listener: (client: unknown, statusCode: number, resBytes: number, responseTimeMs: number) => void): void;
}

type Autocannon = (options: {
  url: string;
  connections: number;
  duration: number;
  timeout: number;
  method: string;
  headers: Record<string, string>;
  requests: Array<{ setupRequest: (request: AutocannonRequest) => AutocannonRequest; onResponse?: (status: number, body: string) => void }>;
}) => AutocannonInstance;

// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require('autocannon') as Autocannon;

export interface LoadOptions {
  readonly baseUrl: string;
  readonly connections: number;
  readonly durationSeconds: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** Called for every request sent: its path and JSON body. */
  readonly nextRequest: () => { readonly path: string; readonly body: unknown };
  /** Called with each response's body (2xx only), e.g. to count items a batch refused. */
  readonly onResponseBody?: (body: string) => void;
}

export interface LoadResult {
  readonly requests: number;
  readonly durationSeconds: number;
  readonly requestsPerSecond: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  /** Every answered request's latency, so that rounds can be merged before taking percentiles. */
  readonly latenciesMs: readonly number[];
  readonly non2xx: number;
  readonly errors: number;
  readonly statusCodes: Readonly<Record<string, number>>;
}

/** Request timeout: a request slower than this is an error, not a latency. */
const REQUEST_TIMEOUT_SECONDS = 30;

/**
 * `connections` clients each send a request, wait for its answer, and send the next, for
 * `durationSeconds`. The same settings go to the ledger and to its baseline.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const onResponse = options.onResponseBody;
  const instance = autocannon({
    url: options.baseUrl,
    connections: options.connections,
    duration: options.durationSeconds,
    timeout: REQUEST_TIMEOUT_SECONDS,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...options.headers },
    requests: [
      {
        setupRequest: (request) => {
          const next = options.nextRequest();
          return { ...request, path: next.path, body: JSON.stringify(next.body) };
        },
        onResponse:
          onResponse === undefined
            ? undefined
            : (status, body) => {
                if (status >= 200 && status < 300) onResponse(body);
              },
      },
    ],
  });
  const latenciesMs: number[] = [];
  instance.on('response', (_client, _statusCode, _resBytes, responseTimeMs) => latenciesMs.push(responseTimeMs));
  const result = await instance;
  const statusCodes: Record<string, number> = {};
  for (const [code, stats] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = Number(stats.count);
  const durationSeconds = (result.finish.getTime() - result.start.getTime()) / 1000;
  return {
    requests: result.requests.total,
    durationSeconds,
    requestsPerSecond: result.requests.total / durationSeconds,
    latencyP50Ms: percentile(latenciesMs, 0.5),
    latencyP99Ms: percentile(latenciesMs, 0.99),
    latenciesMs,
    non2xx: result.non2xx,
    errors: result.errors,
    statusCodes,
  };
}

/** The `fraction` percentile (nearest rank) of `values`, in ms to 0.1; 0 when there are none. */
export function percentile(values: readonly number[], fraction: number): number {
  if (values.length === 0) return 0;
  return Math.round(nearestRank([...values].sort((a, b) => a - b), fraction) * 10) / 10;
}

/** The `fraction` percentile of values sorted ascending, by nearest rank, unrounded; NaN when there are none. */
export function nearestRank(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))];
}
