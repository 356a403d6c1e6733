import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'slonik';
import { runUserCommand } from '../src/identity/user/run-user-command';
import { toStreamName } from '../src/identity/user/user.stream';
import { BANANO_GATEWAY, type BananoGateway } from '../src/payouts/banano/banano-gateway';
import { UnclearCopies } from '../src/payouts/banano/unclear-copies';
import { BananoPayoutSender } from '../src/payouts/executor/banano-payout-sender';
import { DryRunPayoutSender, PayoutExecutor } from '../src/payouts/executor/payout-executor';
import { OPERATOR_ACCOUNTS, type OperatorAccounts } from '../src/payouts/operator/operator-accounts';
import { operatorStream } from '../src/payouts/operator/operator.events';
import { type BananoNodeDouble, startBananoNodeDouble } from './doubles/banano-node.double';
import { call, earner, liveOperator, newBananoAccount, replaceOperatorSeed, requestPayoutPlannedInDryRun, sendSignedBy } from './support/scenario';
import { startTestApp, synced, type TestApp } from './support/test-app';

const BAN = 10n ** 29n;
const ADMIN = { correlationId: 'test', causationId: null, actor: { kind: 'admin', name: 'test' } } as const;

/**
 * The live payout executor against the Banano node test double (SPEC §4.4): one signed block per
 * attempt, recorded before it is published, the same block again after an ambiguous failure,
 * refusals through to PayoutFailed with the claim kept, and admin retry and cancel.
 */
describe('live payouts on the Banano node double', () => {
  interface Live {
    readonly app: TestApp;
    readonly node: BananoNodeDouble;
    readonly operator: { readonly address: string; readonly privateKey: string };
    readonly seedFile: string;
  }

  async function withLive(env: Record<string, string>, body: (live: Live) => Promise<void>): Promise<void> {
    const node = await startBananoNodeDouble();
    const directory = await mkdtemp(join(tmpdir(), 'ledger-live-'));
    const { seedFile, ...operator } = await liveOperator(node, directory, 1_000n * BAN);
    const app = await startTestApp({
      BANANO_RPC_URL: node.url,
      BANANO_OPERATOR_SEED_FILE: seedFile,
      BANANO_RPC_TIMEOUT_MS: '1000',
      SETTLEMENT_INTERVAL_SECONDS: '0',
      PAYOUT_RETRY_BACKOFF_SECONDS: '0',
      PAYOUT_MAX_ATTEMPTS: '3',
      ...env,
    });
    try {
      await body({ app, node, operator, seedFile });
    } finally {
      await app.close();
      await node.close();
      await rm(directory, { recursive: true, force: true });
    }
  }

  async function settle(app: TestApp): Promise<Array<{ payoutId: string; userId: string; amountRaw: string }>> {
    await synced(app);
    const run = await call(app, 'POST', '/v1/admin/settlements', {});
    expect(run.status).toBe(200);
    await synced(app);
    return run.body.payouts as Array<{ payoutId: string; userId: string; amountRaw: string }>;
  }

  const sendsFrom = (node: BananoNodeDouble, address: string) => node.accountChain(address).filter((block) => block.subtype === 'send');
  const eventsOf = async (app: TestApp, stream: string, type: string) => (await app.store.readStream(stream)).filter((event) => event.type === type);
  const processCalls = (node: BananoNodeDouble) => node.requests().filter((request) => request.action === 'process').length;

  it('signs, records and publishes one block per payout, then pays nothing twice', async () => {
    await withLive({}, async ({ app, node, operator }) => {
      const players = [await earner(app, 30), await earner(app, 12), await earner(app, 5)];
      const payouts = await settle(app);
      expect(payouts).toHaveLength(3);

      expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 3, failed: 0 });
      await synced(app);
      expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 0, failed: 0 });
      expect(await settle(app)).toEqual([]);

      const signed = await eventsOf(app, operatorStream(operator.address), 'PayoutBlockSigned');
      const sends = sendsFrom(node, operator.address);
      expect(sends.map((block) => block.hash)).toEqual(signed.map((event) => event.data.blockHash));
      expect(node.balanceOf(operator.address)).toBe(1_000n * BAN - 47n * BAN / 10n);
      for (const player of players) {
        const [payout] = payouts.filter((candidate) => candidate.userId === player.userId);
        const receivable = node.receivableOf(player.address);
        expect(receivable).toEqual([{ hash: expect.any(String), amountRaw: BigInt(payout.amountRaw), source: operator.address }]);
        const [sent] = await eventsOf(app, toStreamName(player.userId), 'PayoutSent');
        expect(sent.data.blockHash).toBe(receivable[0].hash);
        const view = await call(app, 'GET', `/v1/payouts/${payout.payoutId}`);
        expect(view.body).toMatchObject({ status: 'sent', gateway: 'live', blockHash: receivable[0].hash, attemptCount: 1 });
      }
      const user = await call(app, 'GET', `/v1/users/${players[0].userId}`);
      expect(user.body).toMatchObject({ lastSettledKillCount: 30, unsettledKills: 0 });
    });
  });

  it.each(['accept_then_timeout', 'accept_then_drop'] as const)(
    'after %s asks block_info and records the block the node took, publishing no second one',
    async (mode) => {
      await withLive({}, async ({ app, node, operator }) => {
        const player = await earner(app, 10);
        const [payout] = await settle(app);
        node.failNext('process', mode);
        expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 1, failed: 0 });
        expect(processCalls(node)).toBe(1);
        expect(sendsFrom(node, operator.address)).toHaveLength(1);
        const [sent] = await eventsOf(app, toStreamName(player.userId), 'PayoutSent');
        expect(sent.data).toMatchObject({ payoutId: payout.payoutId, blockHash: sendsFrom(node, operator.address)[0].hash });
        const actions = node.requests().map((request) => request.action);
        expect(actions.lastIndexOf('block_info')).toBeGreaterThan(actions.indexOf('process'));
      });
    },
  );

  it('with the node gone mid-publish, leaves the signed block in flight and publishes that same block when it returns', async () => {
    await withLive({}, async ({ app, node, operator }) => {
      const player = await earner(app, 10);
      await settle(app);
      node.failNext('process', 'down');
      await expect(app.workers.payoutExecutor.runOnce()).rejects.toThrow();
      const [signed] = await eventsOf(app, operatorStream(operator.address), 'PayoutBlockSigned');
      expect(sendsFrom(node, operator.address)).toHaveLength(0);
      expect(await eventsOf(app, toStreamName(player.userId), 'PayoutSent')).toHaveLength(0);
      // Requested and signed, not sent: the settled cursor has not moved.
      await synced(app);
      expect((await call(app, 'GET', `/v1/users/${player.userId}`)).body).toMatchObject({ lastSettledKillCount: 0, lastSettlementAt: null, unsettledKills: 10 });

      await node.up();
      expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 1, failed: 0 });
      expect(await eventsOf(app, operatorStream(operator.address), 'PayoutBlockSigned')).toHaveLength(1);
      expect(sendsFrom(node, operator.address).map((block) => block.hash)).toEqual([signed.data.blockHash]);
      await synced(app);
      expect((await call(app, 'GET', `/v1/users/${player.userId}`)).body).toMatchObject({ lastSettledKillCount: 10, unsettledKills: 0 });
    });
  });

  it('answers slowly without losing the payout: the timeout is ambiguous, block_info finds the block', async () => {
    await withLive({}, async ({ app, node, operator }) => {
      await earner(app, 10);
      await settle(app);
      node.failNext('process', 'slow', { delayMs: 2_500 });
      const result = await app.workers.payoutExecutor.runOnce();
      // The slow call took effect after the client gave up; either the same run or the next finds it.
      const total = result.sent + (await app.workers.payoutExecutor.runOnce()).sent;
      expect(total).toBe(1);
      expect(sendsFrom(node, operator.address)).toHaveLength(1);
    });
  });

  it('records refusals with backoff, fails the payout at maxAttempts keeping its claim, and pays once after an admin retry', async () => {
    await withLive({}, async ({ app, node, operator }) => {
      const player = await earner(app, 10);
      const [payout] = await settle(app);
      node.failNext('process', 'reject', { error: 'Block work is insufficient', count: 3 });
      for (let run = 0; run < 3; run += 1) {
        expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 0, failed: 1 });
        await synced(app);
      }
      const stream = toStreamName(player.userId);
      const failures = await eventsOf(app, stream, 'PayoutAttemptFailed');
      expect(failures.map((event) => [event.data.attempt, event.data.error])).toEqual([
        [1, 'Block work is insufficient'],
        [2, 'Block work is insufficient'],
        [3, 'Block work is insufficient'],
      ]);
      expect(failures.map((event) => event.data.nextAttemptAt === null)).toEqual([false, false, true]);
      expect(await eventsOf(app, stream, 'PayoutFailed')).toHaveLength(1);
      expect(sendsFrom(node, operator.address)).toHaveLength(0);
      // Three attempts, none published; the claim stays with the payout. Each attempt signed on
      // the same frontier and balance, so the signatures are deterministic and the blocks equal.
      const signed = await eventsOf(app, operatorStream(operator.address), 'PayoutBlockSigned');
      expect(signed.map((event) => event.data.attempt)).toEqual([1, 2, 3]);
      expect(new Set(signed.map((event) => event.data.blockHash)).size).toBe(1);
      expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 0, failed: 0 });
      expect(await settle(app)).toEqual([]);
      expect((await call(app, 'GET', `/v1/payouts/${payout.payoutId}`)).body).toMatchObject({ status: 'failed', attemptCount: 3 });

      const retried = await runUserCommand(
        app.store,
        player.userId,
        { type: 'RetryPayout', data: { payoutId: payout.payoutId, now: new Date() } },
        ADMIN,
      );
      expect(retried.events.map((event) => event.type)).toEqual(['PayoutRetryRequested']);
      await synced(app);
      expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 1, failed: 0 });
      expect(sendsFrom(node, operator.address)).toHaveLength(1);
      expect(node.receivableOf(player.address).map((send) => send.amountRaw)).toEqual([BigInt(payout.amountRaw)]);
      const [sent] = await eventsOf(app, stream, 'PayoutSent');
      expect(sent.data).toMatchObject({ payoutId: payout.payoutId, blockHash: sendsFrom(node, operator.address)[0].hash });
    });
  });

  describe('two payouts whose blocks are the same block (one amount, one address, one frontier)', () => {
    // A send block names no payout: recorded for both, one send on the chain would count as both.
    it('pays each with a send of its own: two players sharing a wallet, the first block refused', async () => {
      await withLive({}, async ({ app, node, operator }) => {
        const { address: shared } = await newBananoAccount();
        const first = await earner(app, 10, { wallet: shared });
        const second = await earner(app, 10, { wallet: shared });
        const payouts = await settle(app);
        expect(payouts.map((payout) => payout.amountRaw)).toEqual([payouts[0].amountRaw, payouts[0].amountRaw]);
        node.failNext('process', 'reject', { error: 'Block work is insufficient' });

        for (let run = 0; run < 4; run += 1) {
          await app.workers.payoutExecutor.runOnce();
          await synced(app);
        }

        const sent = [
          ...(await eventsOf(app, toStreamName(first.userId), 'PayoutSent')),
          ...(await eventsOf(app, toStreamName(second.userId), 'PayoutSent')),
        ];
        const sends = sendsFrom(node, operator.address);
        expect(sent).toHaveLength(2);
        expect(new Set(sent.map((event) => event.data.blockHash)).size).toBe(2);
        expect(sends.map((block) => block.hash).sort()).toEqual(sent.map((event) => event.data.blockHash).sort());
        expect(node.receivableOf(shared)).toHaveLength(2);
      });
    });

    it('pays the other one when the first is failed for good, and pays it under its own block', async () => {
      await withLive({ PAYOUT_MAX_ATTEMPTS: '1' }, async ({ app, node, operator }) => {
        const { address: shared } = await newBananoAccount();
        const players = [await earner(app, 10, { wallet: shared }), await earner(app, 10, { wallet: shared })];
        await settle(app);
        node.failNext('process', 'reject', { error: 'Block work is insufficient' });

        for (let run = 0; run < 3; run += 1) {
          await app.workers.payoutExecutor.runOnce();
          await synced(app);
        }

        const outcomes = await Promise.all(
          players.map(async (player) => [
            (await eventsOf(app, toStreamName(player.userId), 'PayoutFailed')).length,
            (await eventsOf(app, toStreamName(player.userId), 'PayoutSent')).length,
          ]),
        );
        expect(outcomes.sort()).toEqual([
          [0, 1],
          [1, 0],
        ]);
        expect(sendsFrom(node, operator.address)).toHaveLength(1);
        // The failed one's block is on the chain as the other's: it may be cancelled.
        const failed = (await Promise.all(players.map((player) => eventsOf(app, toStreamName(player.userId), 'PayoutFailed')))).flat();
        expect((await call(app, 'POST', `/v1/admin/payouts/${String(failed[0].data.payoutId)}/cancel`, { reason: 'refused' })).status).toBe(200);
      });
    });

    it('pays a payout cancelled and settled again, whose new block is the cancelled one', async () => {
      await withLive({ PAYOUT_MAX_ATTEMPTS: '1' }, async ({ app, node, operator }) => {
        const player = await earner(app, 10);
        const [payout] = await settle(app);
        node.failNext('process', 'reject', { error: 'Block work is insufficient' });
        await app.workers.payoutExecutor.runOnce();
        await synced(app);
        expect((await call(app, 'POST', `/v1/admin/payouts/${payout.payoutId}/cancel`, { reason: 'refused' })).status).toBe(200);
        const [again] = await settle(app);

        for (let run = 0; run < 3; run += 1) {
          await app.workers.payoutExecutor.runOnce();
          await synced(app);
        }

        const [sent] = await eventsOf(app, toStreamName(player.userId), 'PayoutSent');
        expect(sent.data).toMatchObject({ payoutId: again.payoutId });
        const signed = await eventsOf(app, operatorStream(operator.address), 'PayoutBlockSigned');
        expect(signed.map((event) => event.data.blockHash)).toEqual([sent.data.blockHash, sent.data.blockHash]);
        expect(sendsFrom(node, operator.address).map((block) => block.hash)).toEqual([sent.data.blockHash]);
        // The cancelled payout's block is on the chain now, as the new payout's: its cancel stands.
        expect((await call(app, 'GET', `/v1/payouts/${payout.payoutId}`)).body).toMatchObject({ status: 'cancelled' });
      });
    });
  });

  it('leaves an attempt in flight when the node refuses a block whose earlier copy may still land, and pays it once when it does', async () => {
    // The first publish times out while the node is only slow (it takes the block 1.5 s later);
    // the copy published after it is answered with an error. That says nothing of the first copy.
    await withLive({ PAYOUT_MAX_ATTEMPTS: '1' }, async ({ app, node, operator }) => {
      const player = await earner(app, 10);
      const [payout] = await settle(app);
      node.failNext('process', 'slow', { delayMs: 1_500 });
      node.failNext('process', 'reject', { error: 'Internal server error in RPC' });

      expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 0, failed: 0 });
      await synced(app);
      const stream = toStreamName(player.userId);
      expect(await eventsOf(app, stream, 'PayoutAttemptFailed')).toEqual([]);
      expect((await call(app, 'POST', `/v1/admin/payouts/${payout.payoutId}/cancel`, { reason: 'refused' })).status).toBe(409);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(sendsFrom(node, operator.address)).toHaveLength(1);

      expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 1, failed: 0 });
      await synced(app);
      expect(await settle(app)).toEqual([]);
      await app.workers.payoutExecutor.runOnce();
      expect(sendsFrom(node, operator.address)).toHaveLength(1);
      expect(node.receivableOf(player.address).map((send) => send.amountRaw)).toEqual([BigInt(payout.amountRaw)]);
      expect((await eventsOf(app, stream, 'PayoutSent')).map((event) => event.data.blockHash)).toEqual([sendsFrom(node, operator.address)[0].hash]);
    });
  });

  /** Every copy in doubt of the operator's blocks, published `minutes` earlier than the record says. */
  const ageDoubts = (app: TestApp, minutes: number) =>
    app.pool.query(sql.unsafe`UPDATE operator_block_doubts SET doubt_at = doubt_at - ${minutes} * interval '1 minute'`);

  it.each<{ window: string; env: Record<string, string>; before: number; after: number }>([
    { window: 'five minutes by default', env: {}, before: 4, after: 6 },
    { window: 'BANANO_LANDING_WINDOW_SECONDS=60', env: { BANANO_LANDING_WINDOW_SECONDS: '60' }, before: 0.5, after: 1.5 },
  ])('fails such an attempt once no copy can land any more: $window after the last copy in doubt', async ({ env, before, after }) => {
    await withLive({ PAYOUT_MAX_ATTEMPTS: '1', ...env }, async ({ app, node, operator }) => {
      const player = await earner(app, 10);
      await settle(app);
      // The first copy is lost (a 502 from a proxy, say: the node never saw it); every later copy is refused.
      node.failNext('process', 'answer', { status: 502, body: {} });
      node.failNext('process', 'reject', { error: 'Internal server error in RPC', count: 10 });
      expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 0, failed: 0 });
      await ageDoubts(app, before);
      const justBefore = await app.workers.payoutExecutor.runOnce();
      await ageDoubts(app, after - before);
      const justAfter = await app.workers.payoutExecutor.runOnce();
      await synced(app);

      expect([justBefore, justAfter]).toEqual([
        { sent: 0, failed: 0 },
        { sent: 0, failed: 1 },
      ]);
      expect((await eventsOf(app, toStreamName(player.userId), 'PayoutFailed')).map((event) => event.data.error)).toEqual(['Internal server error in RPC']);
      expect(sendsFrom(node, operator.address)).toEqual([]);
      expect(await app.pool.anyFirst(sql.unsafe`SELECT block_hash FROM operator_block_doubts`)).toEqual([]);
    });
  });

  it('counts the landing window from the end of a copy\'s unanswered exchange, not its start', async () => {
    // A window (5 s) shorter than the client's timeout (6 s): the copy may reach the node at the
    // very end of its exchange, and land from then on.
    await withLive({ PAYOUT_MAX_ATTEMPTS: '1', BANANO_LANDING_WINDOW_SECONDS: '5', BANANO_RPC_TIMEOUT_MS: '6000' }, async ({ app, node, operator }) => {
      const player = await earner(app, 10);
      await settle(app);
      // The node takes the first copy 6.5 s on, after the client's timeout; the next gets an error.
      node.failNext('process', 'slow', { delayMs: 6_500 });
      node.failNext('process', 'reject', { error: 'Internal server error in RPC' });

      const published = await app.workers.payoutExecutor.runOnce();
      await waitFor(() => sendsFrom(node, operator.address).length === 1);
      const landed = await app.workers.payoutExecutor.runOnce();
      await synced(app);

      expect([published, landed]).toEqual([
        { sent: 0, failed: 0 },
        { sent: 1, failed: 0 },
      ]);
      expect(await eventsOf(app, toStreamName(player.userId), 'PayoutAttemptFailed')).toEqual([]);
    });
  });

  it('counts the five minutes from the latest copy in doubt, not the first', async () => {
    await withLive({ PAYOUT_MAX_ATTEMPTS: '1' }, async ({ app, node, operator }) => {
      const player = await earner(app, 10);
      await settle(app);
      // The first copy goes out as the node goes away: in doubt.
      node.failNext('process', 'down');
      await expect(app.workers.payoutExecutor.runOnce()).rejects.toThrow();
      await node.up();
      await ageDoubts(app, 60);
      // An hour later a copy goes out slowly (the node takes it 1.5 s later, after the client's
      // timeout), and the next is answered with an error.
      node.failNext('process', 'slow', { delayMs: 1_500 });
      node.failNext('process', 'reject', { error: 'Internal server error in RPC' });

      const published = await app.workers.payoutExecutor.runOnce();
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const landed = await app.workers.payoutExecutor.runOnce();
      await synced(app);

      expect([published, landed]).toEqual([
        { sent: 0, failed: 0 },
        { sent: 1, failed: 0 },
      ]);
      expect(await eventsOf(app, toStreamName(player.userId), 'PayoutFailed')).toEqual([]);
      expect(sendsFrom(node, operator.address)).toHaveLength(1);
    });
  });

  it('keeps the attempt in flight for a copy another process published: one send across a seed change', async () => {
    await withLive({}, async ({ app, node, seedFile }) => {
      const player = await earner(app, 10);
      await settle(app);
      // Another instance's executor, beside this one.
      const gateway = app.app.get<BananoGateway | null>(BANANO_GATEWAY);
      if (gateway === null) throw new Error('BANANO_RPC_URL makes a live gateway');
      const other = new PayoutExecutor(
        app.pool,
        new BananoPayoutSender(app.store, gateway.rpc, gateway.seeds, app.app.get<OperatorAccounts>(OPERATOR_ACCOUNTS), {
          retryPolicy: { maxAttempts: 3, backoffBaseMs: 0, backoffMaxMs: 0 },
          publishTriesMax: 3,
          unclear: new UnclearCopies(app.pool),
          minOperatorBalanceRaw: async () => 0n,
        }),
        1_000,
      );
      // This instance's copy is slow (the node takes it 6 s later); its next copy gets an error.
      node.failNext('process', 'slow', { delayMs: 6_000 });
      node.failNext('process', 'reject', { error: 'Internal server error in RPC' });
      expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 0, failed: 0 });
      const next = await replaceOperatorSeed(node, seedFile, 1_000n * BAN);
      // The other instance's copy is refused too, while this instance's is still on its way.
      node.failNext('process', 'reject', { error: 'Internal server error in RPC' });
      expect(await other.runOnce()).toEqual({ sent: 0, failed: 0 });
      await waitFor(() => node.receivableOf(player.address).length === 1);
      expect(await other.runOnce()).toEqual({ sent: 1, failed: 0 });
      await synced(app);

      expect(node.receivableOf(player.address)).toHaveLength(1);
      expect(sendsFrom(node, next.address)).toEqual([]);
      expect(await eventsOf(app, toStreamName(player.userId), 'PayoutAttemptFailed')).toEqual([]);
    });
  });

  it('keeps the attempt in flight when its block lands between block_info and account_info', async () => {
    await withLive({ PAYOUT_MAX_ATTEMPTS: '1' }, async ({ app, node, operator }) => {
      const player = await earner(app, 10);
      const [payout] = await settle(app);
      // Signed and recorded; the node goes away as it is published.
      node.failNext('process', 'down');
      await expect(app.workers.payoutExecutor.runOnce()).rejects.toThrow();
      await node.up();
      // Resumed: the first copy is slow (it lands 1.5 s on), the next is refused, and account_info
      // is answered 0.8 s later, once the first copy is in: the frontier is the block itself.
      node.failNext('process', 'slow', { delayMs: 1_500 });
      node.failNext('process', 'reject', { error: 'Internal server error in RPC' });
      node.failNext('account_info', 'slow', { delayMs: 800 });

      const run = await app.workers.payoutExecutor.runOnce();
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const next = await app.workers.payoutExecutor.runOnce();
      await synced(app);

      expect(run).toEqual({ sent: 0, failed: 0 });
      expect(next).toEqual({ sent: 1, failed: 0 });
      expect((await call(app, 'GET', `/v1/payouts/${payout.payoutId}`)).body).toMatchObject({ status: 'sent' });
      expect(node.receivableOf(player.address)).toHaveLength(1);
      expect(sendsFrom(node, operator.address)).toHaveLength(1);
    });
  });

  it('does not take a block_info answer about another block for its block on the chain', async () => {
    await withLive({}, async ({ app, node, operator }) => {
      const player = await earner(app, 10);
      await settle(app);
      // The copy is lost behind a 502, and the first block_info is answered (a proxy's cache gone
      // wrong, say) with what the node says of another block: the operator's opening receive.
      const other = node.accountChain(operator.address)[0].hash;
      const aboutOther: unknown = await (await fetch(node.url, { method: 'POST', body: JSON.stringify({ action: 'block_info', hash: other, json_block: true }) })).json();
      node.failNext('process', 'answer', { status: 502, body: {} });
      // The frontier's block_info, asked before signing, is answered as it should be.
      node.failNext('block_info', 'slow', { delayMs: 0 });
      node.failNext('block_info', 'answer', { body: aboutOther });

      await app.workers.payoutExecutor.runOnce().catch(() => undefined);
      await app.workers.payoutExecutor.runOnce();

      // Every PayoutSent names a block on the chain: the payout's own send.
      const sent = await eventsOf(app, toStreamName(player.userId), 'PayoutSent');
      expect(sent.map((event) => event.data.blockHash)).toEqual(sendsFrom(node, operator.address).map((block) => block.hash));
      expect(sent).toHaveLength(1);
    });
  });

  it('fails the run with a fault of its own node client, not calling it the node unavailable, and publishes the same block next run', async () => {
    await withLive({}, async ({ app, node, operator }) => {
      await earner(app, 10);
      await settle(app);
      // Another executor beside this one, whose node client fails once before the request leaves.
      const gateway = app.app.get<BananoGateway | null>(BANANO_GATEWAY);
      if (gateway === null) throw new Error('BANANO_RPC_URL makes a live gateway');
      let thrown = false;
      const rpc = overriding(gateway.rpc, 'process', (process) => async (block, subtype) => {
        if (!thrown) {
          thrown = true;
          throw new TypeError('a fault in the client');
        }
        return process(block, subtype);
      });
      const lines: string[] = [];
      const faulty = new PayoutExecutor(
        app.pool,
        new BananoPayoutSender(
          app.store,
          rpc,
          gateway.seeds,
          app.app.get<OperatorAccounts>(OPERATOR_ACCOUNTS),
          { retryPolicy: { maxAttempts: 3, backoffBaseMs: 0, backoffMaxMs: 0 }, publishTriesMax: 3, unclear: new UnclearCopies(app.pool), minOperatorBalanceRaw: async () => 0n },
          (message) => lines.push(message),
        ),
        1_000,
      );

      await expect(faulty.runOnce()).rejects.toThrow('a fault in the client');
      expect(lines.filter((line) => line.includes('node unavailable'))).toEqual([]);
      const [signed] = await eventsOf(app, operatorStream(operator.address), 'PayoutBlockSigned');
      // Whether the copy left is not known: it stays in doubt, as after a crash during the call.
      expect(await app.pool.anyFirst(sql.unsafe`SELECT block_hash FROM operator_block_doubts`)).toEqual([String(signed.data.blockHash).toUpperCase()]);
      expect(processCalls(node)).toBe(0);

      expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 1, failed: 0 });
      expect(sendsFrom(node, operator.address).map((block) => block.hash)).toEqual([signed.data.blockHash]);
    });
  });

  it('refuses to cancel a failed payout while a block of its attempts is on the chain (409), or while the node cannot say (503)', async () => {
    await withLive({ PAYOUT_MAX_ATTEMPTS: '1' }, async ({ app, node, operator }) => {
      const player = await earner(app, 10);
      const [payout] = await settle(app);
      // Recorded as refused, yet on the chain: the guard of last resort against paying it twice.
      const onChain = node.accountChain(operator.address)[0].hash;
      await runUserCommand(
        app.store,
        player.userId,
        { type: 'RecordPayoutAttemptFailed', data: { payoutId: payout.payoutId, attempt: 1, error: 'Fork', blockHash: onChain, policy: { maxAttempts: 1, backoffBaseMs: 0, backoffMaxMs: 0 }, now: new Date() } },
        ADMIN,
      );
      await synced(app);
      const cancelPath = `/v1/admin/payouts/${payout.payoutId}/cancel`;

      const landed = await call(app, 'POST', cancelPath, { reason: 'refused' });
      await node.down();
      const unknown = await call(app, 'POST', cancelPath, { reason: 'refused' });
      await node.up();

      expect(landed.status).toBe(409);
      expect(landed.body).toMatchObject({ code: 'payout_block_on_chain' });
      expect(String(landed.body.detail)).toContain(onChain);
      expect(unknown.status).toBe(503);
      expect(unknown.body).toMatchObject({ code: 'banano_node_unavailable' });
      expect(await eventsOf(app, toStreamName(player.userId), 'PayoutCancelled')).toEqual([]);
    });
  });

  it('fails an attempt without signing when the operator balance cannot cover the payout', async () => {
    await withLive({ PAYOUT_MIN_OPERATOR_BALANCE_BAN: '0' }, async ({ app, node, operator }) => {
      const player = await earner(app, 10);
      await settle(app);
      // The operator spends its balance elsewhere between the settlement and the executor.
      node.failNext('account_info', 'answer', {
        body: { frontier: node.accountChain(operator.address).at(-1)?.hash, balance: '1', representative: operator.address, block_count: '1' },
      });
      expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 0, failed: 1 });
      const [failure] = await eventsOf(app, toStreamName(player.userId), 'PayoutAttemptFailed');
      expect(failure.data).toMatchObject({ attempt: 1, blockHash: null });
      expect(String(failure.data.error)).toMatch(/^insufficient_operator_balance/);
      expect(await eventsOf(app, operatorStream(operator.address), 'PayoutBlockSigned')).toHaveLength(0);
    });
  });

  it('signs no send on an account_info whose balance is not its frontier\'s: the node would read another amount', async () => {
    await withLive({}, async ({ app, node, operator }) => {
      const player = await earner(app, 10);
      const [payout] = await settle(app);
      // The frontier, with a balance 5 BAN short of the one it holds: the confirmed balance beside
      // an unconfirmed receive, say, or an answer a proxy pieced together.
      const frontier = node.accountChain(operator.address).at(-1)?.hash;
      const shortRaw = node.balanceOf(operator.address) - 5n * BAN;
      node.failNext('account_info', 'answer', {
        body: { frontier, balance: shortRaw.toString(), representative: operator.address, block_count: '1' },
      });

      await app.workers.payoutExecutor.runOnce().catch(() => undefined);
      await app.workers.payoutExecutor.runOnce();

      expect(node.receivableOf(player.address).map((send) => send.amountRaw)).toEqual([BigInt(payout.amountRaw)]);
      expect(sendsFrom(node, operator.address)).toHaveLength(1);
      expect(await eventsOf(app, toStreamName(player.userId), 'PayoutSent')).toHaveLength(1);
    });
  });

  describe('a node behind the operator account\'s chain (a lagging node behind the same URL)', () => {
    // The node has not seen the first payout's send yet: what it answers about the account is what
    // it held after the opening block. A block signed on that frontier forks the account's chain.
    const behindCases: Array<[string, (node: BananoNodeDouble, opening: { hash: string; balanceRaw: bigint; address: string }) => void, RegExp]> = [
      [
        'answers the frontier the first send was signed on',
        (node, opening) =>
          node.failNext('account_info', 'answer', {
            body: { frontier: opening.hash, balance: opening.balanceRaw.toString(), representative: opening.address, block_count: '1' },
          }),
        /its frontier [0-9A-F]{64} is at height 1, not after block [0-9A-F]{64} at height 2/,
      ],
      [
        'does not know the account yet',
        (node) => node.failNext('account_info', 'answer', { body: { error: 'Account not found' } }),
        /it does not know the account, whose block [0-9A-F]{64} is on the chain at height 2/,
      ],
      [
        'does not hold the block the first payout was recorded sent with',
        (node, opening) => {
          node.failNext('account_info', 'answer', {
            body: { frontier: opening.hash, balance: opening.balanceRaw.toString(), representative: opening.address, block_count: '1' },
          });
          // block_info of the frontier it answered is true; of the first send, "not found".
          node.failNext('block_info', 'slow', { delayMs: 0 });
          node.failNext('block_info', 'answer', { body: { error: 'Block not found' } });
        },
        /it does not hold block [0-9A-F]{64}, which the ledger recorded on the chain/,
      ],
    ];

    it.each(behindCases)('signs nothing while the node %s, and pays on the true frontier once it answers it', async (_case, lag, message) => {
      await withLive({}, async ({ app, node, operator }) => {
        await earner(app, 10);
        await settle(app);
        const [opening] = node.accountChain(operator.address);
        const openingBalanceRaw = node.balanceOf(operator.address);
        expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 1, failed: 0 });
        const second = await earner(app, 20);
        const [payout] = await settle(app);

        lag(node, { hash: opening.hash, balanceRaw: openingBalanceRaw, address: operator.address });
        await expect(app.workers.payoutExecutor.runOnce()).rejects.toThrow(message);

        expect(await eventsOf(app, operatorStream(operator.address), 'PayoutBlockSigned')).toHaveLength(1);
        expect(await eventsOf(app, toStreamName(second.userId), 'PayoutAttemptFailed')).toEqual([]);
        expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 1, failed: 0 });
        const signed = await eventsOf(app, operatorStream(operator.address), 'PayoutBlockSigned');
        expect(signed.map((event) => event.data.previous)).toEqual([opening.hash, signed[0].data.blockHash]);
        expect(node.receivableOf(second.address).map((send) => send.amountRaw)).toEqual([BigInt(payout.amountRaw)]);
        await synced(app);
        expect((await call(app, 'GET', `/v1/payouts/${payout.payoutId}`)).body).toMatchObject({ status: 'sent', attemptCount: 1 });
      });
    });

    it('signs on a frontier the node is not behind on: an older block after a refused one, or a block made outside the ledger', async () => {
      await withLive({ PAYOUT_MAX_ATTEMPTS: '2' }, async ({ app, node, operator }) => {
        const first = await earner(app, 10);
        await settle(app);
        // The first payout's block is refused: it never lands, so its frontier is still the chain's.
        node.failNext('process', 'reject', { error: 'Fork' });
        expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 0, failed: 1 });
        expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 1, failed: 0 });
        // The operator spends from the account outside the ledger: the frontier moves past the
        // ledger's last block.
        await sendSignedBy(node, operator, (await newBananoAccount()).address, BAN);
        const second = await earner(app, 20);
        await settle(app);
        expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 1, failed: 0 });

        const signed = await eventsOf(app, operatorStream(operator.address), 'PayoutBlockSigned');
        expect(signed.map((event) => event.data.previous)).toEqual([
          signed[0].data.previous,
          signed[0].data.previous,
          node.accountChain(operator.address).at(-2)?.hash,
        ]);
        expect(node.receivableOf(first.address)).toHaveLength(1);
        expect(node.receivableOf(second.address)).toHaveLength(1);
      });
    });
  });

  describe('the minimum operator balance (PAYOUT_MIN_OPERATOR_BALANCE_BAN 50), held when a payout is sent', () => {
    // One player of 10 kills: a payout of 1 BAN, planned while the operator held 1,000 BAN.
    const floorEnv = { PAYOUT_MIN_OPERATOR_BALANCE_BAN: '50', PAYOUT_MAX_ATTEMPTS: '1' };

    async function expectRefusedAtTheFloor(app: TestApp, userId: string, balanceRaw: bigint): Promise<void> {
      expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 0, failed: 1 });
      const [failure] = await eventsOf(app, toStreamName(userId), 'PayoutAttemptFailed');
      expect(failure.data).toMatchObject({ attempt: 1, blockHash: null });
      expect(String(failure.data.error)).toBe(`insufficient_operator_balance: ${balanceRaw} raw, payout ${BAN} raw, floor ${50n * BAN} raw`);
    }

    it('does not send when the balance fell since planning so that the payout would go below the floor', async () => {
      await withLive(floorEnv, async ({ app, node, operator }) => {
        const player = await earner(app, 10);
        await settle(app);
        // The operator spends all but 50.5 BAN elsewhere between the settlement and the executor.
        await sendSignedBy(node, operator, (await newBananoAccount()).address, 1_000n * BAN - (505n * BAN) / 10n);

        await expectRefusedAtTheFloor(app, player.userId, (505n * BAN) / 10n);
        expect(node.balanceOf(operator.address)).toBe((505n * BAN) / 10n);
        expect(await eventsOf(app, operatorStream(operator.address), 'PayoutBlockSigned')).toHaveLength(0);
      });
    });

    it('does not send from the account a new seed names when its balance would go below the floor', async () => {
      await withLive(floorEnv, async ({ app, node, seedFile }) => {
        const player = await earner(app, 10);
        await settle(app);
        const next = await replaceOperatorSeed(node, seedFile, (505n * BAN) / 10n);

        await expectRefusedAtTheFloor(app, player.userId, (505n * BAN) / 10n);
        expect(node.balanceOf(next.address)).toBe((505n * BAN) / 10n);
      });
    });

    it('sends when exactly the floor remains', async () => {
      await withLive(floorEnv, async ({ app, node, seedFile }) => {
        await earner(app, 10);
        await settle(app);
        const next = await replaceOperatorSeed(node, seedFile, 51n * BAN);

        expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 1, failed: 0 });
        expect(node.balanceOf(next.address)).toBe(50n * BAN);
      });
    });
  });

  it('never sends a live payout dry, and fails a payout planned in dry-run instead of signing it', async () => {
    await withLive({}, async ({ app, node, operator }) => {
      const live = await earner(app, 10);
      const [livePayout] = await settle(app);
      const dryExecutor = new PayoutExecutor(app.pool, new DryRunPayoutSender(app.store), 1_000);
      expect(await dryExecutor.runOnce()).toEqual({ sent: 0, failed: 0 });
      await expect(
        runUserCommand(app.store, live.userId, { type: 'RecordPayoutSent', data: { payoutId: livePayout.payoutId, gateway: 'dry-run', blockHash: `dryrun-${livePayout.payoutId}`, now: new Date() } }, ADMIN),
      ).rejects.toMatchObject({ code: 'payout_gateway_mismatch' });
      expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 1, failed: 0 });

      // A payout a dry run planned (say, before BANANO_RPC_URL was set) is not the node's to pay.
      const dry = await earner(app, 8);
      const dryPayoutId = await requestPayoutPlannedInDryRun(app, dry, 8n, (8n * BAN) / 10n);
      await synced(app);
      expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 0, failed: 1 });
      const [failed] = await eventsOf(app, toStreamName(dry.userId), 'PayoutFailed');
      expect(String(failed.data.error)).toMatch(/^requested_in_dry_run/);
      expect(sendsFrom(node, operator.address)).toHaveLength(1);

      await synced(app);
      expect((await call(app, 'POST', `/v1/admin/payouts/${dryPayoutId}/cancel`, { reason: 'settle it live' })).status).toBe(200);
      const [again] = await settle(app);
      expect(again).toMatchObject({ userId: dry.userId, amountRaw: (8n * BAN / 10n).toString() });
      expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 1, failed: 0 });
      expect(node.receivableOf(dry.address).map((send) => send.amountRaw)).toEqual([8n * BAN / 10n]);
    });
  });

  it('resumes on start-up: a block signed before a crash is published by the next executor', async () => {
    await withLive({}, async ({ app, node, operator }) => {
      await earner(app, 10);
      await settle(app);
      // The first executor signs and records; the node goes away as it publishes, and stays away
      // until after that executor has stopped.
      node.failNext('process', 'down');
      await expect(app.workers.payoutExecutor.runOnce()).rejects.toThrow();
      const signed = await eventsOf(app, operatorStream(operator.address), 'PayoutBlockSigned');
      expect(signed).toHaveLength(1);
      await node.up();
      await app.workers.stop();
      app.workers.payoutExecutor.start();
      await waitFor(() => sendsFrom(node, operator.address).length === 1);
      await app.workers.payoutExecutor.stop();
      expect(sendsFrom(node, operator.address)[0].hash).toBe(signed[0].data.blockHash);
    });
  });

  describe('after the operator seed names another account', () => {
    /** The seed file now names a new account, opened on the node with 1,000 BAN. */
    const replaceSeed = (node: BananoNodeDouble, seedFile: string) => replaceOperatorSeed(node, seedFile, 1_000n * BAN);

    it('records the block the former account published as the payout, and signs it no second one', async () => {
      await withLive({}, async ({ app, node, operator, seedFile }) => {
        const player = await earner(app, 10);
        const [payout] = await settle(app);
        // The node takes the block and drops the answer, then is gone before block_info can say so.
        node.failNext('process', 'accept_then_drop');
        // The frontier's block_info, asked before signing, is answered as it should be.
        node.failNext('block_info', 'slow', { delayMs: 0 });
        node.failNext('block_info', 'down');
        await expect(app.workers.payoutExecutor.runOnce()).rejects.toThrow();
        expect(sendsFrom(node, operator.address)).toHaveLength(1);
        expect(await eventsOf(app, toStreamName(player.userId), 'PayoutSent')).toHaveLength(0);

        await node.up();
        const next = await replaceSeed(node, seedFile);
        expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 1, failed: 0 });
        expect(sendsFrom(node, next.address)).toHaveLength(0);
        expect(await eventsOf(app, operatorStream(next.address), 'PayoutBlockSigned')).toHaveLength(0);
        const [published] = sendsFrom(node, operator.address);
        expect(node.receivableOf(player.address)).toEqual([{ hash: published.hash, amountRaw: BigInt(payout.amountRaw), source: operator.address }]);
        const [sent] = await eventsOf(app, toStreamName(player.userId), 'PayoutSent');
        expect(sent.data).toMatchObject({ payoutId: payout.payoutId, blockHash: published.hash });
        await synced(app);
        expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 0, failed: 0 });
        expect(sendsFrom(node, next.address)).toHaveLength(0);
      });
    });

    it('publishes the block the former account signed before the node went away, and the new account signs nothing for it', async () => {
      await withLive({}, async ({ app, node, operator, seedFile }) => {
        const player = await earner(app, 10);
        const [payout] = await settle(app);
        node.failNext('process', 'down');
        await expect(app.workers.payoutExecutor.runOnce()).rejects.toThrow();
        const [signed] = await eventsOf(app, operatorStream(operator.address), 'PayoutBlockSigned');
        expect(sendsFrom(node, operator.address)).toHaveLength(0);

        await node.up();
        const next = await replaceSeed(node, seedFile);
        expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 1, failed: 0 });
        expect(sendsFrom(node, operator.address).map((block) => block.hash)).toEqual([signed.data.blockHash]);
        expect(sendsFrom(node, next.address)).toHaveLength(0);
        expect(await eventsOf(app, operatorStream(next.address), 'PayoutBlockSigned')).toHaveLength(0);
        expect(node.receivableOf(player.address).map((send) => send.amountRaw)).toEqual([BigInt(payout.amountRaw)]);
      });
    });

    it('signs the next attempt with the new account once the former account\'s block was refused and is not on the chain', async () => {
      await withLive({}, async ({ app, node, operator, seedFile }) => {
        const player = await earner(app, 10);
        const [payout] = await settle(app);
        node.failNext('process', 'down');
        await expect(app.workers.payoutExecutor.runOnce()).rejects.toThrow();
        await node.up();
        const next = await replaceSeed(node, seedFile);
        // A wallet holding the former seed received on that account meanwhile: the block's previous
        // is no frontier any more, so the node refuses it and no copy of it can ever land.
        await node.fundAndOpen(operator.privateKey, 1n);
        expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 1, failed: 1 });
        expect(sendsFrom(node, operator.address)).toHaveLength(0);
        const [signed] = await eventsOf(app, operatorStream(next.address), 'PayoutBlockSigned');
        expect(signed.data).toMatchObject({ payoutId: payout.payoutId, attempt: 2 });
        expect(node.receivableOf(player.address)).toEqual([{ hash: signed.data.blockHash, amountRaw: BigInt(payout.amountRaw), source: next.address }]);
      });
    });
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** `target` with one method replaced; every other property is the target's own, its methods bound to it. */
function overriding<T extends object, K extends keyof T>(target: T, key: K, replace: (original: T[K]) => T[K]): T {
  const original = (target[key] as (...args: unknown[]) => unknown).bind(target) as T[K];
  const replaced = replace(original);
  return new Proxy(target, {
    get: (object, property) => {
      if (property === key) return replaced;
      const value: unknown = Reflect.get(object, property, object);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(object) : value;
    },
  });
}
