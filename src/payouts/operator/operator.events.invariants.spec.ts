import {
  type EventMetadata,
  type RecordedEvent,
} from '../../platform/event-store/event-store.port';
import { emptyOperatorState, foldOperator, type OperatorState, RECENT_BLOCKS_KEPT, signedBlockHash } from './operator.events';
import { mulberry32 } from '../../../test/support/mulberry32';

/**
 * Randomized invariants of the operator stream's fold: the executor and the ingester fold it on
 * from where they last stopped (OperatorStreamReader), so a fold resumed at any revision must equal
 * the fold of the whole stream, and what it keeps must follow from the events. A failure prints
 * its seed: OPERATOR_FOLD_SEED=<seed> replays it; OPERATOR_FOLD_RUNS sets how many streams run.
 */

const RUNS = Number(process.env.OPERATOR_FOLD_RUNS ?? 150);
const SEED = process.env.OPERATOR_FOLD_SEED;

const block = (hash: string, balance: bigint): Record<string, unknown> => ({
  type: 'state',
  account: 'ban_operator',
  previous: hash.padStart(64, '0'),
  representative: 'ban_rep',
  balance: balance.toString(),
  link: hash.padEnd(64, '0'),
  signature: 'sig',
  work: 'work',
});

function stream(seed: number): RecordedEvent[] {
  const next = mulberry32(seed);
  const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1));
  const events: RecordedEvent[] = [];
  const length = int(0, 40);
  for (let revision = 0; revision < length; revision += 1) {
    const kind = int(0, 9);
    const amount = BigInt(int(1, 10_000)) * 10n ** 27n;
    // Few block hashes, so one block is signed again for another payout (one amount, address
    // and frontier).
    const hash = `h${int(0, 5)}`;
    let type: string;
    let data: Record<string, unknown>;
    if (kind < 5) {
      type = 'PayoutBlockSigned';
      data = {
        payoutId: `p${int(0, 4)}`,
        userId: 'u',
        attempt: int(1, 5),
        blockHash: hash,
        previous: 'prev',
        destination: 'ban_dest',
        amountRaw: amount.toString(),
        block: block(hash, amount),
        signedAt: new Date(revision * 1000).toISOString(),
      };
    } else if (kind < 9) {
      type = kind < 7 ? 'DonationReceived' : kind < 8 ? 'FundingReceived' : 'MilestoneReached';
      data =
        type === 'MilestoneReached'
          ? {
              thresholdRaw: (BigInt(int(0, 3)) * 100n * 10n ** 29n).toString(),
              multiplier: '1.05',
              name: 'tier',
              totalDonatedRaw: '0',
              sendHash: `s${revision}`,
              reachedAt: new Date(0).toISOString(),
            }
          : {
              sendHash: `s${revision}`,
              sender: 'ban_sender',
              amountRaw: amount.toString(),
              receiveHash: `r${revision}`,
              previous: 'prev',
              block: block(`r${revision}`, amount),
              receivedAt: new Date(0).toISOString(),
            };
    } else {
      type = 'SomethingAddedLater';
      data = {};
    }
    events.push({
      id: `e${revision}`,
      type,
      streamName: 'operator-x',
      revision: BigInt(revision),
      position: BigInt(revision),
      data,
      metadata: {} as EventMetadata,
      createdAt: new Date(0),
    });
  }
  return events;
}

const canonical = (state: OperatorState): string =>
  JSON.stringify(state, (_key, value: unknown) =>
    typeof value === 'bigint'
      ? `${value}n`
      : value instanceof Map
        ? [...value]
        : value instanceof Set
          ? [...value].sort()
          : value,
  );

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

describe('operator fold, randomized invariants', () => {
  it(`resumes at any revision to the fold of the whole stream, over ${RUNS} random streams`, () => {
    const baseSeed =
      SEED === undefined ? (Date.now() ^ (Math.random() * 0x1_0000_0000)) >>> 0 : Number(SEED);
    const runs = SEED === undefined ? RUNS : 1;
    for (let run = 0; run < runs; run += 1) {
      const seed = (baseSeed + run) >>> 0;
      try {
        const events = stream(seed);
        const whole = foldOperator(events);
        for (let cut = 0; cut <= events.length; cut += 1) {
          const resumed = foldOperator(events.slice(cut), foldOperator(events.slice(0, cut)));
          check(
            canonical(resumed) === canonical(whole),
            `a fold resumed at revision ${cut} differs`,
          );
        }
        check(
          whole.revision ===
            (events.length === 0 ? emptyOperatorState.revision : BigInt(events.length - 1)),
          'revision',
        );
        const donated = events
          .filter((event) => event.type === 'DonationReceived')
          .reduce((sum, event) => sum + BigInt(event.data.amountRaw as string), 0n);
        check(
          whole.donatedRaw === donated,
          `donated ${whole.donatedRaw}, the donations add up to ${donated}`,
        );
        const signed = events.filter((event) => event.type === 'PayoutBlockSigned');
        check(
          (whole.lastSigned?.blockHash ?? null) ===
            ((signed.at(-1)?.data.blockHash as string | undefined) ?? null),
          'lastSigned is not the last block signed',
        );
        const blockHashes = events.flatMap((event) =>
          event.type === 'PayoutBlockSigned'
            ? [event.data.blockHash as string]
            : event.type === 'DonationReceived' || event.type === 'FundingReceived'
              ? [event.data.receiveHash as string]
              : [],
        );
        const recent = whole.recentBlocks.map(signedBlockHash);
        check(
          JSON.stringify(recent) === JSON.stringify(blockHashes.slice(-RECENT_BLOCKS_KEPT)),
          'recentBlocks are not the blocks signed last, in order',
        );
        for (const event of signed) {
          const lastSigner = signed
            .filter((other) => other.data.blockHash === event.data.blockHash)
            .at(-1)!;
          check(
            whole.payoutOfBlock.get(event.data.blockHash as string) === lastSigner.data.payoutId,
            'a block stands for a payout that did not sign it last',
          );
        }
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        throw new Error(`Invariant broken with OPERATOR_FOLD_SEED=${seed}: ${message}`, {
          cause: error,
        });
      }
    }
  });
});
