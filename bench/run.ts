/**
 * `npm run bench [-- --quick] [--only P1,P5] [--p5-minutes N] [--json FILE]`: the benchmark suite.
 * It prints the machine, runs P1…P5 in order (P1–P3 once per configured event store), prints
 * each result as it comes and a table at the end. Missed targets are reported, not failures: the
 * exit code is 0 when every benchmark ran, 1 when one failed to run (or the arguments are wrong).
 */
import { writeFile } from 'node:fs/promises';
import { p1Ingestion } from './p1-ingestion';
import { p2Rebuild } from './p2-rebuild';
import { p3Settlement } from './p3-settlement';
import { p4Queries } from './p4-queries';
import { p5Memory } from './p5-memory';
import { openBenchServer, type BenchServer } from './support/bench-server';
import { stopAllChildren } from './support/children';
import { describeMachine, type MachineDescription } from './support/machine';
import { formatRatio } from './support/ratio';
import { type BenchContext, type BenchResult, type EventStoreKind } from './types';

type BenchId = BenchResult['id'];
const IDS: readonly BenchId[] = ['P1', 'P2', 'P3', 'P4', 'P5'];

interface Options {
  readonly quick: boolean;
  readonly only: ReadonlySet<BenchId>;
  readonly p5Minutes: number;
  readonly json: string | null;
}

/**
 * The full run keeps P5 at 10 minutes (the issue's figure). The issue also gives P5 5 minutes in
 * --quick, and the whole quick run under 2 minutes; both cannot hold, and the 2 minutes are what
 * makes --quick usable, so it samples P5 for 30 s (`--p5-minutes 5` gives the 5).
 */
const P5_MINUTES_FULL = 10;
const P5_MINUTES_QUICK = 0.5;
const P5_MINUTES_MAX = 120;

interface Entry {
  readonly id: BenchId;
  /** Run once per configured event store (P1–P3), or once on PostgreSQL. */
  readonly perStore: boolean;
  readonly run: (context: BenchContext) => Promise<BenchResult | readonly BenchResult[]>;
}

function benchmarks(options: Options): Entry[] {
  return [
    { id: 'P1', perStore: true, run: p1Ingestion },
    { id: 'P2', perStore: true, run: p2Rebuild },
    { id: 'P3', perStore: true, run: p3Settlement },
    { id: 'P4', perStore: false, run: p4Queries },
    { id: 'P5', perStore: false, run: p5Memory({ minutes: options.p5Minutes }) },
  ];
}

export class UsageError extends Error {}

export function parseArguments(args: readonly string[]): Options {
  let quick = false;
  let only: Set<BenchId> = new Set(IDS);
  let p5Minutes: number | null = null;
  let json: string | null = null;
  for (let index = 0; index < args.length; index += 1) {
    const argument = args[index];
    const value = (): string => {
      const next = args[index + 1];
      if (next === undefined || next.startsWith('--')) throw new UsageError(`${argument} needs a value`);
      index += 1;
      return next;
    };
    switch (argument) {
      case '--quick':
        quick = true;
        break;
      case '--only': {
        const ids = value().split(',').map((id) => id.trim().toUpperCase()).filter((id) => id !== '');
        const unknown = ids.filter((id) => !(IDS as readonly string[]).includes(id));
        if (ids.length === 0 || unknown.length > 0) throw new UsageError(`--only takes a comma list of ${IDS.join(', ')} (got ${unknown.join(', ') || 'nothing'})`);
        only = new Set(ids as BenchId[]);
        break;
      }
      case '--p5-minutes': {
        const text = value();
        const minutes = Number(text);
        if (!/^\d+(\.\d+)?$/.test(text) || minutes <= 0 || minutes > P5_MINUTES_MAX) throw new UsageError(`--p5-minutes takes a number of minutes above 0, at most ${P5_MINUTES_MAX} (got ${text})`);
        p5Minutes = minutes;
        break;
      }
      case '--json':
        json = value();
        break;
      default:
        throw new UsageError(`unknown argument ${argument}; the arguments are --quick, --only P1,P5, --p5-minutes N and --json FILE`);
    }
  }
  return { quick, only, p5Minutes: p5Minutes ?? (quick ? P5_MINUTES_QUICK : P5_MINUTES_FULL), json };
}

function log(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

function eventStores(): Array<{ kind: EventStoreKind; connectionString?: string }> {
  const esdb = process.env.EVENTSTORE_CONNECTION_STRING;
  return esdb !== undefined && esdb.trim() !== '' ? [{ kind: 'postgres' }, { kind: 'eventstoredb', connectionString: esdb.trim() }] : [{ kind: 'postgres' }];
}

interface Failure {
  readonly id: BenchId | 'clean-up';
  readonly eventStore: EventStoreKind | undefined;
  readonly error: string;
}

async function main(): Promise<number> {
  let options: Options;
  try {
    options = parseArguments(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 1;
  }
  const startedAt = new Date();
  let server: BenchServer | null = null;
  const stopOnSignal = (signal: NodeJS.Signals): void => {
    log(`${signal}: stopping the children and dropping the benchmark databases`);
    void stopAllChildren()
      .then(() => server?.close())
      .catch((error: unknown) => log(String(error)))
      .finally(() => process.exit(130));
  };
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);

  const results: BenchResult[] = [];
  const failures: Failure[] = [];
  let machine: MachineDescription | null = null;
  try {
    server = await openBenchServer(log);
    machine = describeMachine(await server.describe(), server.embedded);
    printMachine(machine, options);
    const base = { quick: options.quick, adminDatabaseUrl: server.adminUrl, createDatabase: server.createDatabase.bind(server), log };
    for (const entry of benchmarks(options)) {
      if (!options.only.has(entry.id)) continue;
      for (const store of entry.perStore ? eventStores() : [{ kind: 'postgres' as const }]) {
        const context: BenchContext = { ...base, eventStore: store.kind, eventStoreConnectionString: 'connectionString' in store ? store.connectionString : undefined };
        log(`${entry.id} on ${store.kind}: starting`);
        const began = Date.now();
        try {
          const produced = await entry.run(context);
          for (const result of Array.isArray(produced) ? produced : [produced as BenchResult]) {
            results.push(result);
            printResult(result);
          }
          log(`${entry.id} on ${store.kind}: done in ${((Date.now() - began) / 1000).toFixed(0)} s`);
        } catch (error) {
          const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
          failures.push({ id: entry.id, eventStore: store.kind, error: message });
          log(`${entry.id} on ${store.kind} failed: ${message}`);
          await stopAllChildren();
        }
      }
    }
  } finally {
    await stopAllChildren();
    await server?.close().catch((error: unknown) => {
      failures.push({ id: 'clean-up', eventStore: undefined, error: String(error) });
    });
  }
  const finishedAt = new Date();
  printTable(results, failures, startedAt, finishedAt);
  if (options.json !== null) {
    await writeFile(
      options.json,
      `${JSON.stringify({ startedAt, finishedAt, command: process.argv.slice(2), quick: options.quick, machine, results, failures }, null, 2)}\n`,
    );
    log(`results written to ${options.json}`);
  }
  return failures.length === 0 ? 0 : 1;
}

function printMachine(machine: MachineDescription, options: Options): void {
  const lines = [
    `Pay2Slay Ledger benchmarks, ${new Date().toISOString()}, ${options.quick ? '--quick' : 'full run'}${options.only.size < IDS.length ? `, only ${[...options.only].join(',')}` : ''}`,
    `Machine: ${machine.cores} cores (${machine.cpuModel}), ${machine.totalMemory} memory (${machine.freeMemoryAtStart} free at start), load average ${machine.loadAverageAtStart}`,
    `Node ${machine.node}; PostgreSQL ${machine.postgres} (${machine.postgresServer}); ${machine.durability}`,
    `Event stores: ${eventStores().map((store) => store.kind).join(', ')}`,
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

function printResult(result: BenchResult): void {
  const lines = [`${result.id} ${result.title}${result.eventStore === undefined ? '' : ` [${result.eventStore}]`}`, `  data size: ${result.dataSize}`];
  for (const figure of result.figures) lines.push(`  ${figure.label}: ${figure.value}`);
  if (result.ratio !== undefined) lines.push(`  ratio: ${formatRatio(result.ratio.value, result.ratio.bound)} (${result.ratio.description})`);
  lines.push(`  target: ${result.target}: ${result.met ? 'met' : 'MISSED'}`, '');
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** A Markdown table, so the README can take it as printed. */
function printTable(results: readonly BenchResult[], failures: readonly Failure[], startedAt: Date, finishedAt: Date): void {
  const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const lines = [
    `Summary (${((finishedAt.getTime() - startedAt.getTime()) / 60_000).toFixed(1)} min)`,
    '',
    '| id | title | store | data size | figures | ratio | target | result |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const result of results) {
    lines.push(
      `| ${[
        result.id,
        result.title,
        result.eventStore ?? '',
        result.dataSize,
        result.figures.map((figure) => `${figure.label} ${figure.value}`).join('; '),
        result.ratio === undefined ? '—' : formatRatio(result.ratio.value, result.ratio.bound),
        result.target,
        result.met ? 'met' : 'missed',
      ]
        .map(cell)
        .join(' | ')} |`,
    );
  }
  for (const failure of failures) {
    lines.push(`| ${failure.id} | did not run | ${failure.eventStore ?? ''} | | ${cell(failure.error.split('\n')[0])} | | | error |`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    void stopAllChildren().finally(() => process.exit(1));
  },
);
