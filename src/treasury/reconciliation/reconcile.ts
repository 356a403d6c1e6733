import { type DatabasePool, sql } from 'slonik';
import { z } from 'zod';
import { DomainError } from '../../platform/errors/domain-error';
import { type EventStore, type RecordedEvent } from '../../platform/event-store/event-store.port';
import { formatBan } from '../../platform/money';
import { readCheckpoint, waitForCheckpoint } from '../../platform/read-models/checkpoints';
import { type BananoGateway } from '../../payouts/banano/banano-gateway';
import { BananoNodeError, type BananoRpcClient, type HistoryEntry } from '../../payouts/banano/banano-rpc.client';
import { ChainTooLongError, InconsistentHistoryError, readAccountChain } from '../../payouts/banano/account-chain';
import { requireOperatorAccount } from '../../payouts/operator/operator-seed';
import { dryRunSentRaw } from '../../payouts/run-settlement/settlement-facts';
import { decodeOperatorEvent, operatorStream } from '../../payouts/operator/operator.events';
import {
  type ChainSnapshot,
  type Comparison,
  compareDryRun,
  compareLive,
  eventRef,
  foldPayouts,
  type LiveLedgerFacts,
  type OperatorBlock,
  PAYOUT_EVENT_TYPES,
  type PayoutsReadModel,
  type ReconciliationReport,
} from './reconciliation';

export interface ReconcileDependencies {
  readonly store: EventStore;
  readonly pool: DatabasePool;
  /** The node and the operator seed; null reconciles a dry run. */
  readonly banano: BananoGateway | null;
  /** BANANO_DRY_RUN_BALANCE_BAN, raw. */
  readonly dryRunBalanceRaw: bigint;
  readonly now?: () => Date;
}

/** The most account_history entries asked for per call (the client's own limit). */
const HISTORY_PAGE_MAX = 1_000;
/** Receivable sends listed one by one; their sum comes from account_balance whatever their number. */
const RECEIVABLE_COUNT_MAX = 1_000;
/** Events read from the store per call. */
const EVENT_PAGE_MAX = 1_000;
/** Readings of chain and ledger before a report is made from one whose frontier moved meanwhile. */
const SNAPSHOT_TRIES_MAX = 3;
/** How long a dry-run check waits for the payouts read model to apply the payout events read. */
const READ_MODEL_WAIT_MS = 5_000;
/** The projection that builds `payouts` (projections/payouts), whose checkpoint says what it applied. */
const PAYOUTS_PROJECTION = 'payouts';

/**
 * Reconciles the ledger's operator wallet with the chain (live), or the events with the simulated
 * balance settlement uses (dry-run), and reports every difference with the events it concerns.
 * Read-only: it appends nothing and signs nothing, so it may run beside the service at any time.
 *
 * Throws a 503 DomainError when the check cannot be made: `operator_seed_not_configured`,
 * `operator_seed_unreadable` or `banano_node_unavailable`.
 */
export async function reconcile(dependencies: ReconcileDependencies): Promise<ReconciliationReport> {
  const checkedAt = (dependencies.now ?? (() => new Date()))().toISOString();
  if (dependencies.banano === null) {
    const { comparison, readModel } = await dryRunComparison(dependencies.store, dependencies.pool, dependencies.dryRunBalanceRaw);
    const simulatedRaw = dependencies.dryRunBalanceRaw - readModel.sentRaw;
    return report('dry-run', null, checkedAt, comparison, { frontier: null, balanceRaw: simulatedRaw, receivableRaw: 0n });
  }
  const { address } = await requireOperatorAccount(dependencies.banano.seeds, 'reconciliation cannot run');
  try {
    const { comparison, chain } = await liveComparison(dependencies.store, dependencies.banano.rpc, address);
    return report('live', address, checkedAt, comparison, chain);
  } catch (error) {
    if (!(error instanceof BananoNodeError)) throw error;
    throw new DomainError('banano_node_unavailable', `The Banano node could not be read for reconciliation: ${error.message}`, 503);
  }
}

function report(
  mode: 'live' | 'dry-run',
  operatorAddress: string | null,
  checkedAt: string,
  comparison: Comparison,
  chain: { readonly frontier: string | null; readonly balanceRaw: bigint; readonly receivableRaw: bigint },
): ReconciliationReport {
  return {
    mode,
    operatorAddress,
    checkedAt,
    inBalance: comparison.differences.length === 0,
    ledger: { balanceRaw: comparison.ledgerBalanceRaw.toString(), balanceBan: formatBan(comparison.ledgerBalanceRaw), frontier: comparison.ledgerFrontier },
    chain: {
      balanceRaw: chain.balanceRaw.toString(),
      balanceBan: formatBan(chain.balanceRaw),
      receivableRaw: chain.receivableRaw.toString(),
      receivableBan: formatBan(chain.receivableRaw),
      frontier: chain.frontier,
    },
    differences: comparison.differences,
  };
}

/**
 * Reads the chain, then the ledger, then the frontier again. Every block is recorded on the
 * operator stream before it is published, so whatever the chain held at the first reading is in
 * the ledger read after it; and a frontier unchanged at the end means no block was published
 * meanwhile, so a ledger block missing from the chain is missing for real, not just late. When the
 * frontier moved (a payout or a receive went out), both are read again, a bounded number of times;
 * an account that never stands still is reported from the last reading.
 */
async function liveComparison(
  store: EventStore,
  rpc: BananoRpcClient,
  address: string,
): Promise<{ comparison: Comparison; chain: ChainSnapshot }> {
  for (let tries = 1; ; tries += 1) {
    const chain = await readChain(rpc, address);
    const ledger = await readLiveLedger(store, address);
    const frontierAfter = (await rpc.accountInfo(address))?.frontier ?? null;
    if (frontierAfter === chain.frontier || tries >= SNAPSHOT_TRIES_MAX) return { comparison: compareLive(ledger, chain), chain };
  }
}

async function readChain(rpc: BananoRpcClient, address: string): Promise<ChainSnapshot> {
  const info = await rpc.accountInfo(address);
  const { receivableRaw } = await rpc.accountBalance(address);
  // The history is read down from the frontier account_info gave, so it is the chain at that frontier.
  const history = info === null ? [] : await readHistory(rpc, address, info.frontier, info.blockCount);
  const receivable = await rpc.receivable(address, RECEIVABLE_COUNT_MAX);
  return { frontier: info?.frontier ?? null, balanceRaw: info?.balanceRaw ?? 0n, receivableRaw, history, receivable };
}

/**
 * The whole chain down from `frontier`, newest first. It must hold exactly the `blockCount` blocks
 * account_info counts; a history that does not add up is a node that cannot be reconciled with.
 */
async function readHistory(rpc: BananoRpcClient, address: string, frontier: string, blockCount: bigint): Promise<HistoryEntry[]> {
  const refuse = (detail: string): DomainError =>
    new DomainError('banano_node_unavailable', `The Banano node's account_history of ${address} does not add up: ${detail}`, 503);
  let chain: HistoryEntry[];
  try {
    chain = await readAccountChain(rpc, address, { pageSize: HISTORY_PAGE_MAX, blocksMax: Number(blockCount), head: frontier });
  } catch (error) {
    if (error instanceof InconsistentHistoryError || error instanceof ChainTooLongError) throw refuse(error.message);
    throw error;
  }
  if (BigInt(chain.length) !== blockCount) throw refuse(`${chain.length} blocks where account_info counts ${blockCount.toString()}`);
  return chain;
}

async function readLiveLedger(store: EventStore, address: string): Promise<LiveLedgerFacts> {
  const blocks: OperatorBlock[] = [];
  for (const recorded of await readWholeStream(store, operatorStream(address))) {
    const event = decodeOperatorEvent(recorded.type, recorded.data);
    if (event === null) continue;
    switch (event.type) {
      case 'DonationReceived':
      case 'FundingReceived':
        blocks.push({
          kind: 'receive',
          receive: {
            sendHash: event.data.sendHash.toUpperCase(),
            receiveHash: event.data.receiveHash.toUpperCase(),
            previous: event.data.previous.toUpperCase(),
            sender: event.data.sender,
            amountRaw: BigInt(event.data.amountRaw),
            event: eventRef(recorded),
          },
        });
        break;
      case 'PayoutBlockSigned':
        blocks.push({
          kind: 'payout',
          payout: {
            payoutId: event.data.payoutId,
            userId: event.data.userId,
            attempt: event.data.attempt,
            blockHash: event.data.blockHash.toUpperCase(),
            previous: event.data.previous.toUpperCase(),
            amountRaw: BigInt(event.data.amountRaw),
            event: eventRef(recorded),
          },
        });
        break;
      case 'MilestoneReached':
        break;
      default: {
        const unknownEvent: never = event;
        throw new Error(`unhandled operator event ${JSON.stringify(unknownEvent)}`);
      }
    }
  }
  // Read after the operator stream: a PayoutSent is only ever appended after its block was signed.
  return { blocks, payouts: foldPayouts(await readPayoutEvents(store)) };
}

async function readWholeStream(store: EventStore, streamName: string): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for (;;) {
    const page = await store.readStream(streamName, { fromRevision: BigInt(events.length), maxCount: EVENT_PAGE_MAX });
    events.push(...page);
    if (page.length < EVENT_PAGE_MAX) return events;
  }
}

/** Every payout event of every user stream up to the store's head when the read began, in position order. */
async function readPayoutEvents(store: EventStore): Promise<RecordedEvent[]> {
  const head = await store.headPosition();
  const events: RecordedEvent[] = [];
  if (head === null) return events;
  let from: bigint | null = null;
  for (;;) {
    const page = await store.readAll({ fromPosition: from, maxCount: EVENT_PAGE_MAX, filter: { kind: 'eventType', eventTypes: PAYOUT_EVENT_TYPES } });
    for (const event of page) {
      if (event.position > head) return events;
      events.push(event);
    }
    const last = page.at(-1);
    if (last === undefined || page.length < EVENT_PAGE_MAX) return events;
    from = last.position;
  }
}

async function dryRunComparison(
  store: EventStore,
  pool: DatabasePool,
  startRaw: bigint,
): Promise<{ comparison: Comparison; readModel: PayoutsReadModel }> {
  const events = await readPayoutEvents(store);
  const lastPosition = events.at(-1)?.position ?? null;
  // The projector usually applies them within milliseconds; without a running projector (the CLI
  // beside a stopped service) the comparison is made at whatever the read model has applied.
  if (lastPosition !== null) await waitForCheckpoint(pool, PAYOUTS_PROJECTION, lastPosition, READ_MODEL_WAIT_MS);
  const readModel = await readPayoutsReadModel(pool);
  const applied = (event: RecordedEvent): boolean => readModel.position !== null && event.position <= readModel.position;
  const comparison = compareDryRun({
    startRaw,
    payouts: foldPayouts(events.filter(applied)),
    unappliedEvents: events.filter((event) => !applied(event)).map(eventRef),
    readModel,
  });
  return { comparison, readModel };
}

const sentPayoutRow = z.object({ payout_id: z.string(), gateway: z.string(), amount_raw: z.string() });

/**
 * The payouts read model at one committed checkpoint: the checkpoint and the rows are read in one
 * REPEATABLE READ snapshot, and the projection writes both in one transaction, so they agree.
 * `sentRaw` is the sum settlement's simulated balance subtracts (settlement-facts: dryRunSentRaw).
 */
async function readPayoutsReadModel(pool: DatabasePool): Promise<PayoutsReadModel> {
  return pool.transaction(async (transaction) => {
    await transaction.query(sql.unsafe`SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY`);
    const position = await readCheckpoint(transaction, PAYOUTS_PROJECTION);
    const sentRaw = await dryRunSentRaw(transaction);
    // The rows that sum makes up: the sent payouts of the dry-run gateway.
    const rows = await transaction.any(sql.type(sentPayoutRow)`
      SELECT payout_id, gateway, amount_raw::text AS amount_raw FROM payouts
       WHERE status = 'sent' AND gateway = 'dry-run' ORDER BY requested_position`);
    return {
      position,
      sentRaw,
      sentRows: rows.map((row) => ({ payoutId: row.payout_id, gateway: row.gateway, amountRaw: BigInt(row.amount_raw) })),
    };
  });
}
