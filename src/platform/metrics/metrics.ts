import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { SharedRuns } from '../runtime/shared-runs';

export const METRICS = Symbol('METRICS');

/** How a command ended: done, refused for a broken rule or bad input (4xx), or failed (5xx). */
export type CommandOutcome = 'ok' | 'rejected' | 'error';

/** One call to the Banano node as the metrics see it; the RPC client reports these (banano-rpc.client.ts). */
export interface BananoRpcMeasurement {
  readonly action: string;
  readonly durationSeconds: number;
  /** `ok`, or what went wrong: `rejected`, `unavailable`, `timeout`. */
  readonly outcome: 'ok' | 'rejected' | 'unavailable' | 'timeout';
  /** For a failure, its finer kind (`timeout`, `rejected`, `connection_refused`, `malformed`, …). */
  readonly errorKind: string | null;
}

export interface ProjectionLagMeasurement {
  readonly projection: string;
  /** Events stored after the projection's checkpoint, counted up to PROJECTION_LAG_EVENTS_COUNTED_MAX. */
  readonly events: number;
  /** Age of the oldest of them; 0 when there are none. */
  readonly seconds: number;
}

/** Work a scrape does before it reads the registry: gauges read from the database and the event store. */
export interface ScrapeCollector {
  readonly name: string;
  collect(): Promise<void>;
  /** Forgets the collector's values, so a failed collection shows no series rather than stale ones. */
  reset(): void;
}

/**
 * The lag gauge counts unapplied events by reading them, so a projection far behind (a rebuild)
 * would cost a scrape a large read; past this many it reads as this many.
 */
export const PROJECTION_LAG_EVENTS_COUNTED_MAX = 1_000;

/** A scrape never waits longer than this for one collector (a hung database must not hang /metrics). */
export const SCRAPE_COLLECT_TIMEOUT_MS = 2_000;

/**
 * How long scrapes keep waiting for a collection under way rather than starting their own. A
 * database statement times out after 30 s, so a collection older than that is stuck for a reason
 * of its own.
 */
const SCRAPE_COLLECTION_SHARED_MAX_MS = 30_000;

/**
 * The workers a process may run (src/workers.ts), the label values of failed worker runs. What a
 * failed run is, worker by worker, is said where each one is counted; in short, a scheduled run
 * that could not do its work (it threw, or an API refused our key), never one user's call skipped
 * inside a run that went on.
 */
export const WORKER_NAMES = ['payout-executor', 'donation-ingester', 'settlement-scheduler', 'stats-poller', 'yunite-reverification'] as const;
export type WorkerName = (typeof WORKER_NAMES)[number];

/** The statuses of the payouts read model (migrations/0006), each shown even while 0. */
const PAYOUT_STATUSES = ['pending', 'sent', 'failed', 'cancelled'] as const;

const HTTP_SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BANANO_RPC_SECONDS_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const SETTLEMENT_SECONDS_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const SETTLEMENT_PAYOUTS_BUCKETS = [0, 1, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000];
const SETTLEMENT_KILLS_BUCKETS = [0, 10, 50, 100, 500, 1_000, 5_000, 10_000, 50_000, 100_000];

/**
 * Process metrics (CPU, resident memory, heap, event loop lag, GC) describe the process, not an
 * application, and prom-client's collectors for them install process-wide observers that are never
 * removed. So they live in one registry per process, made on first use, and every application's
 * scrape shows them beside its own; tests that start several applications in one process thus
 * neither collide nor leak observers.
 */
let processRegistry: Registry | null = null;

function processMetrics(): Registry {
  if (processRegistry === null) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/**
 * The Prometheus metrics of one application instance, in a registry of its own (never prom-client's
 * global one). Names follow the Prometheus conventions: a `ledger_` prefix, the unit last, `_total`
 * on counters. Every label value comes from a bounded set (command classes, stream categories,
 * route patterns, statuses, RPC actions, workers); none is a user id, an address, a key or a seed.
 */
export class Metrics {
  readonly contentType = Registry.PROMETHEUS_CONTENT_TYPE;
  private readonly registry = new Registry();
  private readonly collectors: ScrapeCollector[] = [];
  /**
   * The collection each collector has under way, which scrapes arriving meanwhile wait for.
   * /metrics is public: were every scrape to collect, a burst of scrapes would put as many reads on
   * the database pool at once (each projection's unapplied events, up to
   * PROJECTION_LAG_EVENTS_COUNTED_MAX of them), and against a hung database each scrape would
   * leave one more read waiting after its timeout.
   */
  private readonly collections = new SharedRuns<ScrapeCollector, void>(SCRAPE_COLLECTION_SHARED_MAX_MS);
  // Made with the first application, so GC and event-loop observations start then, not at the first scrape.
  private readonly processWide = processMetrics();

  private readonly commands = new Counter({
    name: 'ledger_commands_total',
    help: 'Commands executed on the command bus, by command and outcome (ok, rejected: a 4xx answer, error: a 5xx answer).',
    labelNames: ['command', 'outcome'] as const,
    registers: [this.registry],
  });

  private readonly eventsAppended = new Counter({
    name: 'ledger_events_appended_total',
    help: 'Events appended to the event store by this instance, by stream category.',
    labelNames: ['category'] as const,
    registers: [this.registry],
  });

  private readonly projectionLagEvents = new Gauge({
    name: 'ledger_projection_lag_events',
    help: `Events stored after the projection's committed checkpoint (measured at scrape; counted up to ${PROJECTION_LAG_EVENTS_COUNTED_MAX}).`,
    labelNames: ['projection'] as const,
    registers: [this.registry],
  });

  private readonly projectionLagSeconds = new Gauge({
    name: 'ledger_projection_lag_seconds',
    help: "Age of the oldest event stored after the projection's committed checkpoint; 0 when caught up (measured at scrape).",
    labelNames: ['projection'] as const,
    registers: [this.registry],
  });

  private readonly payouts = new Gauge({
    name: 'ledger_payouts',
    help: 'Payouts in the payouts read model, by status (measured at scrape).',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });

  private readonly settlementRunDuration = new Histogram({
    name: 'ledger_settlement_run_duration_seconds',
    help: 'Duration of settlement runs that appended (not previews), by trigger.',
    labelNames: ['trigger'] as const,
    buckets: SETTLEMENT_SECONDS_BUCKETS,
    registers: [this.registry],
  });

  private readonly settlementRunPayouts = new Histogram({
    name: 'ledger_settlement_run_payouts',
    help: 'Payouts requested per settlement run, by trigger.',
    labelNames: ['trigger'] as const,
    buckets: SETTLEMENT_PAYOUTS_BUCKETS,
    registers: [this.registry],
  });

  private readonly settlementRunKills = new Histogram({
    name: 'ledger_settlement_run_kills',
    help: 'Kills claimed by the payouts of one settlement run, by trigger.',
    labelNames: ['trigger'] as const,
    buckets: SETTLEMENT_KILLS_BUCKETS,
    registers: [this.registry],
  });

  private readonly bananoRpcDuration = new Histogram({
    name: 'ledger_banano_rpc_duration_seconds',
    help: 'Calls to the Banano node, retries included, by action and outcome (ok, rejected, unavailable, timeout).',
    labelNames: ['action', 'outcome'] as const,
    buckets: BANANO_RPC_SECONDS_BUCKETS,
    registers: [this.registry],
  });

  private readonly bananoRpcErrors = new Counter({
    name: 'ledger_banano_rpc_errors_total',
    help: 'Calls to the Banano node that failed, by action and kind (rejected, timeout, connection_refused, connection_dropped, network, server_error, unexpected_status, malformed).',
    labelNames: ['action', 'kind'] as const,
    registers: [this.registry],
  });

  private readonly httpDuration = new Histogram({
    name: 'ledger_http_request_duration_seconds',
    help: 'HTTP requests served, by method, route pattern (unmatched for unknown routes) and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: HTTP_SECONDS_BUCKETS,
    registers: [this.registry],
  });

  private readonly collectErrors = new Counter({
    name: 'ledger_metrics_collect_errors_total',
    help: 'Scrape-time collectors that failed or timed out, by collector; their gauges are then left out of that scrape.',
    labelNames: ['collector'] as const,
    registers: [this.registry],
  });

  private readonly workerRunFailures = new Counter({
    name: 'ledger_worker_run_failures_total',
    help: `Scheduled worker runs that could not do their work (an error, or an API that refused our key), by worker (${WORKER_NAMES.join(', ')}); each is counted, also when its log line is left out as a repeat.`,
    labelNames: ['worker'] as const,
    registers: [this.registry],
  });

  commandExecuted(command: string, outcome: CommandOutcome): void {
    this.commands.inc({ command, outcome });
  }

  appended(category: string, count: number): void {
    this.eventsAppended.inc({ category }, count);
  }

  httpResponded(method: string, route: string, status: number, durationSeconds: number): void {
    this.httpDuration.observe({ method, route, status: String(status) }, durationSeconds);
  }

  settlementRunCompleted(run: { readonly trigger: string; readonly durationSeconds: number; readonly payouts: number; readonly kills: number }): void {
    this.settlementRunDuration.observe({ trigger: run.trigger }, run.durationSeconds);
    this.settlementRunPayouts.observe({ trigger: run.trigger }, run.payouts);
    this.settlementRunKills.observe({ trigger: run.trigger }, run.kills);
  }

  bananoRpcCalled(call: BananoRpcMeasurement): void {
    this.bananoRpcDuration.observe({ action: call.action, outcome: call.outcome }, call.durationSeconds);
    if (call.errorKind !== null) this.bananoRpcErrors.inc({ action: call.action, kind: call.errorKind });
  }

  /**
   * A scheduled run of `worker` failed. Workers know nothing of prom-client: src/workers.ts (and
   * the treasury module, for the donation ingester) hand each one a callback that calls this.
   */
  workerRunFailed(worker: WorkerName): void {
    this.workerRunFailures.inc({ worker });
  }

  /**
   * Shows 0 failed runs for each of the workers this process runs, before any fails: a series
   * that first appears with its first failure has no earlier sample, so rate() and increase()
   * would miss that failure. Workers the process does not run show no series at all.
   */
  workersRunning(workers: readonly WorkerName[]): void {
    for (const worker of workers) this.workerRunFailures.inc({ worker }, 0);
  }

  /** Replaces every projection's lag with this measurement (projections not in it disappear). */
  setProjectionLag(lags: readonly ProjectionLagMeasurement[]): void {
    this.resetProjectionLag();
    for (const lag of lags) {
      this.projectionLagEvents.set({ projection: lag.projection }, lag.events);
      this.projectionLagSeconds.set({ projection: lag.projection }, lag.seconds);
    }
  }

  resetProjectionLag(): void {
    this.projectionLagEvents.reset();
    this.projectionLagSeconds.reset();
  }

  /** Replaces the payout counts; statuses not in `counts` read 0. */
  setPayouts(counts: ReadonlyMap<string, number>): void {
    this.payouts.reset();
    for (const status of PAYOUT_STATUSES) this.payouts.set({ status }, counts.get(status) ?? 0);
    for (const [status, count] of counts) this.payouts.set({ status }, count);
  }

  resetPayouts(): void {
    this.payouts.reset();
  }

  /** Runs before a scrape (one collection at a time), bounded by SCRAPE_COLLECT_TIMEOUT_MS. */
  collectAtScrape(collector: ScrapeCollector): void {
    this.collectors.push(collector);
  }

  /** The text exposition (format 0.0.4): this application's metrics and the process's. */
  async scrape(): Promise<string> {
    await Promise.all(this.collectors.map((collector) => this.runCollector(collector)));
    return Registry.merge([this.processWide, this.registry]).metrics();
  }

  private async runCollector(collector: ScrapeCollector): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const timedOut = await Promise.race([
        this.collections.run(collector, () => collector.collect()).then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), SCRAPE_COLLECT_TIMEOUT_MS);
        }),
      ]);
      if (!timedOut) return;
    } catch {
      // Counted below: a scrape still answers with everything else when the database is down,
      // which is when an operator needs the process and HTTP metrics most.
    } finally {
      clearTimeout(timer);
    }
    collector.reset();
    this.collectErrors.inc({ collector: collector.name });
  }
}
