import { writeFile } from 'node:fs/promises';
import { sql } from 'slonik';
import { BananoRpcClient } from '../src/payouts/banano/banano-rpc.client';
import { FileOperatorSeedSource } from '../src/payouts/operator/operator-seed';
import { operatorStream } from '../src/payouts/operator/operator.events';
import { LANDING_WINDOW_MS } from '../src/payouts/banano/unclear-copies';
import { DonationIngester } from '../src/treasury/donation-ingester';
import { journalBalances } from '../src/treasury/journal/journal-balances';
import { type BananoNodeDouble, startBananoNodeDouble } from './doubles/banano-node.double';
import { call, earner, type LiveApp, newBananoAccount, replaceOperatorSeed, sendSignedBy, withLiveApp } from './support/scenario';
import { DEFAULT_MILESTONES } from '../src/rewards/economics/rate';
import { synced, type TestApp } from './support/test-app';

const BAN = 10n ** 29n;

async function waitUntil(condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * The donation ingester against the Banano node double (SPEC §4.5): every receivable send is
 * recorded once, keyed by its hash, before its receive is published; a crash between the two
 * publishes the same block once; funding is told apart; receives and payout sends share one chain.
 */
describe('donation ingester on the Banano node double', () => {
  // Each test starts a live app and pockets up to 25 sends one block at a time: seconds on a quiet
  // machine, more than jest's default minute on one loaded many times over.
  jest.setTimeout(180_000);

  type Live = LiveApp;

  const withLive = (options: { env?: Record<string, string>; openWithBan?: bigint }, body: (live: Live) => Promise<void>): Promise<void> =>
    withLiveApp({ env: () => ({ BANANO_RPC_TIMEOUT_MS: '1000', ...options.env }), openWithRaw: options.openWithBan === undefined ? undefined : options.openWithBan * BAN }, body);

  /** Another service instance's ingester on the same database: its own client, seed source and fold. */
  function secondIngester(live: Live, fundingAddresses: readonly string[] = [], receivableCountMax = 100): DonationIngester {
    return new DonationIngester(
      live.app.pool,
      live.app.store,
      new BananoRpcClient({ url: live.node.url, timeoutMs: 1_000, retriesMax: 2 }),
      new FileOperatorSeedSource(live.seedFile),
      { fundingAddresses, intervalMs: 30_000, receivableCountMax, publishTriesMax: 3, milestones: DEFAULT_MILESTONES, landingWindowMs: LANDING_WINDOW_MS },
    );
  }

  const eventsOf = async (app: TestApp, stream: string, type: string) => (await app.store.readStream(stream)).filter((event) => event.type === type);
  const receivesOf = (node: BananoNodeDouble, address: string) =>
    node.accountChain(address).filter((block) => block.subtype === 'receive' || block.subtype === 'open');

  async function donate(node: BananoNodeDouble, address: string, count: number): Promise<bigint> {
    let total = 0n;
    for (let index = 1; index <= count; index += 1) {
      const amount = BigInt(index) * BAN / 100n;
      await node.fund(address, amount);
      total += amount;
    }
    return total;
  }

  it('records each of 25 receivable sends exactly once and pockets them on one chain, opening the account', async () => {
    await withLive({}, async ({ app, node, operator, ingester }) => {
      const total = await donate(node, operator.address, 25);
      const sends = node.receivableOf(operator.address).map((send) => send.hash);

      expect(await ingester.runOnce()).toEqual({ recorded: 25, pocketed: 25, stoppedBy: null });
      expect(await ingester.runOnce()).toEqual({ recorded: 0, pocketed: 0, stoppedBy: null });

      const recorded = await eventsOf(app, operatorStream(operator.address), 'DonationReceived');
      expect(recorded.map((event) => event.data.sendHash).sort()).toEqual([...sends].sort());
      const chain = node.accountChain(operator.address);
      expect(chain.map((block) => block.subtype)).toEqual(['open', ...Array<string>(24).fill('receive')]);
      expect(chain.map((block) => block.hash)).toEqual(recorded.map((event) => event.data.receiveHash));
      expect(node.balanceOf(operator.address)).toBe(total);
      expect(recorded.reduce((sum, event) => sum + BigInt(String(event.data.amountRaw)), 0n)).toBe(total);
      expect(node.receivableOf(operator.address)).toEqual([]);
      // The event id is the send hash's: the record is keyed by it.
      expect(new Set(recorded.map((event) => event.id)).size).toBe(25);
      expect(node.requests().filter((request) => request.action === 'process')).toHaveLength(25);
    });
  });

  it('with two ingesters running at once, records each send once', async () => {
    await withLive({ openWithBan: 5n }, async (live) => {
      const { app, node, operator, ingester } = live;
      const total = await donate(node, operator.address, 25);
      const other = secondIngester(live);
      for (let round = 0; round < 10 && node.receivableOf(operator.address).length > 0; round += 1) {
        const results = await Promise.all([ingester.runOnce(), other.runOnce(), ingester.runOnce(), other.runOnce()]);
        expect(results.some((result) => result.stoppedBy === null)).toBe(true);
      }
      await Promise.all([ingester.runOnce(), other.runOnce()]);
      const recorded = await eventsOf(app, operatorStream(operator.address), 'DonationReceived');
      expect(recorded).toHaveLength(25);
      expect(new Set(recorded.map((event) => event.data.sendHash)).size).toBe(25);
      expect(receivesOf(node, operator.address)).toHaveLength(26);
      expect(node.balanceOf(operator.address)).toBe(5n * BAN + total);
    });
  });

  it('after a crash between recording and publishing, a restarted ingester publishes the same block once', async () => {
    await withLive({}, async (live) => {
      const { app, node, operator, ingester } = live;
      const total = await donate(node, operator.address, 3);
      node.failNext('process', 'down');
      await expect(ingester.runOnce()).rejects.toThrow();
      const [first] = await eventsOf(app, operatorStream(operator.address), 'DonationReceived');
      expect(await eventsOf(app, operatorStream(operator.address), 'DonationReceived')).toHaveLength(1);
      expect(node.accountChain(operator.address)).toEqual([]);

      await node.up();
      const restarted = secondIngester(live);
      expect(await restarted.runOnce()).toEqual({ recorded: 2, pocketed: 3, stoppedBy: null });
      const recorded = await eventsOf(app, operatorStream(operator.address), 'DonationReceived');
      expect(recorded).toHaveLength(3);
      expect(node.accountChain(operator.address)[0].hash).toBe(first.data.receiveHash);
      expect(receivesOf(node, operator.address)).toHaveLength(3);
      expect(node.balanceOf(operator.address)).toBe(total);
      expect(await ingester.runOnce()).toEqual({ recorded: 0, pocketed: 0, stoppedBy: null });
    });
  });

  it('the payout executor finishes a recorded but unpublished receive before it signs anything', async () => {
    await withLive({ openWithBan: 100n, env: { PAYOUT_MIN_OPERATOR_BALANCE_BAN: '0' } }, async ({ app, node, operator, ingester }) => {
      await donate(node, operator.address, 1);
      node.failNext('process', 'down');
      await expect(ingester.runOnce()).rejects.toThrow();
      const [donation] = await eventsOf(app, operatorStream(operator.address), 'DonationReceived');
      await node.up();
      const player = await earner(app, 10);
      await synced(app);
      expect((await call(app, 'POST', '/v1/admin/settlements', {})).status).toBe(200);
      await synced(app);

      expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 1, failed: 0 });
      const chain = node.accountChain(operator.address);
      expect(chain.map((block) => block.subtype)).toEqual(['open', 'receive', 'send']);
      expect(chain[1].hash).toBe(donation.data.receiveHash);
      expect(node.receivableOf(player.address)).toHaveLength(1);
      expect(await ingester.runOnce()).toEqual({ recorded: 0, pocketed: 0, stoppedBy: null });
    });
  });

  it('a receive recorded for the account the seed named before is published by the payout executor', async () => {
    await withLive({}, async ({ app, node, operator, seedFile, ingester }) => {
      await donate(node, operator.address, 1);
      node.failNext('process', 'down');
      await expect(ingester.runOnce()).rejects.toThrow();
      const [donation] = await eventsOf(app, operatorStream(operator.address), 'DonationReceived');
      await node.up();
      // The seed now names another account, before any payout was signed with the first.
      await replaceOperatorSeed(node, seedFile, 100n * BAN);

      expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 0, failed: 0 });
      expect(node.accountChain(operator.address).map((block) => block.hash)).toEqual([donation.data.receiveHash]);
      expect(node.receivableOf(operator.address)).toEqual([]);
    });
  });

  it('reaches each milestone tier once, by the donations of every account the seed named', async () => {
    await withLive({}, async ({ app, node, operator, seedFile, ingester }) => {
      await node.fund(operator.address, 150n * BAN);
      expect(await ingester.runOnce()).toMatchObject({ recorded: 1, pocketed: 1 });
      const next = await replaceOperatorSeed(node, seedFile, null);
      await node.fund(next.address, 400n * BAN);

      expect(await ingester.runOnce()).toMatchObject({ recorded: 1, pocketed: 1 });
      const tiers = async (address: string) => (await eventsOf(app, operatorStream(address), 'MilestoneReached')).map((event) => [event.data.name, event.data.totalDonatedRaw]);
      expect(await tiers(operator.address)).toEqual([['First Blood', (150n * BAN).toString()]]);
      // 550 BAN in all: Loot Drop is reached, and First Blood is not reached a second time.
      expect(await tiers(next.address)).toEqual([['Loot Drop', (550n * BAN).toString()]]);
      await synced(app);
      const donations = await call(app, 'GET', '/v1/donations');
      expect(donations.body).toMatchObject({ totalDonatedRaw: (550n * BAN).toString(), multiplier: '1.10' });
    });
  });

  it("records the former account's balance moved to the new one as FundingReceived, and counts it once: no donation, no tier, no funding", async () => {
    await withLive({}, async ({ app, node, operator, seedFile, ingester }) => {
      await node.fund(operator.address, 150n * BAN);
      expect(await ingester.runOnce()).toMatchObject({ recorded: 1, pocketed: 1 });
      // A new seed; the operator moves the former account's 150 BAN to the new account.
      const next = await replaceOperatorSeed(node, seedFile, null);
      const sweep = await sendSignedBy(node, operator, next.address, 150n * BAN);

      expect(await ingester.runOnce()).toMatchObject({ recorded: 1, pocketed: 1 });
      const stream = operatorStream(next.address);
      expect(await eventsOf(app, stream, 'DonationReceived')).toEqual([]);
      expect(await eventsOf(app, stream, 'MilestoneReached')).toEqual([]);
      expect((await eventsOf(app, stream, 'FundingReceived')).map((event) => [event.data.sendHash, event.data.sender])).toEqual([[sweep, operator.address]]);
      await synced(app);
      const donations = await call(app, 'GET', '/v1/donations');
      expect(donations.body).toMatchObject({ totalDonatedRaw: (150n * BAN).toString(), multiplier: '1.05', totalFundingRaw: '0' });
      // The 150 BAN moved between two accounts of the operator: the books hold them once, as the
      // donation they came in as, and count no funding.
      expect(await journalBalances(app.pool)).toMatchObject({ operatorWalletRaw: 150n * BAN, donationsRaw: 150n * BAN, fundingRaw: 0n });
    });
  });

  it('records a payout of the former account that came back to the new one as funding with its payout, and counts it back in', async () => {
    await withLive({ env: { PAYOUT_MIN_OPERATOR_BALANCE_BAN: '0' } }, async ({ app, node, operator, seedFile, ingester }) => {
      await node.fund(operator.address, 150n * BAN);
      expect(await ingester.runOnce()).toMatchObject({ recorded: 1, pocketed: 1 });
      // A player's wallet is the account the next seed names; the current account pays them.
      const next = await newBananoAccount();
      await earner(app, 30, { wallet: next.address });
      await synced(app);
      const settlement = await call(app, 'POST', '/v1/admin/settlements', {});
      const [{ payoutId }] = settlement.body.payouts as Array<{ payoutId: string }>;
      await synced(app);
      expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 1, failed: 0 });
      const paidRaw = 150n * BAN - node.balanceOf(operator.address);
      const [payoutSend] = node.receivableOf(next.address);
      // The new seed names that account, and the operator moves the former account's balance to it.
      await writeFile(seedFile, next.seed, { mode: 0o600 });
      const sweep = await sendSignedBy(node, operator, next.address, 150n * BAN - paidRaw);

      expect(await ingester.runOnce()).toMatchObject({ recorded: 2, pocketed: 2 });
      const funding = await eventsOf(app, operatorStream(next.address), 'FundingReceived');
      expect(Object.fromEntries(funding.map((event) => [event.data.sendHash, event.data.returnedPayoutId ?? null]))).toEqual({
        [payoutSend.hash]: payoutId,
        [sweep]: null,
      });
      await synced(app);
      // The operator's accounts hold the 150 BAN again, and so do the books: the payout came back
      // as funding, the rest moved as a transfer.
      expect(node.balanceOf(operator.address) + node.balanceOf(next.address)).toBe(150n * BAN);
      expect(await journalBalances(app.pool)).toMatchObject({ operatorWalletRaw: 150n * BAN, donationsRaw: 150n * BAN, fundingRaw: paidRaw });
      expect((await call(app, 'GET', '/v1/donations')).body).toMatchObject({ totalDonatedRaw: (150n * BAN).toString(), totalFundingRaw: paidRaw.toString() });
    });
  });

  it('tells funding from donations by the sender', async () => {
    const donor = await newBananoAccount();
    const node = await startBananoNodeDouble();
    const genesis = node.genesisAddress;
    await node.close();
    await withLive({ env: { TREASURY_FUNDING_ADDRESSES: genesis } }, async (live) => {
      const { app, node: liveNode, operator, ingester } = live;
      expect(liveNode.genesisAddress).toBe(genesis);
      await liveNode.fundAndOpen(donor.privateKey, 10n * BAN);
      await sendSignedBy(liveNode, donor, operator.address, 3n * BAN);
      await liveNode.fund(operator.address, 50n * BAN);

      expect(await ingester.runOnce()).toEqual({ recorded: 2, pocketed: 2, stoppedBy: null });
      const stream = operatorStream(operator.address);
      const donations = await eventsOf(app, stream, 'DonationReceived');
      const funding = await eventsOf(app, stream, 'FundingReceived');
      expect(donations.map((event) => [event.data.sender, event.data.amountRaw])).toEqual([[donor.address, (3n * BAN).toString()]]);
      expect(funding.map((event) => [event.data.sender, event.data.amountRaw])).toEqual([[genesis, (50n * BAN).toString()]]);
      expect(liveNode.balanceOf(operator.address)).toBe(53n * BAN);
    });
  });

  it("records a payout to a player who linked the operator's own address as funding, not as a donation", async () => {
    await withLive({ openWithBan: 100n, env: { PAYOUT_MIN_OPERATOR_BALANCE_BAN: '0' } }, async ({ app, node, operator, ingester }) => {
      await earner(app, 30, { wallet: operator.address });
      await synced(app);
      expect((await call(app, 'POST', '/v1/admin/settlements', {})).body).toMatchObject({ payoutsRequested: 1, amountRequestedBan: '3.00000000' });
      await synced(app);
      expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 1, failed: 0 });
      const [payoutSend] = node.receivableOf(operator.address);

      expect(await ingester.runOnce()).toEqual({ recorded: 1, pocketed: 1, stoppedBy: null });
      await synced(app);
      const stream = operatorStream(operator.address);
      const donations = await call(app, 'GET', '/v1/donations');

      expect(await eventsOf(app, stream, 'DonationReceived')).toEqual([]);
      expect(
        (await eventsOf(app, stream, 'FundingReceived')).map((event) => [event.data.sendHash, event.data.sender, event.data.amountRaw, event.data.returnedPayoutId]),
      ).toEqual([[payoutSend.hash, operator.address, (3n * BAN).toString(), expect.any(String)]]);
      expect(donations.body).toMatchObject({ totalDonatedRaw: '0', donationCount: 0 });
      expect(node.balanceOf(operator.address)).toBe(100n * BAN);
    });
  });

  it('counts a send once when the node refuses its receive, never publishes that block again, and leaves the send receivable', async () => {
    await withLive({ openWithBan: 1n }, async ({ app, node, operator, ingester }) => {
      const total = await donate(node, operator.address, 3);
      node.failNext('process', 'reject', { error: 'Block work is insufficient' });
      expect(await ingester.runOnce()).toEqual({ recorded: 3, pocketed: 2, stoppedBy: null });
      const [refused] = node.receivableOf(operator.address);
      const processedBefore = node.requests().filter((request) => request.action === 'process').length;
      expect(await ingester.runOnce()).toEqual({ recorded: 0, pocketed: 0, stoppedBy: null });
      const stream = operatorStream(operator.address);
      const recorded = await eventsOf(app, stream, 'DonationReceived');
      expect(recorded.map((event) => event.data.sendHash)).toContain(refused.hash);
      expect(recorded).toHaveLength(3);
      expect(node.requests().filter((request) => request.action === 'process').length).toBe(processedBefore);
      expect(node.receivableOf(operator.address).map((send) => send.hash)).toEqual([refused.hash]);
      expect(node.balanceOf(operator.address)).toBe(1n * BAN + total - refused.amountRaw);
    });
  });

  describe('a receive refused after a copy of it went out without a clear answer', () => {
    // The first copy is only slow (the node takes it after the client's 1 s timeout); the copy
    // published after it is answered with an error, which says nothing of the first.
    it('stays in flight until that copy lands, so the next receive is signed on it and both are pocketed', async () => {
      await withLive({ openWithBan: 10n }, async ({ app, node, operator, ingester }) => {
        await node.fund(operator.address, 3n * BAN);
        await node.fund(operator.address, 4n * BAN);
        node.failNext('process', 'slow', { delayMs: 2_500 });
        node.failNext('process', 'reject', { error: 'Internal server error in RPC' });

        const first = await ingester.runOnce();
        await new Promise((resolve) => setTimeout(resolve, 3_000));
        const second = await ingester.runOnce();

        expect(first).toEqual({ recorded: 1, pocketed: 0, stoppedBy: 'block_in_flight' });
        expect(second).toEqual({ recorded: 1, pocketed: 1, stoppedBy: null });
        const recorded = await eventsOf(app, operatorStream(operator.address), 'DonationReceived');
        expect(new Set(recorded.map((event) => event.data.previous)).size).toBe(2);
        expect(node.receivableOf(operator.address)).toEqual([]);
        expect(node.balanceOf(operator.address)).toBe(17n * BAN);
      });
    });

    it('keeps the payout executor from signing a payout on it meanwhile', async () => {
      await withLive({ openWithBan: 100n }, async ({ app, node, operator, ingester }) => {
        const player = await earner(app, 10);
        await synced(app);
        expect((await call(app, 'POST', '/v1/admin/settlements', {})).body.payoutsRequested).toBe(1);
        await synced(app);
        await node.fund(operator.address, 3n * BAN);
        node.failNext('process', 'slow', { delayMs: 3_500 });
        node.failNext('process', 'reject', { error: 'Internal server error in RPC' });
        expect(await ingester.runOnce()).toMatchObject({ recorded: 1, stoppedBy: 'block_in_flight' });
        // The executor's own copy of the receive is answered with an error too.
        node.failNext('process', 'reject', { error: 'Internal server error in RPC' });
        expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 0, failed: 0 });
        await new Promise((resolve) => setTimeout(resolve, 3_000));

        await ingester.runOnce();
        expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 1, failed: 0 });

        const stream = await app.store.readStream(operatorStream(operator.address));
        expect(new Set(stream.map((event) => event.data.previous)).size).toBe(stream.length);
        expect(node.receivableOf(operator.address)).toEqual([]);
        expect(node.receivableOf(player.address)).toHaveLength(1);
      });
    });

    it('counts it refused once the landing window (BANANO_LANDING_WINDOW_SECONDS) is over and no copy landed', async () => {
      await withLive({ openWithBan: 10n, env: { BANANO_LANDING_WINDOW_SECONDS: '60' } }, async ({ node, operator, ingester, app }) => {
        const send = await node.fund(operator.address, 3n * BAN);
        // The first copy is lost (a 502 from a proxy: the node never saw it); every later copy is refused.
        node.failNext('process', 'answer', { status: 502, body: {} });
        node.failNext('process', 'reject', { error: 'Internal server error in RPC', count: 10 });
        const ageDoubts = (seconds: number) => app.pool.query(sql.unsafe`UPDATE operator_block_doubts SET doubt_at = doubt_at - ${seconds} * interval '1 second'`);

        const published = await ingester.runOnce();
        await ageDoubts(30);
        const halfAMinuteOn = await ingester.runOnce();
        await ageDoubts(60);
        const oneAndAHalfMinutesOn = await ingester.runOnce();

        expect([published, halfAMinuteOn, oneAndAHalfMinutesOn]).toEqual([
          { recorded: 1, pocketed: 0, stoppedBy: 'block_in_flight' },
          { recorded: 0, pocketed: 0, stoppedBy: 'block_in_flight' },
          { recorded: 0, pocketed: 0, stoppedBy: null },
        ]);
        expect(node.receivableOf(operator.address).map((receivable) => receivable.hash)).toEqual([send]);
        expect(await app.pool.anyFirst(sql.unsafe`SELECT block_hash FROM operator_block_doubts`)).toEqual([]);
      });
    });

    it('judges a refusal by the latest copy of any writer: the executor resumed it long before the ingester published it', async () => {
      await withLive({ openWithBan: 100n }, async ({ app, node, operator, ingester }) => {
        await earner(app, 10);
        await synced(app);
        expect((await call(app, 'POST', '/v1/admin/settlements', {})).body.payoutsRequested).toBe(1);
        await synced(app);
        await node.fund(operator.address, 3n * BAN);
        // The ingester records the receive; the node goes away as it is published, and the executor
        // tries to resume it while the node is still away.
        node.failNext('process', 'down');
        await expect(ingester.runOnce()).rejects.toThrow();
        await expect(app.workers.payoutExecutor.runOnce()).rejects.toThrow();
        await node.up();
        await app.pool.query(sql.unsafe`UPDATE operator_block_doubts SET doubt_at = doubt_at - interval '6 minutes'`);
        // Six minutes on, the ingester's copy is slow (the node takes it 3 s later), its next copy an error.
        node.failNext('process', 'slow', { delayMs: 3_000 });
        node.failNext('process', 'reject', { error: 'Internal server error in RPC' });
        expect(await ingester.runOnce()).toMatchObject({ stoppedBy: 'block_in_flight' });

        // The executor's copy is refused too: the ingester's copy is still on its way.
        node.failNext('process', 'reject', { error: 'Internal server error in RPC' });
        expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 0, failed: 0 });
        await waitUntil(() => node.receivableOf(operator.address).length === 0);
        expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 1, failed: 0 });

        const stream = await app.store.readStream(operatorStream(operator.address));
        expect(new Set(stream.map((event) => event.data.previous)).size).toBe(stream.length);
        expect(node.balanceOf(operator.address)).toBe(102n * BAN);
      });
    });
  });

  it('pockets and counts a new send while more refused receives than one receivable page holds stay receivable', async () => {
    await withLive({ openWithBan: 1n }, async (live) => {
      const { app, node, operator } = live;
      // A page of 3 stands for the service's 100: the double takes a third of a second to sign a send.
      const pageSize = 3;
      const ingester = secondIngester(live, [], pageSize);
      const refusedCount = 2 * pageSize + 1;
      const refusedTotal = await donate(node, operator.address, refusedCount);
      node.failNext('process', 'reject', { error: 'Block work is insufficient', count: refusedCount });
      const passes = [await ingester.runOnce(), await ingester.runOnce(), await ingester.runOnce()];
      expect(node.receivableOf(operator.address)).toHaveLength(refusedCount);
      // The double lists receivable sends oldest first (a node lists them by send hash), so the new
      // send comes after every refused one: a page of pageSize sends holds only refused ones.
      const newSend = await node.fund(operator.address, 7n * BAN);
      const readsBefore = node.requests().filter((request) => request.action === 'receivable').length;

      passes.push(await ingester.runOnce());

      const recorded = await eventsOf(app, operatorStream(operator.address), 'DonationReceived');
      const chain = node.accountChain(operator.address);
      expect(recorded.find((event) => event.data.sendHash === newSend)?.data.receiveHash).toBe(chain[chain.length - 1].hash);
      expect(node.receivableOf(operator.address).map((send) => send.hash)).not.toContain(newSend);
      expect(node.balanceOf(operator.address)).toBe(1n * BAN + 7n * BAN);
      await synced(app);
      const donations = await call(app, 'GET', '/v1/donations');
      expect(donations.body).toMatchObject({ totalDonatedRaw: (refusedTotal + 7n * BAN).toString(), donationCount: refusedCount + 1 });
      // Each refused send was recorded once, pageSize a pass; the last pass read one page, with
      // room for the refused sends the pass before had found.
      expect(passes).toEqual([
        { recorded: pageSize, pocketed: 0, stoppedBy: null },
        { recorded: pageSize, pocketed: 0, stoppedBy: null },
        { recorded: 1, pocketed: 0, stoppedBy: null },
        { recorded: 1, pocketed: 1, stoppedBy: null },
      ]);
      expect(recorded).toHaveLength(refusedCount + 1);
      expect(node.requests().filter((request) => request.action === 'receivable').length - readsBefore).toBe(1);
    });
  });

  it('signs no receive on a frontier the node is behind on, and pockets the donation once it answers the true one', async () => {
    await withLive({ openWithBan: 1_000n }, async ({ app, node, operator, ingester }) => {
      await earner(app, 10);
      await synced(app);
      expect((await call(app, 'POST', '/v1/admin/settlements', {})).status).toBe(200);
      await synced(app);
      const [opening] = node.accountChain(operator.address);
      const openingBalanceRaw = node.balanceOf(operator.address);
      expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 1, failed: 0 });
      const donated = await donate(node, operator.address, 1);

      // A lagging node that has not seen the payout's send: a receive signed on its frontier would
      // fork the chain, and, refused by every node that holds the send, never pocket the donation.
      node.failNext('account_info', 'answer', {
        body: { frontier: opening.hash, balance: openingBalanceRaw.toString(), representative: operator.address, block_count: '1' },
      });
      await expect(ingester.runOnce()).rejects.toThrow(/behind the operator account's chain: its frontier [0-9A-F]{64} is at height 1/);
      expect(await eventsOf(app, operatorStream(operator.address), 'DonationReceived')).toEqual([]);

      expect(await ingester.runOnce()).toEqual({ recorded: 1, pocketed: 1, stoppedBy: null });
      expect(node.receivableOf(operator.address)).toEqual([]);
      expect(node.balanceOf(operator.address)).toBe(openingBalanceRaw - BAN + donated);
    });
  });

  it("signs no receive on an account_info whose balance is not its frontier's, and pockets the donation on the next pass", async () => {
    await withLive({ openWithBan: 1_000n }, async ({ app, node, operator, ingester }) => {
      const balanceRaw = node.balanceOf(operator.address);
      const donated = await donate(node, operator.address, 1);
      // The frontier, with a balance 5 BAN short of the one it holds (a confirmed balance beside an
      // unconfirmed block, an answer a proxy pieced together). The node reads a receive's amount as
      // its balance less the previous block's, so the block would claim another amount than the send.
      node.failNext('account_info', 'answer', {
        body: { frontier: node.accountChain(operator.address).at(-1)?.hash, balance: (balanceRaw - 5n * BAN).toString(), representative: operator.address, block_count: '1' },
      });
      await expect(ingester.runOnce()).rejects.toThrow(/answered account_info with a balance of \d+ raw at frontier [0-9A-F]{64}, whose block says \d+ raw/);
      expect(await eventsOf(app, operatorStream(operator.address), 'DonationReceived')).toEqual([]);

      expect(await ingester.runOnce()).toEqual({ recorded: 1, pocketed: 1, stoppedBy: null });
      expect(node.receivableOf(operator.address)).toEqual([]);
      expect(node.balanceOf(operator.address)).toBe(balanceRaw + donated);
    });
  });

  it('keeps the payout executor from signing on a frontier the node is behind on: before the receive pocketed last', async () => {
    await withLive({ openWithBan: 1_000n }, async ({ app, node, operator, ingester }) => {
      const [opening] = node.accountChain(operator.address);
      const openingBalanceRaw = node.balanceOf(operator.address);
      await donate(node, operator.address, 1);
      expect(await ingester.runOnce()).toEqual({ recorded: 1, pocketed: 1, stoppedBy: null });
      const player = await earner(app, 10);
      await synced(app);
      expect((await call(app, 'POST', '/v1/admin/settlements', {})).status).toBe(200);
      await synced(app);

      node.failNext('account_info', 'answer', {
        body: { frontier: opening.hash, balance: openingBalanceRaw.toString(), representative: operator.address, block_count: '1' },
      });
      await expect(app.workers.payoutExecutor.runOnce()).rejects.toThrow(/its frontier [0-9A-F]{64} is at height 1, not after block [0-9A-F]{64} at height 2/);
      expect(await eventsOf(app, operatorStream(operator.address), 'PayoutBlockSigned')).toEqual([]);

      expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 1, failed: 0 });
      expect(node.receivableOf(player.address)).toHaveLength(1);
      expect(node.accountChain(operator.address).map((block) => block.subtype)).toEqual(['open', 'receive', 'send']);
    });
  });

  it('interleaves payouts and donations on one valid chain', async () => {
    await withLive({ openWithBan: 1_000n }, async ({ app, node, operator, ingester }) => {
      const players = [await earner(app, 30), await earner(app, 12), await earner(app, 5)];
      await synced(app);
      expect((await call(app, 'POST', '/v1/admin/settlements', {})).status).toBe(200);
      await synced(app);
      let donated = 0n;
      for (let round = 0; round < 4; round += 1) {
        donated += await donate(node, operator.address, 3);
        await Promise.all([app.workers.payoutExecutor.runOnce(), ingester.runOnce(), app.workers.payoutExecutor.runOnce(), ingester.runOnce()]);
      }
      await app.workers.payoutExecutor.runOnce();
      await ingester.runOnce();

      for (const player of players) expect(node.receivableOf(player.address)).toHaveLength(1);
      expect(node.receivableOf(operator.address)).toEqual([]);
      const chain = node.accountChain(operator.address);
      expect(chain.filter((block) => block.subtype === 'send')).toHaveLength(3);
      expect(chain.filter((block) => block.subtype === 'receive')).toHaveLength(12);
      // Every block was published once and taken: no fork, no refusal, no second try.
      const published = node.requests().filter((request) => request.action === 'process');
      expect(published).toHaveLength(chain.length - 1);
      expect(node.balanceOf(operator.address)).toBe(1_000n * BAN + donated - 47n * BAN / 10n);
      expect(await eventsOf(app, operatorStream(operator.address), 'DonationReceived')).toHaveLength(12);
    });
  });
});
