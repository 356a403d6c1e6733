import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'slonik';
import { type BananoNodeDouble, startBananoNodeDouble } from './doubles/banano-node.double';
import {
  checkExactlyOnce,
  CRASH_POINTS,
  crashSeed,
  randomizedCrashScenario,
  runToCompletion,
  runUntilKilled,
  setUpCrashRig,
  switchOperatorSeed,
} from './support/payout-crash-harness';
import { eventually, startBuiltEntry, waitForExit } from './support/processes';
import { startTestApp, type TestApp } from './support/test-app';
import { operatorStream } from '../src/payouts/operator/operator.events';

/** Half of the randomized runs `npm test` makes; test/payout-crash-random.int-spec.ts makes the other half. */
const RANDOM_RUNS = Number.parseInt(process.env.PAYOUT_CRASH_RUNS ?? '100', 10);

/**
 * SPEC §4.4.6: the payout workers (`npm run start:payouts`, a real child process) are SIGKILLed at
 * every step boundary and restarted; the node double must then hold exactly one block per payout,
 * each recorded before it was published, and every payout must end sent.
 */
describe('payout workers killed at every step boundary', () => {
  let node: BananoNodeDouble;
  let app: TestApp;
  let directory: string;

  beforeEach(async () => {
    node = await startBananoNodeDouble();
    app = await startTestApp({ ABUSE_KILL_RATE_PER_MINUTE: '1000000', SETTLEMENT_INTERVAL_SECONDS: '0' });
    directory = await mkdtemp(join(tmpdir(), 'ledger-crash-'));
  });

  afterEach(async () => {
    await app.close();
    await node.close();
    await rm(directory, { recursive: true, force: true });
  });

  it.each(CRASH_POINTS)('killed at %s, then restarted: every payout sent once, one block each', async (point) => {
    const rig = await setUpCrashRig(app, node, directory, 6);
    const crash = await runUntilKilled(rig, { failpoint: `${point}@2`, deadlineMs: 20_000 });
    expect(crash).toMatchObject({ crashed: true, atFailpoint: true });
    const atCrash = await checkExactlyOnce(rig);

    await runToCompletion(rig);
    const report = await checkExactlyOnce(rig);

    expect(atCrash.payoutsRequested).toBeGreaterThan(0);
    expect(report).toMatchObject({ doublePaid: [], unrecordedBlocks: [], lostPayouts: [], mismatchedPlayers: [] });
    expect(report.payoutsSent).toBe(report.payoutsRequested);
    expect(report.blocksOnNode).toBe(report.payoutsSent);
  }, 300_000);

  it.each(['payout-block-signed', 'payout-block-published'] as const)(
    'killed at %s, then restarted with a seed that names another account: the block in flight is finished, no payout has two',
    async (point) => {
      const rig = await setUpCrashRig(app, node, directory, 6);
      const crash = await runUntilKilled(rig, { failpoint: `${point}@2`, deadlineMs: 20_000 });
      expect(crash).toMatchObject({ crashed: true, atFailpoint: true });
      const inFlight = (await app.store.readStream(operatorStream(rig.operatorAddress))).filter((event) => event.type === 'PayoutBlockSigned').at(-1);
      const next = await switchOperatorSeed(rig);

      await runToCompletion(rig);
      const report = await checkExactlyOnce(rig);

      expect(report).toMatchObject({ doublePaid: [], unrecordedBlocks: [], lostPayouts: [], mismatchedPlayers: [] });
      expect(report.payoutsSent).toBe(report.payoutsRequested);
      expect(report.blocksOnNode).toBe(report.payoutsSent);
      // The block in flight at the kill went out from the account that signed it; the rest from the new one.
      expect(node.accountChain(rig.operatorAddress).map((block) => block.hash)).toContain(inFlight?.data.blockHash);
      expect(node.accountChain(next).filter((block) => block.subtype === 'send').length).toBe(report.payoutsSent - 2);
    },
    300_000,
  );

  it('killed after recording a donation but before publishing its receive, then restarted: each send pocketed once', async () => {
    const rig = await setUpCrashRig(app, node, directory, 1);
    const sends: string[] = [];
    for (let index = 1; index <= 5; index += 1) sends.push(await node.fund(rig.operatorAddress, BigInt(index) * 10n ** 29n));
    const crash = await runUntilKilled(rig, { failpoint: 'donation-recorded@2', deadlineMs: 20_000 });
    expect(crash).toMatchObject({ crashed: true, atFailpoint: true });
    expect(node.receivableOf(rig.operatorAddress)).toHaveLength(4);

    const restarted = startBuiltEntry('payouts.main.js', { ...rig.env, LEDGER_FAILPOINTS: '' });
    try {
      await eventually('every donation pocketed', async () => (node.receivableOf(rig.operatorAddress).length === 0 ? true : undefined));
    } finally {
      restarted.child.kill('SIGTERM');
      await waitForExit(restarted.child);
    }
    const recorded = (await app.store.readStream(operatorStream(rig.operatorAddress))).filter((event) => event.type === 'DonationReceived');
    const receives = node.accountChain(rig.operatorAddress).filter((block) => block.subtype === 'receive');
    expect(recorded.map((event) => event.data.sendHash).sort()).toEqual([...sends].sort());
    expect(receives.map((block) => block.hash).sort()).toEqual(recorded.map((event) => String(event.data.receiveHash)).sort());
  }, 300_000);

  it('stopped with SIGTERM while a block is being published: finishes that payout step, starts no other, exits 0', async () => {
    const rig = await setUpCrashRig(app, node, directory, 4);
    // The first publish takes 0.8 s (the RPC timeout is 1 s), so the signal arrives while the node holds it.
    node.failNext('process', 'slow', { delayMs: 800 });
    const workers = startBuiltEntry('payouts.main.js', { ...rig.env, LEDGER_FAILPOINTS: '' });
    await eventually('the first block to reach the node', async () => (node.requests().some((request) => request.action === 'process') ? true : undefined), 30_000, 10);

    workers.child.kill('SIGTERM');
    const exit = await waitForExit(workers.child, 30_000);

    expect({ code: exit.code, output: exit.code === 0 ? '' : workers.output() }).toEqual({ code: 0, output: '' });
    const signed = (await app.store.readStream(operatorStream(rig.operatorAddress))).filter((event) => event.type === 'PayoutBlockSigned');
    const sent = await app.store.readAll({ maxCount: 1_000, filter: { kind: 'eventType', eventTypes: ['PayoutSent'] } });
    // The payout in hand was finished (its PayoutSent recorded before the exit), and no other was begun.
    expect(signed).toHaveLength(1);
    expect(sent.map((event) => event.data.blockHash)).toEqual([signed[0].data.blockHash]);
    // Only that block was ever published (twice at most, should the slow answer have timed out).
    const published = node.requests().filter((request) => request.action === 'process');
    expect(new Set(published.map((request) => JSON.stringify(request.body.block))).size).toBe(1);
    expect(await checkExactlyOnce(rig)).toMatchObject({ payoutsRequested: 4, payoutsSent: 1, doublePaid: [], unrecordedBlocks: [], lostPayouts: [] });

    await runToCompletion(rig);
    expect(await checkExactlyOnce(rig)).toMatchObject({ payoutsSent: 4, blocksOnNode: 4, doublePaid: [], unrecordedBlocks: [], lostPayouts: [], mismatchedPlayers: [] });
  });

  it(`survives ${RANDOM_RUNS} kills at random step boundaries and instants, with node faults`, async () => {
    const { summary, report } = await randomizedCrashScenario(app, node, directory, RANDOM_RUNS, crashSeed());
    expect(summary.crashes).toBe(RANDOM_RUNS);
    expect(report).toMatchObject({ doublePaid: [], unrecordedBlocks: [], lostPayouts: [], mismatchedPlayers: [] });
    expect(report.payoutsSent).toBe(report.payoutsRequested);
    expect(report.blocksOnNode).toBe(report.payoutsSent);
  }, RANDOM_RUNS * 15_000 + 120_000);

  it('two payout workers at once, each settling every second and executing: no double pay, and the daily cap holds', async () => {
    const rig = await setUpCrashRig(app, node, directory, 10);
    const env = { ...rig.env, PAYOUT_DAILY_KILL_CAP: '4' };
    const workers = [startBuiltEntry('payouts.main.js', env), startBuiltEntry('payouts.main.js', env)];
    try {
      const owed = new Map(rig.players.map((player) => [player.userId, Math.min(player.lifetimeKills, 4)]));
      await eventually('every player paid up to the cap', async () => {
        const settled = await app.pool.any(sql.unsafe`SELECT user_id, last_settled_kill_count::int AS kills FROM users`);
        const pending = await app.pool.oneFirst(sql.unsafe`SELECT count(*)::int FROM payouts WHERE status <> 'sent'`);
        return pending === 0 && settled.length === owed.size && settled.every((row) => row.kills === owed.get(row.user_id as string)) ? true : undefined;
      }, 180_000);
    } finally {
      for (const worker of workers) worker.child.kill('SIGTERM');
      await Promise.all(workers.map((worker) => waitForExit(worker.child)));
    }
    const report = await checkExactlyOnce(rig);
    const claimed = await app.pool.any(sql.unsafe`SELECT user_id, sum(kills)::int AS kills FROM payouts GROUP BY user_id`);

    expect(report).toMatchObject({ doublePaid: [], unrecordedBlocks: [], lostPayouts: [], mismatchedPlayers: [] });
    expect(report.blocksOnNode).toBe(report.payoutsRequested);
    for (const player of rig.players) {
      const kills = claimed.find((row) => row.user_id === player.userId)?.kills;
      expect(kills).toBe(Math.min(player.lifetimeKills, 4));
    }
  }, 300_000);
});
