import { Client } from 'pg';
import { allProjections } from '../projections';
import { rebuildProjections } from '../projections/runtime/rebuild';
import { type Benchmark, type BenchFigure } from './types';
import { copyIn, copyOut } from './data/pg-copy';
import { countTableRows, createEventDataset, openEventStore, readModelTables, shareDataset, withPool } from './data/dataset';

/*
 * P2: rebuild every read model from the event store with the real rebuild machinery (what
 * `npm run cli -- projections rebuild <name>` runs: shadow copies built batch by batch, then
 * swapped in), against the baseline of COPY loading the very rows the rebuild produced into the
 * same tables, with the same indexes, constraints and triggers.
 *
 * The projections are rebuilt one at a time, in the CLI's order, and each rebuild is followed at
 * once by the COPY of its own tables: on a shared machine the load changes from minute to minute,
 * and a ratio of two times measured minutes apart would measure that too.
 *
 * Ratio = total COPY time ÷ total rebuild time, i.e. the rebuild's rows per second ÷ COPY's over
 * the same rows. Target ≥ 0.25.
 */

/** Events per rebuild batch: the CLI's default (`--batch-size`). */
export const REBUILD_BATCH_SIZE = 1_000;
const TARGET_RATIO = 0.25;

export const p2Rebuild: Benchmark = async (context) => {
  const dataset = await createEventDataset(context, 'bench_p2');
  let shared = false;
  try {
    const store = openEventStore(dataset);
    const measured: Array<{ readonly name: string; readonly events: number; readonly rebuildSeconds: number; readonly copySeconds: number; readonly rows: Map<string, number> }> = [];
    try {
      await withPool(dataset.database.url, async (pool) => {
        context.log(`P2: rebuilding ${allProjections.length} projections from ${dataset.history.eventCount.toLocaleString('en-US')} events, each followed by its COPY baseline`);
        // Projection by projection, each rebuild followed at once by the COPY of its rows, so the
        // two sides of every ratio are measured moments apart on this shared, noisy machine.
        for (const projection of allProjections) {
          const startedAt = performance.now();
          const [result] = await rebuildProjections(pool, store, [projection], { batchSizeMax: REBUILD_BATCH_SIZE });
          const rebuildSeconds = (performance.now() - startedAt) / 1000;
          if (result?.outcome !== 'rebuilt') throw new Error(`The rebuild of ${projection.name} was interrupted`);
          const rows = await countTableRows(pool, projection.tables);
          const copySeconds = await copyBaseline(dataset.database.url, projection.tables, rows);
          measured.push({ name: projection.name, events: result.eventsThisRun, rebuildSeconds, copySeconds, rows });
          context.log(
            `P2:   ${projection.name.padEnd(20)} rebuild ${rebuildSeconds.toFixed(1).padStart(6)} s (${result.eventsThisRun.toLocaleString('en-US')} events read), ` +
              `COPY ${copySeconds.toFixed(1).padStart(5)} s (${[...rows.values()].reduce((sum, n) => sum + n, 0).toLocaleString('en-US')} rows)`,
          );
        }
      });
    } finally {
      await store.close();
    }
    dataset.rebuilt = true;
    const rebuildSeconds = measured.reduce((sum, entry) => sum + entry.rebuildSeconds, 0);
    const copySeconds = measured.reduce((sum, entry) => sum + entry.copySeconds, 0);
    const counts = new Map(measured.flatMap((entry) => [...entry.rows]));
    const totalRows = [...counts.values()].reduce((sum, rows) => sum + rows, 0);
    const tables = readModelTables();
    context.log(`P2: rebuilt ${totalRows.toLocaleString('en-US')} rows in ${rebuildSeconds.toFixed(1)} s; COPY of the same rows ${copySeconds.toFixed(1)} s`);
    const ratio = copySeconds / rebuildSeconds;
    const figures: BenchFigure[] = [
      { label: 'rebuild time', value: `${rebuildSeconds.toFixed(2)} s` },
      { label: 'rebuild throughput', value: `${perSecond(dataset.history.eventCount, rebuildSeconds)} events/s, ${perSecond(totalRows, rebuildSeconds)} rows/s` },
      { label: 'COPY time (baseline)', value: `${copySeconds.toFixed(2)} s` },
      { label: 'COPY throughput (baseline)', value: `${perSecond(totalRows, copySeconds)} rows/s` },
      {
        label: 'per projection (rebuild s / COPY s)',
        value: measured.map((entry) => `${entry.name} ${entry.rebuildSeconds.toFixed(1)}/${entry.copySeconds.toFixed(1)}`).join(', '),
      },
      { label: 'rebuild batch size', value: `${REBUILD_BATCH_SIZE} events (the CLI's default)` },
      { label: 'rows per table', value: [...counts].map(([table, rows]) => `${table} ${rows.toLocaleString('en-US')}`).join(', ') },
      { label: 'events by type', value: [...dataset.history.byType].sort((a, b) => b[1] - a[1]).map(([type, n]) => `${type} ${n.toLocaleString('en-US')}`).join(', ') },
      { label: 'data generation', value: `${dataset.loadSeconds.toFixed(1)} s (not measured); read back: ${dataset.readBack}` },
    ];
    shareDataset(dataset);
    shared = true;
    return {
      id: 'P2',
      title: 'Projection rebuild of every read model',
      eventStore: context.eventStore,
      dataSize: `${dataset.history.eventCount.toLocaleString('en-US')} events of ${dataset.sizes.users.toLocaleString('en-US')} users → ${totalRows.toLocaleString('en-US')} read-model rows in ${tables.length} tables`,
      figures,
      ratio: { value: ratio, description: 'rebuild throughput ÷ COPY throughput over the same rows (COPY time ÷ rebuild time)', bound: TARGET_RATIO },
      target: `≥ ${TARGET_RATIO} of COPY throughput`,
      met: ratio >= TARGET_RATIO,
    };
  } finally {
    if (!shared) await dataset.database.drop();
  }
};

/**
 * The baseline for one projection: its tables exported with COPY … TO STDOUT (not timed), then,
 * timed and in one transaction, emptied with TRUNCATE and loaded again with COPY … FROM STDIN,
 * indexes, constraints and the journal's deferred balance triggers all in place (they fire at the
 * commit, which is timed too). The tables end with the rows the rebuild left; the counts are checked.
 */
async function copyBaseline(databaseUrl: string, tables: readonly string[], counts: ReadonlyMap<string, number>): Promise<number> {
  const client = new Client({ connectionString: databaseUrl, application_name: 'bench-copy-baseline' });
  await client.connect();
  try {
    const exported = new Map<string, Buffer[]>();
    for (const table of tables) exported.set(table, (await copyOut(client, `COPY ${client.escapeIdentifier(table)} TO STDOUT`)).chunks);
    const startedAt = performance.now();
    await client.query('BEGIN');
    await client.query(`TRUNCATE ${tables.map((table) => client.escapeIdentifier(table)).join(', ')}`);
    for (const table of tables) {
      const rows = await copyIn(client, `COPY ${client.escapeIdentifier(table)} FROM STDIN`, exported.get(table) ?? []);
      if (rows !== counts.get(table)) throw new Error(`COPY loaded ${rows} rows into ${table}, the rebuild left ${String(counts.get(table))}`);
    }
    await client.query('COMMIT');
    return (performance.now() - startedAt) / 1000;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    await client.end();
  }
}

function perSecond(count: number, seconds: number): string {
  return Math.round(count / seconds).toLocaleString('en-US');
}
