import { type RecordedEvent } from '../../platform/event-store/event-store.port';
import { type HistoryEntry } from '../../payouts/banano/banano-rpc.client';
import {
  type ChainSnapshot,
  compareDryRun,
  compareLive,
  type EventRef,
  foldPayouts,
  type OperatorBlock,
  type PayoutsReadModel,
} from './reconciliation';

const BAN = 10n ** 29n;
const OPERATOR = 'operator-ban_operator';
const USER = 'user-00000000-0000-4000-8000-000000000001';
const USER_ID = '00000000-0000-4000-8000-000000000001';
const PAYOUT = '00000000-0000-4000-8000-0000000000aa';
/** The player's wallet and a stranger's, each with its public key: the `link` of a send to it. */
const PLAYER = 'ban_3d78japo7ziqqcsptk47eonzwzwjyaydcywq5ebzowjpxgyehynnjc9pd5zj';
const STRANGER = 'ban_1iwamgozb5ckj9zzojbnb79485dfiw8jegedzwzuzy5b4a19cbs8b4tsdzo3';
const KEYS: Readonly<Record<string, string>> = {
  [PLAYER]: 'ACA68A2D52FE17BAB36D48456569FE7F91F23CB57B971B13FAF236EBBCC7FA94',
  [STRANGER]: '43889BABF48D5289FFFAC534494E230D6D870D16398BFF3FBFF8691200752726',
};

const hash = (n: number): string => n.toString(16).toUpperCase().padStart(64, '0');
/** The previous of a block that opens the account. */
const OPEN = '0'.repeat(64);
const ref = (streamName: string, revision: number, type: string): EventRef => ({ streamName, revision, type, eventId: `${streamName}@${revision}` });

let position = 0n;
function userEvent(type: string, revision: number, data: Record<string, unknown>): RecordedEvent {
  position += 1n;
  return {
    id: `${USER}@${revision}`,
    type,
    streamName: USER,
    revision: BigInt(revision),
    position,
    data: { payoutId: PAYOUT, userId: USER_ID, ...data },
    metadata: { correlationId: 'c', causationId: null, actor: { kind: 'system', name: 'test' }, schemaVersion: 1 },
    createdAt: new Date(0),
  };
}

const requested = (revision: number, gateway: 'live' | 'dry-run', address = PLAYER) =>
  userEvent('PayoutRequested', revision, {
    runId: 'r',
    gateway,
    address,
    kills: 10,
    amountRaw: (2n * BAN).toString(),
    idempotencyKey: 'k',
    accruals: [],
    requestedAt: '2025-01-01T00:00:00.000Z',
  });
const sent = (revision: number, blockHash: string) =>
  userEvent('PayoutSent', revision, { blockHash, kills: 10, amountRaw: (2n * BAN).toString(), accruals: [], sentAt: '2025-01-01T00:00:01.000Z' });
const attemptFailed = (revision: number, blockHash: string) =>
  userEvent('PayoutAttemptFailed', revision, { attempt: 1, error: 'Fork', blockHash, failedAt: '2025-01-01T00:00:01.000Z', nextAttemptAt: null });

/** A history entry; a send goes to `destination` (its `link` is that account's key). */
function entry(type: string, blockHash: string, amountRaw: bigint, height: number, destination = PLAYER): HistoryEntry {
  const fields = {
    hash: blockHash,
    type,
    account: type === 'epoch' ? null : type === 'send' ? destination : 'ban_other',
    amountRaw,
    balanceRaw: 0n,
    height: BigInt(height),
    previous: height === 1 ? '0'.repeat(64) : hash(900 + height - 1),
    link: type === 'send' ? KEYS[destination.replace(/^(nano|xrb)_/, 'ban_')] : hash(0),
    representative: 'ban_rep',
    localTimestamp: 0n,
    confirmed: true,
    signature: '0'.repeat(128),
    work: '0'.repeat(16),
  };
  return fields as HistoryEntry;
}

const receiveBlock = (receiveHash: string, amountRaw: bigint, revision: number, previous = OPEN): OperatorBlock => ({
  kind: 'receive',
  receive: { sendHash: hash(500 + revision), receiveHash, previous, sender: 'ban_donor', amountRaw, event: ref(OPERATOR, revision, 'DonationReceived') },
});
const payoutBlock = (blockHash: string, revision: number, previous: string, attempt = 1): OperatorBlock => ({
  kind: 'payout',
  payout: { payoutId: PAYOUT, userId: USER_ID, attempt, blockHash, previous, amountRaw: 2n * BAN, event: ref(OPERATOR, revision, 'PayoutBlockSigned') },
});

/** Every order of `items`. */
function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, index) => permutations([...items.slice(0, index), ...items.slice(index + 1)]).map((rest) => [item, ...rest]));
}

function chainOf(history: HistoryEntry[], balanceRaw: bigint): ChainSnapshot {
  return { frontier: history[0]?.hash ?? null, balanceRaw, receivableRaw: 0n, history, receivable: [] };
}

describe('compareLive', () => {
  it('given a receive and a payout sent with the block on chain, finds nothing', () => {
    const payouts = foldPayouts([requested(0, 'live'), sent(1, hash(2))]);
    const chain = chainOf([entry('send', hash(2), 2n * BAN, 2), entry('receive', hash(1), 10n * BAN, 1)], 8n * BAN);

    const result = compareLive({ blocks: [receiveBlock(hash(1), 10n * BAN, 0), payoutBlock(hash(2), 1, hash(1))], payouts }, chain);

    expect(result).toEqual({ ledgerBalanceRaw: 8n * BAN, ledgerFrontier: hash(2), differences: [] });
  });

  it('given a block refused and absent, then one sent, finds nothing; given the refused one on chain, says so', () => {
    const payouts = foldPayouts([requested(0, 'live'), attemptFailed(1, hash(2)), sent(2, hash(3))]);
    const blocks = [receiveBlock(hash(1), 10n * BAN, 0), payoutBlock(hash(2), 1, hash(1), 1), payoutBlock(hash(3), 2, hash(1), 2)];

    const clean = compareLive({ blocks, payouts }, chainOf([entry('send', hash(3), 2n * BAN, 2), entry('receive', hash(1), 10n * BAN, 1)], 8n * BAN));
    expect(clean.differences).toEqual([]);

    const both = compareLive(
      { blocks, payouts },
      chainOf([entry('send', hash(3), 2n * BAN, 3), entry('send', hash(2), 2n * BAN, 2), entry('receive', hash(1), 10n * BAN, 1)], 6n * BAN),
    );
    expect(both.differences.map((difference) => difference.kind)).toEqual(['payout_signed_unconfirmed', 'balance_mismatch']);
    expect(both.differences[0]).toMatchObject({
      blockHash: hash(2),
      onChain: true,
      events: [ref(USER, 0, 'PayoutRequested'), ref(OPERATOR, 1, 'PayoutBlockSigned'), ref(USER, 1, 'PayoutAttemptFailed'), ref(USER, 2, 'PayoutSent')],
    });
  });

  it('given a refused block signed again, the same block, by the next attempt and sent, counts it once', () => {
    // The node refused attempt 1 and the frontier did not move, so attempt 2 is the very same block.
    const payouts = foldPayouts([requested(0, 'live'), attemptFailed(1, hash(2)), sent(2, hash(2))]);
    const blocks = [receiveBlock(hash(1), 10n * BAN, 0), payoutBlock(hash(2), 1, hash(1), 1), payoutBlock(hash(2), 2, hash(1), 2)];

    const result = compareLive({ blocks, payouts }, chainOf([entry('send', hash(2), 2n * BAN, 2), entry('receive', hash(1), 10n * BAN, 1)], 8n * BAN));

    expect(result).toEqual({ ledgerBalanceRaw: 8n * BAN, ledgerFrontier: hash(2), differences: [] });
  });

  it('given receives a donations rebuild recorded after the blocks above them, takes the head of the recorded chain as the frontier in every stream order', () => {
    // The chain: the opening receive, a receive, then a payout's send, the frontier.
    const payouts = foldPayouts([requested(0, 'live'), sent(1, hash(3))]);
    const chain = chainOf([entry('send', hash(3), 2n * BAN, 3), entry('receive', hash(2), 5n * BAN, 2), entry('receive', hash(1), 10n * BAN, 1)], 13n * BAN);
    const blocks = [receiveBlock(hash(1), 10n * BAN, 0), receiveBlock(hash(2), 5n * BAN, 1, hash(1)), payoutBlock(hash(3), 2, hash(2))];

    for (const order of permutations(blocks)) {
      expect(compareLive({ blocks: order, payouts }, chain)).toEqual({ ledgerBalanceRaw: 13n * BAN, ledgerFrontier: hash(3), differences: [] });
    }
  });

  it('given a refused receive beside the block signed after it on the same frontier, takes that block; given only the refused one, names it', () => {
    const chain = chainOf([entry('receive', hash(2), 5n * BAN, 2), entry('receive', hash(1), 10n * BAN, 1)], 15n * BAN);
    const refused = receiveBlock(hash(7), 1n * BAN, 1, hash(1));
    const blocks = [receiveBlock(hash(1), 10n * BAN, 0), refused, receiveBlock(hash(2), 5n * BAN, 2, hash(1))];

    const result = compareLive({ blocks, payouts: new Map() }, chain);
    expect(result.ledgerFrontier).toBe(hash(2));
    expect(result.differences.map((difference) => difference.kind)).toEqual(['recorded_receive_not_on_chain', 'balance_mismatch']);

    const alone = compareLive({ blocks: blocks.slice(0, 2), payouts: new Map() }, chainOf([entry('receive', hash(1), 10n * BAN, 1)], 10n * BAN));
    expect(alone.ledgerFrontier).toBe(hash(7));
    expect(alone.differences.map((difference) => difference.kind)).toEqual(['recorded_receive_not_on_chain', 'balance_mismatch', 'frontier_mismatch']);
  });

  it('given a block signed on a payout block whose PayoutSent is not read yet, takes the block above it', () => {
    const payouts = foldPayouts([requested(0, 'live')]);
    const chain = chainOf([entry('receive', hash(3), 1n * BAN, 3), entry('send', hash(2), 2n * BAN, 2), entry('receive', hash(1), 10n * BAN, 1)], 9n * BAN);
    const blocks = [receiveBlock(hash(1), 10n * BAN, 0), payoutBlock(hash(2), 1, hash(1)), receiveBlock(hash(3), 1n * BAN, 2, hash(2))];

    const result = compareLive({ blocks, payouts }, chain);

    expect(result.ledgerFrontier).toBe(hash(3));
    expect(result.differences.map((difference) => difference.kind)).toEqual(['payout_signed_unconfirmed', 'balance_mismatch']);
  });

  it('given an epoch block at the frontier, neither calls it unknown nor a frontier mismatch', () => {
    const chain = chainOf([entry('epoch', hash(9), 0n, 2), entry('receive', hash(1), 10n * BAN, 1)], 10n * BAN);

    expect(compareLive({ blocks: [receiveBlock(hash(1), 10n * BAN, 0)], payouts: new Map() }, chain).differences).toEqual([]);
  });

  it('given a chain block of another amount, reports amount_mismatch with the receive event', () => {
    const chain = chainOf([entry('receive', hash(1), 9n * BAN, 1)], 9n * BAN);

    const result = compareLive({ blocks: [receiveBlock(hash(1), 10n * BAN, 0)], payouts: new Map() }, chain);

    expect(result.differences.map((difference) => difference.kind)).toEqual(['amount_mismatch', 'balance_mismatch']);
    expect(result.differences[0]).toMatchObject({ amountRaw: (-1n * BAN).toString(), events: [ref(OPERATOR, 0, 'DonationReceived')] });
  });

  it('given a PayoutSent whose block is not on the chain, or is a send of another amount, names it with the payout events, to the raw', () => {
    const payouts = foldPayouts([requested(0, 'live'), sent(1, hash(2))]);
    const blocks = [receiveBlock(hash(1), 10n * BAN, 0), payoutBlock(hash(2), 1, hash(1))];
    const payoutEvents = [ref(USER, 0, 'PayoutRequested'), ref(OPERATOR, 1, 'PayoutBlockSigned'), ref(USER, 1, 'PayoutSent')];

    const missing = compareLive({ blocks, payouts }, chainOf([entry('receive', hash(1), 10n * BAN, 1)], 10n * BAN));
    expect(missing.differences.map((difference) => difference.kind)).toEqual(['payout_sent_not_on_chain', 'balance_mismatch', 'frontier_mismatch']);
    expect(missing.differences[0]).toMatchObject({ blockHash: hash(2), amountRaw: (2n * BAN).toString(), events: payoutEvents });
    expect(missing.differences[1]).toMatchObject({ amountRaw: (2n * BAN).toString() });

    // One raw more on the chain than the event says is a difference.
    const oneRawMore = compareLive({ blocks, payouts }, chainOf([entry('send', hash(2), 2n * BAN + 1n, 2), entry('receive', hash(1), 10n * BAN, 1)], 8n * BAN - 1n));
    expect(oneRawMore.differences.map((difference) => difference.kind)).toEqual(['amount_mismatch', 'balance_mismatch']);
    expect(oneRawMore.differences[0]).toMatchObject({ blockHash: hash(2), amountRaw: '1', events: payoutEvents });
    expect(oneRawMore.differences[1]).toMatchObject({ amountRaw: '-1' });
  });

  it('given a PayoutSent whose block on chain sends to another account than the payout\'s, reports destination_mismatch with the payout events', () => {
    const payouts = foldPayouts([requested(0, 'live'), sent(1, hash(2))]);
    const blocks = [receiveBlock(hash(1), 10n * BAN, 0), payoutBlock(hash(2), 1, hash(1))];
    const payoutEvents = [ref(USER, 0, 'PayoutRequested'), ref(OPERATOR, 1, 'PayoutBlockSigned'), ref(USER, 1, 'PayoutSent')];

    // The amount is right, so the balances and the frontiers agree: only the destination tells.
    const elsewhere = compareLive({ blocks, payouts }, chainOf([entry('send', hash(2), 2n * BAN, 2, STRANGER), entry('receive', hash(1), 10n * BAN, 1)], 8n * BAN));
    expect(elsewhere.differences.map((difference) => difference.kind)).toEqual(['destination_mismatch']);
    expect(elsewhere.differences[0]).toMatchObject({ blockHash: hash(2), amountRaw: (2n * BAN).toString(), amountBan: '2.00000000', events: payoutEvents });
    for (const named of [PAYOUT, PLAYER, STRANGER]) expect(elsewhere.differences[0].message).toContain(named);

    // Another amount to another account: both are said.
    const both = compareLive({ blocks, payouts }, chainOf([entry('send', hash(2), 3n * BAN, 2, STRANGER), entry('receive', hash(1), 10n * BAN, 1)], 7n * BAN));
    expect(both.differences.map((difference) => difference.kind)).toEqual(['amount_mismatch', 'destination_mismatch', 'balance_mismatch']);
  });

  it('compares destinations by key: the same account under a nano_ or xrb_ prefix, on either side, is no difference', () => {
    const blocks = [receiveBlock(hash(1), 10n * BAN, 0), payoutBlock(hash(2), 1, hash(1))];
    const forms = [PLAYER, PLAYER.replace('ban_', 'nano_'), PLAYER.replace('ban_', 'xrb_')];
    for (const recorded of forms) {
      for (const reported of forms) {
        const payouts = foldPayouts([requested(0, 'live', recorded), sent(1, hash(2))]);
        const chain = chainOf([entry('send', hash(2), 2n * BAN, 2, reported), entry('receive', hash(1), 10n * BAN, 1)], 8n * BAN);
        expect(compareLive({ blocks, payouts }, chain).differences).toEqual([]);
      }
    }
  });

  it('given a payout block on chain to another account whose PayoutSent is not read yet, says so beside payout_signed_unconfirmed', () => {
    const payouts = foldPayouts([requested(0, 'live')]);
    const chain = chainOf([entry('send', hash(2), 2n * BAN, 2, STRANGER), entry('receive', hash(1), 10n * BAN, 1)], 8n * BAN);
    const blocks = [receiveBlock(hash(1), 10n * BAN, 0), payoutBlock(hash(2), 1, hash(1))];

    const result = compareLive({ blocks, payouts }, chain);

    expect(result.differences.map((difference) => difference.kind)).toEqual(['payout_signed_unconfirmed', 'destination_mismatch', 'balance_mismatch', 'frontier_mismatch']);
    expect(result.differences[1]).toMatchObject({ blockHash: hash(2), events: [ref(USER, 0, 'PayoutRequested'), ref(OPERATOR, 1, 'PayoutBlockSigned')] });
  });

  it('given a PayoutSent naming a block the operator stream never signed, gives its events to the unknown block', () => {
    const payouts = foldPayouts([requested(0, 'live'), sent(1, hash(2))]);
    const chain = chainOf([entry('send', hash(2), 2n * BAN, 2), entry('receive', hash(1), 10n * BAN, 1)], 8n * BAN);

    const result = compareLive({ blocks: [receiveBlock(hash(1), 10n * BAN, 0)], payouts }, chain);

    expect(result.differences.map((difference) => difference.kind)).toEqual(['unknown_block', 'balance_mismatch', 'frontier_mismatch']);
    expect(result.differences[0]).toMatchObject({ blockHash: hash(2), events: [ref(USER, 0, 'PayoutRequested'), ref(USER, 1, 'PayoutSent')] });
    // Only a payout sent with a block this operator stream signed leaves its wallet.
    expect(result.ledgerBalanceRaw).toBe(10n * BAN);
  });
});

describe('compareDryRun', () => {
  const readModel = (rows: PayoutsReadModel['sentRows'], at: bigint | null = 10n): PayoutsReadModel => ({
    position: at,
    sentRaw: rows.reduce((sum, row) => sum + row.amountRaw, 0n),
    sentRows: rows,
  });

  it('given the dry-run payouts the read model counts, finds nothing', () => {
    const payouts = foldPayouts([requested(0, 'dry-run'), sent(1, `dryrun-${PAYOUT}`)]);

    const result = compareDryRun({ startRaw: 100n * BAN, payouts, unappliedEvents: [], readModel: readModel([{ payoutId: PAYOUT, gateway: 'dry-run', amountRaw: 2n * BAN }]) });

    expect(result).toEqual({ ledgerBalanceRaw: 98n * BAN, ledgerFrontier: null, differences: [] });
  });

  it('given a live payout in the simulated balance and events not applied yet, names both', () => {
    const payouts = foldPayouts([requested(0, 'live'), sent(1, hash(2))]);
    const unapplied = [ref(USER, 2, 'PayoutRequested')];

    const result = compareDryRun({ startRaw: 100n * BAN, payouts, unappliedEvents: unapplied, readModel: readModel([{ payoutId: PAYOUT, gateway: 'live', amountRaw: 2n * BAN }]) });

    expect(result.differences.map((difference) => difference.kind)).toEqual(['read_model_mismatch', 'balance_mismatch', 'read_model_behind']);
    expect(result.differences[0].message).toContain('live-gateway payout');
    expect(result.differences[2].events).toEqual(unapplied);
  });
});
