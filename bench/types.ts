/**
 * The contract between the benchmark runner (bench/run.ts) and each benchmark (bench/p*.ts).
 * The runner provides the PostgreSQL server and prints the report; a benchmark measures the
 * ledger and its baseline in the same run and returns its figures.
 */

export type EventStoreKind = 'postgres' | 'eventstoredb';

export interface BenchDatabase {
  readonly url: string;
  readonly name: string;
  drop(): Promise<void>;
}

export interface BenchContext {
  /** `--quick`: a small run, the whole suite under 2 minutes. */
  readonly quick: boolean;
  /** The server benchmarks create their databases on (DATABASE_URL, or an embedded PostgreSQL). */
  readonly adminDatabaseUrl: string;
  /** Which event store this pass measures (P1–P3 run once per configured store). */
  readonly eventStore: EventStoreKind;
  /** Set when eventStore is 'eventstoredb'. */
  readonly eventStoreConnectionString?: string;
  /** A fresh database on the benchmark server; `migrate: false` leaves it empty. */
  createDatabase(prefix: string, options?: { migrate?: boolean }): Promise<BenchDatabase>;
  /** A progress line on stderr; the report itself goes to stdout. */
  log(line: string): void;
}

export interface BenchFigure {
  readonly label: string;
  readonly value: string;
}

export interface BenchResult {
  readonly id: 'P1' | 'P2' | 'P3' | 'P4' | 'P5';
  readonly title: string;
  readonly eventStore?: EventStoreKind;
  /** The data size measured, in words: "20,000 events in 200 requests", "1,000,000 events". */
  readonly dataSize: string;
  /** Absolute figures of the ledger and of the baseline, printed as they are. */
  readonly figures: readonly BenchFigure[];
  /** The ledger's figure divided by the baseline's, where the benchmark has a baseline. */
  readonly ratio?: {
    readonly value: number;
    readonly description: string;
    /** The target's bound (0.5 for "≥ 0.5"): the ratio is printed precisely enough to show its side. */
    readonly bound?: number;
  };
  /** The target in words, and whether this run met it. */
  readonly target: string;
  readonly met: boolean;
}

export type Benchmark = (context: BenchContext) => Promise<BenchResult>;
