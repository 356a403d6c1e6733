import { type Command } from 'commander';
import { DomainError } from '../platform/errors/domain-error';
import { FAUCET_CONFIG_STREAM } from '../admin/faucet-config/faucet-config.events';
import { USER_CATEGORY } from '../identity/user/user.stream';
import { operatorStream } from '../payouts/operator/operator.events';
import { SETTLEMENT_CATEGORY } from '../payouts/settlement/settlement.events';
import { categoryOf, type EventFilter, type EventStore, type RecordedEvent } from '../platform/event-store/event-store.port';
import { isPosition, POSITION_MAX } from '../platform/http/paging';
import { SECURE_CONFIG_STREAM } from '../security/secure-config/secure-config.events';
import { EXIT_OK, type LedgerCommand, once, withLedger, write } from './ledger-command';

/*
 * `events tail`: the event store as it grows, one line per event, for debugging. Events hold no
 * secret by design (the operator seed and keys never go into one, SPEC §4.6), so every field is
 * printed; a line's data is cut at DATA_LENGTH_MAX characters.
 */

/** Events read per page when not following. */
const PAGE_SIZE_MAX = 500;
/** A line shows at most this much of an event's data (compact JSON). */
const DATA_LENGTH_MAX = 400;
/**
 * The categories (the part of a stream name before its first `-`) the ledger writes. A tail of any
 * other would print nothing, and with follow wait for ever: `--category users` looked like a quiet
 * ledger. A new kind of stream is added here.
 */
const STREAM_CATEGORIES: readonly string[] = [
  USER_CATEGORY,
  categoryOf(operatorStream('')),
  SETTLEMENT_CATEGORY,
  categoryOf(FAUCET_CONFIG_STREAM),
  categoryOf(SECURE_CONFIG_STREAM),
];
/** `--limit` in digits: nine of them, so the count stays a safe integer. */
const LIMIT_MAX = 999_999_999;

export interface TailOptions {
  /** Exclusive; null: from the start. */
  readonly fromPosition: bigint | null;
  /** Only these stream categories; null: every event. */
  readonly categories: readonly string[] | null;
  /** Stop after this many events; null: no limit. */
  readonly limit: number | null;
  /** Keep waiting for new events (until `signal` aborts or `limit` is reached), or stop at the head. */
  readonly follow: boolean;
  readonly json: boolean;
  readonly signal?: AbortSignal;
}

/** One event on one line: position, time, stream, type, actor, compact data. */
export function formatEventLine(event: RecordedEvent): string {
  const data = JSON.stringify(event.data);
  const actor = event.metadata.actor;
  return [
    event.position.toString(),
    event.createdAt.toISOString(),
    event.streamName,
    event.type,
    `${actor?.kind ?? '?'}:${actor?.name ?? '?'}`,
    data.length > DATA_LENGTH_MAX ? `${data.slice(0, DATA_LENGTH_MAX - 1)}…` : data,
  ].join('  ');
}

/** The same event as one JSON object (NDJSON), whole. */
export function eventJson(event: RecordedEvent): string {
  return JSON.stringify({
    position: event.position.toString(),
    recordedAt: event.createdAt.toISOString(),
    stream: event.streamName,
    revision: Number(event.revision),
    type: event.type,
    actor: event.metadata.actor,
    correlationId: event.metadata.correlationId,
    data: event.data,
  });
}

/**
 * Prints the events after `fromPosition` through `writeLine`, and answers the position of the last
 * one printed (or `fromPosition` when none was). Following, it ends when `signal` aborts or
 * `limit` events were printed; otherwise at the head of the store as it is reached.
 */
export async function tailEvents(store: EventStore, options: TailOptions, writeLine: (line: string) => Promise<void>): Promise<{ count: number; lastPosition: bigint | null }> {
  const filter: EventFilter | undefined = options.categories === null ? undefined : { kind: 'category', categories: options.categories };
  const format = options.json ? eventJson : formatEventLine;
  let count = 0;
  let lastPosition = options.fromPosition;
  const done = (): boolean => (options.limit !== null && count >= options.limit) || options.signal?.aborted === true;
  const print = async (event: RecordedEvent): Promise<void> => {
    await writeLine(format(event));
    count += 1;
    lastPosition = event.position;
  };
  if (done()) return { count, lastPosition };
  if (!options.follow) {
    for (;;) {
      const page = await store.readAll({ fromPosition: lastPosition, maxCount: PAGE_SIZE_MAX, filter });
      for (const event of page) {
        await print(event);
        if (done()) return { count, lastPosition };
      }
      if (page.length < PAGE_SIZE_MAX) return { count, lastPosition };
    }
  }
  const subscription = store.subscribeToAll({ fromPosition: options.fromPosition, filter });
  const stop = (): void => void subscription.close();
  options.signal?.addEventListener('abort', stop, { once: true });
  try {
    for await (const event of subscription) {
      await print(event);
      if (done()) break;
    }
  } finally {
    options.signal?.removeEventListener('abort', stop);
    await subscription.close();
  }
  return { count, lastPosition };
}

interface TailCommandOptions {
  readonly category?: string[];
  readonly from?: string;
  readonly limit?: string;
  readonly follow: boolean;
  readonly json?: boolean;
}

/** Checks the options as typed; bad ones are errors (exit 1), never a guess. */
export function tailOptionsOf(options: TailCommandOptions): Omit<TailOptions, 'fromPosition' | 'signal'> & { fromPosition: bigint | 'head' } {
  const categories = (options.category ?? []).flatMap((list) => list.split(',')).map((name) => name.trim()).filter((name) => name !== '');
  const bad = categories.find((name) => !STREAM_CATEGORIES.includes(name));
  if (bad !== undefined) throw new DomainError('invalid_category', `--category ${bad} is not a stream category; they are ${STREAM_CATEGORIES.join(', ')}`);
  if (options.from !== undefined && !isPosition(options.from)) {
    throw new DomainError('invalid_from', `--from ${options.from} is not a position (digits, at most ${POSITION_MAX.toString()})`);
  }
  const limit = options.limit === undefined ? null : Number(options.limit);
  if (limit !== null && (!/^[0-9]{1,9}$/.test(options.limit ?? '') || limit < 1)) {
    throw new DomainError('invalid_limit', `--limit ${options.limit} is not a whole number from 1 to ${LIMIT_MAX}`);
  }
  return {
    fromPosition: options.from === undefined ? 'head' : BigInt(options.from),
    categories: categories.length === 0 ? null : categories,
    limit,
    follow: options.follow,
    json: options.json === true,
  };
}

const tailCommand: LedgerCommand<TailCommandOptions> = async (context, options) => {
  const store = context.infrastructure.eventStore;
  const parsed = tailOptionsOf(options);
  const fromPosition = parsed.fromPosition === 'head' ? await store.headPosition() : parsed.fromPosition;
  // Ctrl-C (or a TERM) ends the tail, which is how a tail is meant to end: exit 0, not 130.
  const abort = new AbortController();
  const stop = (): void => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    // On stderr, so stdout stays the events alone: a follow that has printed nothing yet is waiting, not stuck.
    if (parsed.follow) {
      await write(process.stderr, `Following the event store ${fromPosition === null ? 'from its first event' : `after position ${fromPosition}`}; Ctrl-C ends it.\n`);
    }
    await tailEvents(store, { ...parsed, fromPosition, signal: abort.signal }, (line) => write(process.stdout, `${line}\n`));
  } catch (error) {
    // Ctrl-C in a terminal reaches the whole process group, an embedded PostgreSQL started by
    // this command included: a read cut short by that is the end asked for, not a failure.
    if (!abort.signal.aborted) throw error;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  return EXIT_OK;
};

export function registerEventCommands(program: Command): void {
  const events = program.command('events').description('The event store itself, for debugging.');
  events
    .command('tail')
    .description(
      'Follow the event store: one line per event (position, time, stream, type, actor kind:name, compact data). ' +
        'Starts after the last event stored, or after --from; Ctrl-C ends it (exit 0).',
    )
    .option('--category <names>', `only these stream categories (${STREAM_CATEGORIES.join(', ')}); comma list or repeated`, (value: string, previous: string[] = []) => [...previous, value])
    .option('--from <position>', 'start after this position (exclusive); 0 reads from the first event', once('--from'))
    .option('--limit <n>', 'stop after n events', once('--limit'))
    .option('--no-follow', 'stop at the last event stored instead of waiting for new ones')
    .option('--json', 'one JSON object per line (NDJSON), data whole')
    .addHelpText('after', '\nExit codes: 0 ended (Ctrl-C, --limit reached, or the head with --no-follow), 1 error.')
    .action(withLedger(tailCommand, { ownSignals: true, check: tailOptionsOf }));
}
