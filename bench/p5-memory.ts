import { readFile } from 'node:fs/promises';
import { openEventCounter } from './support/event-count';
import { INGESTION, runIngestionPhase } from './support/ingestion';
import { ObservationSource, seedUsers, startLedgerService } from './support/ledger-service';
import { formatCount } from './support/machine';
import { type BenchContext, type BenchResult } from './types';

/**
 * P5: the service's resident memory under sustained P1 load. The batch and the single route are
 * loaded together (half the connections of each P1 phase), for `minutes`; the child's VmRSS is
 * read from /proc every 5 s (every 2 s in runs under three minutes). Target: at most 300 MB (10^6
 * bytes) at any sample, and flat: the mean of the last window at most 10 % above the mean of the
 * first. The windows are a minute each, or a third of the run when it is shorter than three
 * minutes (the quick run's 30 s).
 */

export interface P5Options {
  readonly minutes: number;
}

const SAMPLE_INTERVAL_MS = 5_000;
const SAMPLE_INTERVAL_SHORT_RUN_MS = 2_000;
const RSS_MAX_BYTES = 300_000_000;
const GROWTH_MAX = 1.1;
const USERS_QUICK = 600;
const USERS_FULL = 1_000;
/** The event count is read this often, for events/s over the run. */
const COUNT_INTERVAL_MS = 60_000;

interface Sample {
  readonly atSeconds: number;
  readonly rssBytes: number;
}

export function p5Memory(options: P5Options): (context: BenchContext) => Promise<BenchResult> {
  return async (context) => {
    const durationSeconds = Math.round(options.minutes * 60);
    const sampleIntervalMs = durationSeconds < 180 ? SAMPLE_INTERVAL_SHORT_RUN_MS : SAMPLE_INTERVAL_MS;
    // Empty: the service applies its own migrations as it starts, as it does in production.
    const database = await context.createDatabase('p5_memory', { migrate: false });
    try {
      const service = await startLedgerService({ databaseUrl: database.url, log: context.log });
      const counter = await openEventCounter('postgres', { databaseUrl: database.url });
      try {
        const users = context.quick ? USERS_QUICK : USERS_FULL;
        const seeded = await seedUsers(service, users, 5);
        // Each route loads its own half of the users, so the two loads never race on a stream.
        const half = Math.floor(users / 2);
        const batchSource = new ObservationSource({ ...seeded, userIds: seeded.userIds.slice(0, half) });
        const singleSource = new ObservationSource({ ...seeded, userIds: seeded.userIds.slice(half) });
        if (!(await service.projectionsCaughtUp(120_000))) context.log('P5: projections still behind after seeding');
        const mark = await counter.mark();
        const startRss = await rssOf(service.pid);
        context.log(`P5: ${durationSeconds} s of sustained load, RSS sampled every ${sampleIntervalMs / 1000} s (at start ${mb(startRss)})`);

        const started = Date.now();
        const samples: Sample[] = [];
        const eventCounts: Array<{ atSeconds: number; events: number }> = [];
        const sampler = setInterval(() => {
          void rssOf(service.pid)
            .then((rssBytes) => samples.push({ atSeconds: (Date.now() - started) / 1000, rssBytes }))
            .catch(() => undefined);
        }, sampleIntervalMs);
        const countTimer = setInterval(() => {
          // The count sees the events stored when it was sent, so that is its time.
          const atSeconds = (Date.now() - started) / 1000;
          void counter
            .countSince(mark)
            .then((events) => {
              eventCounts.push({ atSeconds, events });
              context.log(`P5: ${atSeconds.toFixed(0)} s, ${formatCount(events)} events, RSS ${samples.length === 0 ? '?' : mb(samples[samples.length - 1].rssBytes)}`);
            })
            .catch(() => undefined);
        }, COUNT_INTERVAL_MS);
        let loads;
        try {
          loads = await Promise.all([
            runIngestionPhase({ phase: 'batch', baseUrl: service.baseUrl, apiKey: service.apiKey, source: batchSource, durationSeconds, connections: INGESTION.batchConnections / 2 }),
            runIngestionPhase({ phase: 'single', baseUrl: service.baseUrl, apiKey: service.apiKey, source: singleSource, durationSeconds, connections: INGESTION.singleConnections / 2 }),
          ]);
        } finally {
          clearInterval(sampler);
          clearInterval(countTimer);
        }
        const loadSeconds = (Date.now() - started) / 1000;
        const events = await counter.countSince(mark);
        const caughtUpFrom = Date.now();
        const caughtUp = await service.projectionsCaughtUp(180_000);
        const catchUpSeconds = (Date.now() - caughtUpFrom) / 1000;

        if (samples.length < 3) throw new Error(`P5 took only ${samples.length} RSS samples`);
        const windowSeconds = Math.min(60, durationSeconds / 3);
        const first = mean(samples.filter((sample) => sample.atSeconds <= windowSeconds));
        const last = mean(samples.filter((sample) => sample.atSeconds > loadSeconds - windowSeconds));
        const max = Math.max(...samples.map((sample) => sample.rssBytes));
        const flat = last <= first * GROWTH_MAX;
        const bounded = max <= RSS_MAX_BYTES;
        const [batch, single] = loads;
        const perMinute = eventsPerMinuteWindows(eventCounts);
        const errors = batch.non2xx + batch.errors + single.non2xx + single.errors;
        return {
          id: 'P5',
          title: 'Service RSS under sustained P1 load',
          eventStore: 'postgres',
          dataSize: `${formatCount(events)} events in ${formatCount(batch.requests + single.requests)} requests over ${(loadSeconds / 60).toFixed(1)} min, ${formatCount(users)} users`,
          figures: [
            { label: 'RSS max', value: mb(max) },
            { label: `RSS mean, first ${windowSeconds.toFixed(0)} s`, value: mb(first) },
            { label: `RSS mean, last ${windowSeconds.toFixed(0)} s`, value: mb(last) },
            { label: 'RSS growth, last ÷ first window', value: `${((last / first - 1) * 100).toFixed(1)} %` },
            { label: 'RSS before the load', value: mb(startRss) },
            { label: 'samples', value: `${samples.length}, every ${sampleIntervalMs / 1000} s` },
            { label: 'service node flags', value: service.nodeArgs.length === 0 ? 'none (as npm start)' : service.nodeArgs.join(' ') },
            { label: 'events/s over the run', value: (events / loadSeconds).toFixed(0) },
            ...(perMinute === null ? [] : [{ label: 'events/s, first and last minute', value: perMinute }]),
            { label: 'batch requests/s, p50/p99', value: `${batch.requestsPerSecond.toFixed(1)}, ${batch.latencyP50Ms} / ${batch.latencyP99Ms} ms` },
            { label: 'single requests/s, p50/p99', value: `${single.requestsPerSecond.toFixed(1)}, ${single.latencyP50Ms} / ${single.latencyP99Ms} ms` },
            { label: 'non-2xx / errors / rejected items', value: `${batch.non2xx + single.non2xx} / ${batch.errors + single.errors} / ${batch.rejectedItems}` },
            { label: 'projections caught up after the load in', value: caughtUp ? `${catchUpSeconds.toFixed(1)} s` : 'not within 180 s' },
          ],
          target: `RSS ≤ 300 MB and last ${windowSeconds.toFixed(0)} s ≤ first ${windowSeconds.toFixed(0)} s + 10 %`,
          met: flat && bounded && errors === 0,
        };
      } finally {
        await counter.close();
        await service.stop();
      }
    } finally {
      await database.drop();
    }
  };
}

/** VmRSS of a process, in bytes (Linux). */
async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (match === null) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

function mean(samples: readonly Sample[]): number {
  if (samples.length === 0) return Number.NaN;
  return samples.reduce((sum, sample) => sum + sample.rssBytes, 0) / samples.length;
}

function mb(bytes: number): string {
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

/** Events/s in the first and the last minute, from the per-minute counts; null under two minutes. */
function eventsPerMinuteWindows(counts: ReadonlyArray<{ atSeconds: number; events: number }>): string | null {
  if (counts.length < 2) return null;
  const first = counts[0].events / counts[0].atSeconds;
  const previous = counts[counts.length - 2];
  const lastCount = counts[counts.length - 1];
  const last = (lastCount.events - previous.events) / (lastCount.atSeconds - previous.atSeconds);
  return `${first.toFixed(0)} → ${last.toFixed(0)}`;
}
