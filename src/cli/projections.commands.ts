import { Presets, SingleBar } from 'cli-progress';
import { type Command } from 'commander';
import { allProjections, type Projection } from '../../projections';
import { type BuildProgress, rebuildProjections, type RebuildResult } from '../../projections/runtime/rebuild';
import { formatStatus, projectionsStatus } from '../../projections/runtime/status';
import { formatVerifyReport, verifyProjections } from '../../projections/runtime/verify';
import { DomainError } from '../platform/errors/domain-error';
import { EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, type LedgerCommand, once, withLedger, write } from './ledger-command';

/*
 * `npm run cli -- projections rebuild|verify|status`. Like src/read-side.ts, this file belongs to a
 * composition root (the CLI's), so it may import projections/; the work itself is done, and tested,
 * in projections/runtime/rebuild.ts, verify.ts and status.ts.
 *
 * Progress goes to stderr (cli-progress), so stdout carries only the result. On a terminal the bar
 * redraws in place; redirected to a file or a pipe it prints a line every two seconds.
 */

/** Projections by name, or by the name of a table one owns; all of them, in rebuild order, when none is named. */
export function selectProjections(names: readonly string[], projections: readonly Projection[] = allProjections): Projection[] {
  if (names.length === 0) return [...projections];
  const unknown = names.filter((name) => !projections.some((projection) => projection.name === name || projection.tables.includes(name)));
  if (unknown.length > 0) {
    throw new DomainError(
      'unknown_projection',
      `Unknown projection ${unknown.join(', ')}; the projections are ${projections.map((projection) => `${projection.name} (${projection.tables.join(', ')})`).join(', ')}`,
      400,
    );
  }
  return projections.filter((projection) => names.some((name) => projection.name === name || projection.tables.includes(name)));
}

/**
 * One bar per projection: how far through the store's positions the build is (positions, since the
 * event store port counts no events: for the PostgreSQL store they number the events, with a gap
 * only where an append rolled back; for EventStoreDB they are log offsets, still proportional), the
 * events applied, events per second, and the ETA cli-progress derives from the positions' rate.
 */
export class ProgressBars implements BuildProgress {
  private readonly bars = new Map<string, { bar: SingleBar; from: bigint; startedAt: number }>();

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  start(projection: string, range: { readonly from: bigint | null; readonly to: bigint | null; readonly resumed: boolean; readonly eventsBefore: bigint }): void {
    const from = range.from ?? 0n;
    const bar = new SingleBar(
      {
        format: `${projection.padEnd(22)} {bar} {percentage}% | {events} events | {rate} events/s | ETA {eta_formatted}${range.resumed ? ` | resumed at ${from.toString()}` : ''}`,
        stream: this.stream,
        noTTYOutput: true,
        notTTYSchedule: 2_000,
        fps: 10,
        etaBuffer: 50,
        hideCursor: true,
        barsize: 30,
      },
      Presets.shades_classic,
    );
    bar.start(Math.max(1, spanOf(from, range.to)), 0, { events: 0, rate: '0' });
    this.bars.set(projection, { bar, from, startedAt: Date.now() });
  }

  update(projection: string, progress: { readonly position: bigint; readonly to: bigint | null; readonly events: number }): void {
    const entry = this.bars.get(projection);
    if (entry === undefined) return;
    const seconds = Math.max(0.001, (Date.now() - entry.startedAt) / 1000);
    const total = spanOf(entry.from, progress.to);
    entry.bar.setTotal(Math.max(1, total));
    // Nothing between the start and the head: that is done, not 0%.
    const done = total === 0 ? 1 : spanOf(entry.from, progress.position);
    entry.bar.update(done, { events: progress.events, rate: Math.round(progress.events / seconds).toString() });
  }

  stop(projection: string): void {
    const entry = this.bars.get(projection);
    if (entry === undefined) return;
    entry.bar.stop();
    this.bars.delete(projection);
  }
}

function spanOf(from: bigint, to: bigint | null): number {
  return to === null || to < from ? 0 : Number(to - from);
}

/** Ctrl-C (or SIGTERM) once: stop after the batch in progress, keeping it; twice: leave at once. */
function interruptible(): { signal: AbortSignal; release: () => void } {
  const controller = new AbortController();
  const onSignal = (): void => {
    if (controller.signal.aborted) {
      // The bar hides the cursor while it draws; show it again before leaving mid-draw.
      process.stderr.write('\u001B[?25h\n');
      process.exit(EXIT_ERROR);
    }
    controller.abort();
    process.stderr.write('\nStopping after the batch in progress (again to stop at once)…\n');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    release: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** Events a --batch-size may ask for in one transaction, at most: PROJECTOR_BATCH_SIZE's bound. */
const BATCH_SIZE_MAX = 10_000;

/**
 * Digits alone (not `1e3`, `0x10` or ` 5`, which Number() reads), from 1 to `max` when given: a
 * batch size past PostgreSQL's integer failed only once the rebuild had begun, with the database's
 * own error, and left an interrupted rebuild behind.
 */
function positiveInteger(value: string | undefined, name: string, fallback: number, max?: number): number {
  if (value === undefined) return fallback;
  const parsed = /^[0-9]{1,16}$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(parsed) || parsed < 1 || (max !== undefined && parsed > max)) {
    const range = max === undefined ? 'a positive integer' : `a whole number from 1 to ${max}`;
    throw new DomainError('invalid_option', `${name} must be ${range} (got ${value})`, 400);
  }
  return parsed;
}

export function formatRebuildResult(result: RebuildResult): string {
  const seconds = result.durationMs / 1000;
  const rate = result.eventsThisRun / Math.max(seconds, 0.001);
  const resumed = result.resumedFrom === null ? 'from position 0' : `resumed at position ${result.resumedFrom.toString()}`;
  if (result.outcome === 'interrupted') {
    return (
      `${result.name}: interrupted at position ${String(result.position ?? '-')} after ${result.eventsThisRun} events (${resumed}); ` +
      `the live tables are untouched. Run the same command again to resume.\n`
    );
  }
  const tables = result.tables.map((table) => `${table.table} ${table.rows} rows`).join(', ');
  return (
    `${result.name}: rebuilt ${resumed} to ${String(result.position ?? '-')}, ${result.eventsApplied} events ` +
    `(${result.eventsThisRun} this run, ${result.eventsUnderLock} under the swap's lock) in ${seconds.toFixed(2)} s, ${Math.round(rate)} events/s; ` +
    `swapped in: ${tables}\n`
  );
}

const jsonText = (value: unknown): string => `${JSON.stringify(value, (_key, field: unknown) => (typeof field === 'bigint' ? field.toString() : field), 2)}\n`;

interface RebuildOptions {
  readonly names: string[];
  readonly restart?: boolean;
  readonly batchSize?: string;
}

interface VerifyOptions {
  readonly json?: boolean;
  readonly batchSize?: string;
  readonly show?: string;
}

const rebuildOptionsOf = (options: RebuildOptions): { projections: Projection[]; batchSizeMax: number } => ({
  projections: selectProjections(options.names),
  batchSizeMax: positiveInteger(options.batchSize, '--batch-size', 1_000, BATCH_SIZE_MAX),
});

const verifyOptionsOf = (options: VerifyOptions): { batchSizeMax: number; differencesShownMax: number } => ({
  batchSizeMax: positiveInteger(options.batchSize, '--batch-size', 1_000, BATCH_SIZE_MAX),
  differencesShownMax: positiveInteger(options.show, '--show', 20),
});

const rebuildCommand: LedgerCommand<RebuildOptions> = async (context, options) => {
  const { projections, batchSizeMax } = rebuildOptionsOf(options);
  const { signal, release } = interruptible();
  try {
    const results = await rebuildProjections(context.infrastructure.pool, context.infrastructure.eventStore, projections, {
      restart: options.restart === true,
      batchSizeMax,
      signal,
      progress: new ProgressBars(),
      idleTimeoutMs: context.config.projector.batchIdleTimeoutMs,
    });
    for (const result of results) await write(process.stdout, formatRebuildResult(result));
    const rebuilt = results.filter((result) => result.outcome === 'rebuilt').length;
    if (rebuilt < projections.length) {
      await write(process.stdout, `Rebuilt ${rebuilt} of ${projections.length} projections; interrupted.\n`);
      return EXIT_ERROR;
    }
    await write(process.stdout, `Rebuilt ${rebuilt} projection${rebuilt === 1 ? '' : 's'}.\n`);
    return EXIT_OK;
  } finally {
    release();
  }
};

const verifyCommand: LedgerCommand<VerifyOptions> = async (context, options) => {
  const { batchSizeMax, differencesShownMax } = verifyOptionsOf(options);
  const { signal, release } = interruptible();
  try {
    const report = await verifyProjections(context.infrastructure.pool, context.infrastructure.eventStore, allProjections, {
      batchSizeMax,
      differencesShownMax,
      signal,
      progress: new ProgressBars(),
      idleTimeoutMs: context.config.projector.batchIdleTimeoutMs,
    });
    await write(process.stdout, options.json === true ? jsonText(report) : formatVerifyReport(report));
    return report.differences === 0 ? EXIT_OK : EXIT_FINDINGS;
  } finally {
    release();
  }
};

const statusCommand: LedgerCommand<{ json?: boolean }> = async (context, options) => {
  const report = await projectionsStatus(context.infrastructure.pool, context.infrastructure.eventStore, allProjections);
  await write(process.stdout, options.json === true ? jsonText(report) : formatStatus(report));
  return EXIT_OK;
};

export function registerProjectionCommands(program: Command): void {
  const projections = program
    .command('projections')
    .description('Rebuild the read models from the events, prove a rebuild equals them, and show how far each projection is.');
  projections
    .command('rebuild')
    .description(
      'Rebuild the named projections (a projection name or one of its tables; all when none is named) from position 0 into shadow ' +
        'tables, with a progress bar on stderr, then swap them in atomically: queries see the old tables until the swap commits, ' +
        'the new ones after, never a partial one. The running service keeps projecting meanwhile. Ctrl-C stops after the batch ' +
        'in progress; running the command again resumes.',
    )
    .argument('[names...]', `projections: ${allProjections.map((projection) => projection.name).join(', ')}`)
    .option('--restart', 'drop an interrupted rebuild instead of resuming it')
    .option('--batch-size <n>', 'events applied per transaction, 1 to 10000 (default 1000)', once('--batch-size'))
    .addHelpText('after', '\nExit codes: 0 rebuilt, 1 interrupted or error (the live tables are then unchanged).')
    .action((names: string[], options: { restart?: boolean; batchSize?: string }) => withLedger(rebuildCommand, { ownSignals: true, check: rebuildOptionsOf })({ names, ...options }));
  projections
    .command('verify')
    .description(
      'Rebuild every projection into a shadow schema, up to the live checkpoints, and compare every table with the live one, row by row; ' +
        'print each difference (table, primary key, columns), or a summary of tables, rows and a checksum. Prints how long it took.',
    )
    .option('--json', 'print the report as JSON')
    .option('--batch-size <n>', 'events applied per transaction, 1 to 10000 (default 1000)', once('--batch-size'))
    .option('--show <n>', 'differences listed per table, at most (default 20; all are counted)', once('--show'))
    .addHelpText('after', '\nExit codes: 0 the live read models equal a rebuild, 2 differences found, 1 error.')
    .action(withLedger(verifyCommand, { check: verifyOptionsOf }));
  projections
    .command('status')
    .description("Each projection's checkpoint, events and seconds behind the event store, state (caught up, behind, never run), and any interrupted rebuild.")
    .option('--json', 'print the status as JSON')
    .action(withLedger(statusCommand));
}
