import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BananoNodeDouble, startBananoNodeDouble } from './doubles/banano-node.double';
import { crashSeed, randomizedCrashScenario } from './support/payout-crash-harness';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * The other half of the randomized crash runs of `npm test` (see payout-crash.int-spec.ts), in a
 * suite of its own so both halves run in parallel. This half meets the wide node faults (refusals,
 * lost copies, a slow copy refused on its next try; see NodeFaults) with one attempt per payout, so
 * refused payouts fail and are cancelled or retried through the admin routes between the runs.
 */
const RANDOM_RUNS = Number.parseInt(process.env.PAYOUT_CRASH_RUNS ?? '100', 10);

describe('payout workers killed at random, with refusals, cancels and retries', () => {
  let node: BananoNodeDouble;
  let app: TestApp;
  let directory: string;

  beforeAll(async () => {
    node = await startBananoNodeDouble();
    // The node too: a cancel asks it whether a block of the payout is on the chain.
    app = await startTestApp({ ABUSE_KILL_RATE_PER_MINUTE: '1000000', SETTLEMENT_INTERVAL_SECONDS: '0', BANANO_RPC_URL: node.url });
    directory = await mkdtemp(join(tmpdir(), 'ledger-crash-random-'));
  });

  afterAll(async () => {
    await app.close();
    await node.close();
    await rm(directory, { recursive: true, force: true });
  });

  it(`pays every kill exactly once through ${RANDOM_RUNS} more random kills, and never a cancelled payout`, async () => {
    const { summary, report } = await randomizedCrashScenario(app, node, directory, RANDOM_RUNS, crashSeed() + 1, 'wide');
    expect(summary.crashes).toBe(RANDOM_RUNS);
    expect(report).toMatchObject({ doublePaid: [], unrecordedBlocks: [], lostPayouts: [], mismatchedPlayers: [], paidButCancelled: [] });
    expect(report.payoutsSent + report.payoutsCancelled).toBe(report.payoutsRequested);
    expect(report.blocksOnNode).toBe(report.payoutsSent);
  }, RANDOM_RUNS * 15_000 + 120_000);
});
