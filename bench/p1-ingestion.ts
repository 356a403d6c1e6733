import { type BaselineServer, startBaselineServer } from './support/baseline-server';
import { BARE_SERVER, CpuAccount, CpuMeter, SERVICE, sideParties } from './support/cpu-time';
import { type EventCounter, openEventCounter } from './support/event-count';
import { INGESTION, type IngestionPhase, runIngestionPhase } from './support/ingestion';
import { type LedgerService, ObservationSource, seedUsers, startLedgerService } from './support/ledger-service';
import { percentile } from './support/load';
import { formatCount } from './support/machine';
import { type BenchContext, type BenchFigure, type BenchResult } from './types';

/**
 * P1: kill ingestion over HTTP. The ledger (as `npm start` runs it, in its own process) and a bare
 * fastify + pg baseline (bench/baseline) take the same load, one phase per route:
 * `POST /v1/kills/batch` with 100 observations a request, then `POST /v1/users/:id/kills`. The
 * figure is events durably appended per second, counted in each store before and after each slice
 * of load, with the requests' p50/p99 latency. Target: the ledger reaches ≥ 0.5 of the baseline.
 *
 * The machine is shared and its load comes and goes, so the two are not measured one after the
 * other but in alternating slices (ledger, baseline, ledger, baseline, …), each side's figures
 * summed over its slices: a burst of someone else's work then falls on both.
 *
 * Each side's CPU time is read around its slices (support/cpu-time.ts) and printed per event
 * appended: its server's, PostgreSQL's, the load generator's and the machine's. The ledger's is read
 * until its projections have caught up after the slice, since that work is the slice's too.
 */

interface Plan {
  readonly users: number;
  readonly warmUpSeconds: number;
  readonly rounds: number;
  readonly sliceSeconds: number;
}

/**
 * The batch phase keeps 4 × 100 users in flight, so with 600 and more users concurrent requests
 * mostly touch different streams. The full run's two phases take about two minutes.
 */
const QUICK: Plan = { users: 600, warmUpSeconds: 1, rounds: 1, sliceSeconds: 3 };
const FULL: Plan = { users: 2_000, warmUpSeconds: 3, rounds: 3, sliceSeconds: 6 };
export const TARGET_RATIO = 0.5;
/** The projector's backlog from a ledger slice is worked off before the next slice starts. */
const CATCH_UP_TIMEOUT_MS = 180_000;

interface Side {
  events: number;
  requests: number;
  observations: number;
  seconds: number;
  non2xx: number;
  errors: number;
  rejectedItems: number;
  latenciesMs: number[];
}

interface PhaseFigures {
  readonly ledger: Side;
  readonly baseline: Side;
  readonly ledgerCpu: CpuAccount;
  readonly baselineCpu: CpuAccount;
  /** The longest wait for the projections to catch up after a ledger slice, in seconds; null when one timed out. */
  readonly catchUpSecondsMax: number | null;
}

const PHASES: readonly IngestionPhase[] = ['batch', 'single'];

export async function p1Ingestion(context: BenchContext): Promise<BenchResult[]> {
  const plan = context.quick ? QUICK : FULL;
  // Empty: the service applies its own migrations as it starts, as it does in production.
  const ledgerDatabase = await context.createDatabase('p1_ledger', { migrate: false });
  const baselineDatabase = await context.createDatabase('p1_baseline', { migrate: false });
  const figures = new Map<IngestionPhase, PhaseFigures>();
  try {
    const service = await startLedgerService({ databaseUrl: ledgerDatabase.url, eventStoreConnectionString: context.eventStoreConnectionString, log: context.log });
    const ledgerCounter = await openEventCounter(context.eventStore, { databaseUrl: ledgerDatabase.url, eventStoreConnectionString: context.eventStoreConnectionString });
    try {
      const seedStarted = Date.now();
      const users = await seedUsers(service, plan.users, 1);
      context.log(`P1: ${formatCount(plan.users)} users seeded in ${((Date.now() - seedStarted) / 1000).toFixed(1)} s`);
      const ledgerSource = new ObservationSource(users);
      // The baseline's requests name users it never registered: it does not look.
      const baselineSource = new ObservationSource({ userIds: users.userIds.map((_, index) => syntheticUserId(index)), baselineKills: users.baselineKills });
      for (const phase of PHASES) {
        figures.set(phase, await measurePhase({ context, plan, phase, service, ledgerCounter, ledgerSource, baselineSource, baselineDatabaseUrl: baselineDatabase.url }));
      }
    } finally {
      await ledgerCounter.close();
      await service.stop();
    }
  } finally {
    await ledgerDatabase.drop();
    await baselineDatabase.drop();
  }
  return PHASES.map((phase) => result(context, plan, phase, figures.get(phase)!));
}

async function measurePhase(options: {
  readonly context: BenchContext;
  readonly plan: Plan;
  readonly phase: IngestionPhase;
  readonly service: LedgerService;
  readonly ledgerCounter: EventCounter;
  readonly ledgerSource: ObservationSource;
  readonly baselineSource: ObservationSource;
  readonly baselineDatabaseUrl: string;
}): Promise<PhaseFigures> {
  const { context, plan, phase, service, ledgerCounter } = options;
  const ledgerLoad = (durationSeconds: number): ReturnType<typeof runIngestionPhase> =>
    runIngestionPhase({ phase, baseUrl: service.baseUrl, apiKey: service.apiKey, source: options.ledgerSource, durationSeconds });
  // The baseline writes as many rows per observation as the ledger appended events per
  // observation in the slice just before (the first of a user's minute also accrues).
  const baselineLoad = (durationSeconds: number, rowsPerObservation: number): ReturnType<typeof runIngestionPhase> =>
    runIngestionPhase({
      phase,
      baseUrl: baseline.baseUrl,
      apiKey: 'baseline',
      source: options.baselineSource,
      durationSeconds,
      headers: { 'x-bench-rows-per-observation': rowsPerObservation.toFixed(6) },
    });
  const perObservation = (events: number, observations: number): number => (observations === 0 ? 1 : Math.min(10, Math.max(1, events / observations)));

  await service.projectionsCaughtUp(CATCH_UP_TIMEOUT_MS);
  const warmUpMark = await ledgerCounter.mark();
  const warmUp = await ledgerLoad(plan.warmUpSeconds);
  const warmUpPerObservation = perObservation(await ledgerCounter.countSince(warmUpMark), warmUp.observations);

  const baseline: BaselineServer = await startBaselineServer({ databaseUrl: options.baselineDatabaseUrl });
  const baselineCounter = await openEventCounter('postgres', { databaseUrl: options.baselineDatabaseUrl, table: 'baseline_events' });
  const meter = await CpuMeter.open({ servers: { [SERVICE]: service.pid, [BARE_SERVER]: baseline.process.pid }, databaseUrl: options.baselineDatabaseUrl });
  const ledgerCpu = new CpuAccount(sideParties(SERVICE));
  const baselineCpu = new CpuAccount(sideParties(BARE_SERVER));
  const ledgerSide = emptySide();
  const baselineSide = emptySide();
  let catchUpSecondsMax: number | null = 0;
  const catchUp = async (): Promise<void> => {
    const from = Date.now();
    const caughtUp = await service.projectionsCaughtUp(CATCH_UP_TIMEOUT_MS);
    if (catchUpSecondsMax !== null) catchUpSecondsMax = caughtUp ? Math.max(catchUpSecondsMax, (Date.now() - from) / 1000) : null;
  };
  try {
    await baselineLoad(plan.warmUpSeconds, warmUpPerObservation);
    for (let round = 1; round <= plan.rounds; round += 1) {
      await catchUp();
      const ledgerBefore = meter.read();
      const ledgerSlice = await slice(ledgerSide, ledgerCounter, () => ledgerLoad(plan.sliceSeconds));
      // The projector's backlog is worked off before the baseline's slice, which it would slow.
      await catchUp();
      // The baseline's slice starts at once: the reading that ends the ledger's begins it.
      const ledgerAfter = meter.read();
      ledgerCpu.add(ledgerBefore, ledgerAfter);
      await slice(baselineSide, baselineCounter, () => baselineLoad(plan.sliceSeconds, perObservation(ledgerSlice.events, ledgerSlice.observations)));
      baselineCpu.add(ledgerAfter, meter.read());
      context.log(`P1 ${phase}, round ${round}/${plan.rounds}: ledger ${rate(ledgerSide)} events/s, baseline ${rate(baselineSide)} events/s so far`);
    }
  } finally {
    await baselineCounter.close();
    await baseline.stop();
  }
  return { ledger: ledgerSide, baseline: baselineSide, ledgerCpu, baselineCpu, catchUpSecondsMax };
}

/** One slice of load, added to `side`; answers the slice's own events and observations. */
async function slice(side: Side, counter: EventCounter, load: () => ReturnType<typeof runIngestionPhase>): Promise<{ events: number; observations: number }> {
  const mark = await counter.mark();
  const result = await load();
  // Counted as soon as the load ends: events of requests still on their way are left out, as
  // are their requests.
  const events = await counter.countSince(mark);
  side.events += events;
  side.requests += result.requests;
  side.observations += result.observations;
  side.seconds += result.durationSeconds;
  side.non2xx += result.non2xx;
  side.errors += result.errors;
  side.rejectedItems += result.rejectedItems;
  side.latenciesMs.push(...result.latenciesMs);
  return { events, observations: result.observations };
}

function emptySide(): Side {
  return { events: 0, requests: 0, observations: 0, seconds: 0, non2xx: 0, errors: 0, rejectedItems: 0, latenciesMs: [] };
}

function rate(side: Side): string {
  return side.seconds === 0 ? '0' : (side.events / side.seconds).toFixed(0);
}

function syntheticUserId(index: number): string {
  return `00000000-0000-4000-8000-${index.toString(16).padStart(12, '0')}`;
}

function result(context: BenchContext, plan: Plan, phase: IngestionPhase, figures: PhaseFigures): BenchResult {
  const { ledger, baseline } = figures;
  const ledgerRate = ledger.events / ledger.seconds;
  const baselineRate = baseline.events / baseline.seconds;
  const ratio = baselineRate === 0 ? 0 : ledgerRate / baselineRate;
  const route =
    phase === 'batch'
      ? `POST /v1/kills/batch (${INGESTION.batchSize} per request, ${INGESTION.batchConnections} connections)`
      : `POST /v1/users/:id/kills (${INGESTION.singleConnections} connections)`;
  const latency = (side: Side): string => `${percentile(side.latenciesMs, 0.5)} / ${percentile(side.latenciesMs, 0.99)} ms`;
  const list: BenchFigure[] = [
    { label: 'ledger events/s', value: ledgerRate.toFixed(0) },
    { label: 'ledger requests/s', value: (ledger.requests / ledger.seconds).toFixed(1) },
    { label: 'ledger latency p50/p99', value: latency(ledger) },
    { label: 'baseline events/s', value: baselineRate.toFixed(0) },
    { label: 'baseline requests/s', value: (baseline.requests / baseline.seconds).toFixed(1) },
    { label: 'baseline latency p50/p99', value: latency(baseline) },
    {
      label: 'events per observation, ledger / baseline rows',
      value: `${(ledger.events / Math.max(1, ledger.observations)).toFixed(3)} / ${(baseline.events / Math.max(1, baseline.observations)).toFixed(3)}`,
    },
    {
      label: 'CPU per event appended, µs',
      value: `ledger side (until its projections caught up): ${figures.ledgerCpu.describePer(ledger.events)}; baseline side: ${figures.baselineCpu.describePer(baseline.events)}`,
    },
    { label: 'ledger non-2xx / errors / rejected items', value: `${ledger.non2xx} / ${ledger.errors} / ${ledger.rejectedItems}` },
    {
      label: 'projections caught up after a slice within',
      value: figures.catchUpSecondsMax === null ? `not within ${CATCH_UP_TIMEOUT_MS / 1000} s` : `${figures.catchUpSecondsMax.toFixed(1)} s`,
    },
  ];
  return {
    id: 'P1',
    title: `Kill ingestion, ${route}`,
    eventStore: context.eventStore,
    dataSize:
      `${formatCount(ledger.events)} events in ${formatCount(ledger.requests)} requests (baseline ${formatCount(baseline.events)} in ${formatCount(baseline.requests)}), ` +
      `${plan.rounds} alternating slices of ${plan.sliceSeconds} s each, ${formatCount(plan.users)} users`,
    figures: list,
    ratio: { value: ratio, description: 'ledger events/s ÷ baseline events/s', bound: TARGET_RATIO },
    target: `≥ ${TARGET_RATIO} of the baseline`,
    met: ratio >= TARGET_RATIO && ledger.non2xx === 0 && ledger.errors === 0,
  };
}
