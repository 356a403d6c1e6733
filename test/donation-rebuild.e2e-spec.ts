import { readFile, writeFile } from 'node:fs/promises';
import { withTryAdvisoryLock } from '../src/platform/database/advisory-lock';
import { type RecordedEvent } from '../src/platform/event-store/event-store.port';
import { BananoNodeUnavailableError, BananoRpcClient, type HistoryEntry } from '../src/payouts/banano/banano-rpc.client';
import { buildReceiveBlock, OPEN_PREVIOUS, publicKeyOfAccount, withWork } from '../src/payouts/banano/state-block';
import { OPERATOR_ACCOUNT_LOCK } from '../src/payouts/executor/payout-executor';
import { FileOperatorSeedSource } from '../src/payouts/operator/operator-seed';
import { operatorStream } from '../src/payouts/operator/operator.events';
import { DEFAULT_MILESTONES } from '../src/rewards/economics/rate';
import { DonationRebuilder } from '../src/treasury/rebuild-donations/donation-rebuilder';
import { type BananoNodeDouble, startBananoNodeDouble } from './doubles/banano-node.double';
import { type Answer, call, earner, type Keys, type LiveApp, newBananoAccount, replaceOperatorSeed, sendSignedBy, withLiveApp } from './support/scenario';
import { startTestApp, synced, type TestApp } from './support/test-app';

const BAN = 10n ** 29n;
const REBUILD = '/v1/admin/donations/rebuild';
const ADMIN = { kind: 'admin', name: 'test-all' };
const NOTHING_APPENDED = { donations: 0, funding: 0, milestones: 0 };

/**
 * The admin donation rebuild over HTTP, against the Banano node double and real PostgreSQL
 * (SPEC §4.5): it reads the operator's chain and appends only the receives the operator stream does
 * not record, never deletes, never counts a send twice, and every refusal appends nothing.
 */
describe('POST /v1/admin/donations/rebuild', () => {
  interface Live extends LiveApp {
    readonly rpc: BananoRpcClient;
  }

  /**
   * A live app on a fresh database, with an operator whose seed is in a file. The node double's
   * genesis account, which `node.fund` sends from, is the one funding address, so its sends are
   * FundingReceived; donations come from donors' own accounts.
   */
  function withLive(options: { env?: Record<string, string>; openWithBan?: bigint }, body: (live: Live) => Promise<void>): Promise<void> {
    const env = (node: BananoNodeDouble): Record<string, string> => ({
      // The double checks signatures in JavaScript: slow on a loaded machine, and these tests are not about timeouts.
      BANANO_RPC_TIMEOUT_MS: '5000',
      TREASURY_FUNDING_ADDRESSES: node.genesisAddress,
      ...options.env,
    });
    return withLiveApp({ env, openWithRaw: options.openWithBan === undefined ? undefined : options.openWithBan * BAN }, (live) =>
      body({ ...live, rpc: new BananoRpcClient({ url: live.node.url, timeoutMs: 2_000, retriesMax: 2, retryDelayMs: 10 }) }),
    );
  }

  const rebuild = (app: TestApp): Promise<Answer> => call(app, 'POST', REBUILD);
  const operatorEvents = (live: Live): Promise<RecordedEvent[]> => live.app.store.readStream(operatorStream(live.operator.address));
  const eventIds = async (live: Live): Promise<string[]> => (await operatorEvents(live)).map((event) => event.id);
  const receivedOf = (events: readonly RecordedEvent[]) => events.filter((event) => event.type === 'DonationReceived' || event.type === 'FundingReceived');

  /** The parts of a refusal integrations rely on: the status, the media type and the stable code. */
  const refusal = (answer: Answer): { status: number; problem: boolean; code: unknown } => ({
    status: answer.status,
    problem: answer.contentType.startsWith('application/problem+json'),
    code: answer.body.code,
  });

  /** A donor: a fresh account opened on the node with `ban` BAN to give. */
  async function donor(node: BananoNodeDouble, ban: bigint): Promise<Keys> {
    const account = await newBananoAccount();
    await node.fundAndOpen(account.privateKey, ban * BAN);
    return account;
  }

  /**
   * Receives every receivable send into the operator account (or `account`) with its key, straight
   * on the node: the chain then holds receives the ledger knows nothing of. Answers the receive
   * hashes.
   */
  async function receiveWithoutTheLedger(live: Live, account: Keys = live.operator): Promise<string[]> {
    const hashes: string[] = [];
    for (const pending of live.node.receivableOf(account.address)) {
      const info = await live.rpc.accountInfo(account.address);
      const { block, hash } = await buildReceiveBlock({
        privateKey: account.privateKey,
        previous: info?.frontier ?? OPEN_PREVIOUS,
        representative: info?.representative ?? account.address,
        balanceBeforeRaw: info?.balanceRaw ?? 0n,
        amountRaw: pending.amountRaw,
        sendBlockHash: pending.hash,
      });
      const work = await live.rpc.workGenerate(info === null ? publicKeyOfAccount(account.address) : info.frontier);
      await live.rpc.process(withWork(block, work), info === null ? 'open' : 'receive');
      hashes.push(hash);
    }
    return hashes;
  }

  /** A rebuilder of this app's operator account with its own client and options, as another instance would build it. */
  function rebuilder(live: Live, rpc: BananoRpcClient, historyPageSizeMax: number): DonationRebuilder {
    return new DonationRebuilder(live.app.pool, live.app.store, rpc, new FileOperatorSeedSource(live.seedFile), {
      fundingAddresses: [live.node.genesisAddress],
      milestones: DEFAULT_MILESTONES,
      historyPageSizeMax,
    });
  }

  const adminMetadata = { correlationId: 'rebuild-test', causationId: null, actor: { kind: 'admin', name: 'tester' } } as const;

  describe('what it appends', () => {
    it('appends nothing after live ingestion: every receive on the chain is already recorded', async () => {
      await withLive({ env: { PAYOUT_MIN_OPERATOR_BALANCE_BAN: '0' } }, async (live) => {
        const { app, node, operator, ingester } = live;
        const giver = await donor(node, 200n);
        await sendSignedBy(node, giver, operator.address, 120n * BAN);
        await sendSignedBy(node, giver, operator.address, 3n * BAN);
        await node.fund(operator.address, 50n * BAN);
        expect(await ingester.runOnce()).toEqual({ recorded: 3, pocketed: 3, stoppedBy: null });
        // A payout puts a send on the chain among the receives.
        await earner(app, 10);
        await synced(app);
        expect((await call(app, 'POST', '/v1/admin/settlements', {})).status).toBe(200);
        await synced(app);
        expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 1, failed: 0 });
        const before = await operatorEvents(live);
        expect(before.map((event) => event.type)).toEqual(['DonationReceived', 'MilestoneReached', 'DonationReceived', 'FundingReceived', 'PayoutBlockSigned']);

        const answer = await rebuild(app);

        expect(answer.status).toBe(200);
        expect(answer.body).toEqual({
          operatorAddress: operator.address,
          blocksScanned: 4,
          receivesFound: 3,
          alreadyRecorded: 3,
          appended: NOTHING_APPENDED,
          appendedSendHashes: [],
        });
        expect(await eventIds(live)).toEqual(before.map((event) => event.id));
      });
    });

    it('on a fresh ledger appends every receive on the chain once, funding apart, with the milestone it crosses; a second rebuild appends nothing', async () => {
      // The node's local_timestamp is in whole seconds.
      const startedAt = Math.floor(Date.now() / 1000) * 1000;
      await withLive({ openWithBan: 40n }, async (live) => {
        const { app, node, operator, ingester } = live;
        const first = await donor(node, 200n);
        const second = await donor(node, 100n);
        const player = await newBananoAccount();
        // 60 + 45 crosses 100 BAN (First Blood) with the second donation; the odd raw keeps amounts off round numbers.
        const donations = [
          { from: first, amountRaw: 60n * BAN },
          { from: second, amountRaw: 45n * BAN },
          { from: first, amountRaw: 7n * BAN + 123_456_789n },
        ];
        const sendHashes: string[] = [];
        for (const donation of donations) sendHashes.push(await sendSignedBy(node, donation.from, operator.address, donation.amountRaw));
        await receiveWithoutTheLedger(live);
        await sendSignedBy(node, operator, player.address, 2n * BAN);
        const funding = await node.fund(operator.address, 10n * BAN);
        await receiveWithoutTheLedger(live);
        const chain = node.accountChain(operator.address);
        expect(chain.map((block) => block.subtype)).toEqual(['open', 'receive', 'receive', 'receive', 'send', 'receive']);
        const receives = chain.filter((block) => block.subtype !== 'send');
        expect(await operatorEvents(live)).toEqual([]);

        const answer = await rebuild(app);

        expect(answer.status).toBe(200);
        expect(answer.body).toEqual({
          operatorAddress: operator.address,
          blocksScanned: 6,
          receivesFound: 5,
          alreadyRecorded: 0,
          appended: { donations: 3, funding: 2, milestones: 1 },
          appendedSendHashes: [chain[0].block.link, ...sendHashes, funding],
        });
        const events = await operatorEvents(live);
        expect(events.map((event) => event.type)).toEqual([
          'FundingReceived',
          'DonationReceived',
          'DonationReceived',
          'MilestoneReached',
          'DonationReceived',
          'FundingReceived',
        ]);
        const received = receivedOf(events);
        const senders = [node.genesisAddress, first.address, second.address, first.address, node.genesisAddress];
        const amounts = [40n * BAN, ...donations.map((donation) => donation.amountRaw), 10n * BAN];
        expect(received.map((event) => ({ ...event.data, receivedAt: null }))).toEqual(
          receives.map((block, index) => ({
            sendHash: block.block.link,
            sender: senders[index],
            amountRaw: amounts[index].toString(),
            receiveHash: block.hash,
            previous: block.block.previous,
            block: block.block,
            receivedAt: null,
          })),
        );
        for (const event of received) {
          const receivedAt = Date.parse(String(event.data.receivedAt));
          expect(receivedAt).toBeGreaterThanOrEqual(startedAt);
          expect(receivedAt).toBeLessThanOrEqual(Date.now());
        }
        const milestone = events[3];
        expect(milestone.data).toEqual({
          thresholdRaw: (100n * BAN).toString(),
          multiplier: '1.05',
          name: 'First Blood',
          totalDonatedRaw: (105n * BAN).toString(),
          sendHash: sendHashes[1],
          reachedAt: events[2].data.receivedAt,
        });
        for (const event of events) expect(event.metadata).toMatchObject({ actor: ADMIN, clientIp: '127.0.0.1' });
        expect(received.map((event) => event.metadata.causationId)).toEqual(receives.map((block) => block.block.link));
        expect(received.filter((event) => event.type === 'DonationReceived').reduce((sum, event) => sum + BigInt(String(event.data.amountRaw)), 0n)).toBe(
          112n * BAN + 123_456_789n,
        );

        const again = await rebuild(app);
        expect(again.status).toBe(200);
        expect(again.body).toEqual({
          operatorAddress: operator.address,
          blocksScanned: 6,
          receivesFound: 5,
          alreadyRecorded: 5,
          appended: NOTHING_APPENDED,
          appendedSendHashes: [],
        });
        expect(await eventIds(live)).toEqual(events.map((event) => event.id));
        // The ingester goes on from the rebuilt records: the block recorded last is on the chain.
        expect(await ingester.runOnce()).toEqual({ recorded: 0, pocketed: 0, stoppedBy: null });
        expect(await eventIds(live)).toEqual(events.map((event) => event.id));
      });
    });

    it('counts the donations of every account the seed named for the milestones, reaching no tier twice', async () => {
      await withLive({}, async (live) => {
        const { app, node, operator, seedFile, ingester } = live;
        const giver = await donor(node, 600n);
        await sendSignedBy(node, giver, operator.address, 150n * BAN);
        expect(await ingester.runOnce()).toMatchObject({ recorded: 1, pocketed: 1 });
        // The seed now names another account, which received a donation the ledger did not record.
        const next = await replaceOperatorSeed(node, seedFile, null);
        await sendSignedBy(node, giver, next.address, 400n * BAN);
        await receiveWithoutTheLedger(live, next);

        const answer = await rebuild(app);

        expect(answer.status).toBe(200);
        expect(answer.body).toMatchObject({ operatorAddress: next.address, appended: { donations: 1, funding: 0, milestones: 1 } });
        const reached = (await app.store.readStream(operatorStream(next.address))).filter((event) => event.type === 'MilestoneReached');
        expect(reached.map((event) => [event.data.name, event.data.totalDonatedRaw])).toEqual([['Loot Drop', (550n * BAN).toString()]]);
      });
    });

    it("appends a receive of the operator's own send, a payout to a player who linked the operator's address, as funding", async () => {
      await withLive({ openWithBan: 100n, env: { PAYOUT_MIN_OPERATOR_BALANCE_BAN: '0' } }, async (live) => {
        const { app, node, operator } = live;
        await earner(app, 30, { wallet: operator.address });
        await synced(app);
        const settlement = await call(app, 'POST', '/v1/admin/settlements', {});
        expect(settlement.status).toBe(200);
        const [{ payoutId }] = settlement.body.payouts as Array<{ payoutId: string }>;
        await synced(app);
        expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 1, failed: 0 });
        const [payoutSend] = node.receivableOf(operator.address);
        await receiveWithoutTheLedger(live);

        const answer = await rebuild(app);

        expect(answer.body).toMatchObject({ receivesFound: 2, alreadyRecorded: 0, appended: { donations: 0, funding: 2, milestones: 0 } });
        const received = receivedOf(await operatorEvents(live)).map((event) => [event.type, event.data.sender, event.data.sendHash, event.data.returnedPayoutId ?? null]);
        // The payout that came back is named; the opening funding is not a payout.
        expect(received).toContainEqual(['FundingReceived', operator.address, payoutSend.hash, payoutId]);
        expect(received.filter(([, , , returned]) => returned !== null)).toHaveLength(1);
        expect(received.filter(([type]) => type === 'DonationReceived')).toEqual([]);
      });
    });

    it('leaves reconciliation in balance, with the chain frontier, when the receives it appends lie below blocks recorded before them', async () => {
      // Opened outside the ledger: the opening receive is on the chain and not in the stream.
      await withLive({ openWithBan: 100n, env: { PAYOUT_MIN_OPERATOR_BALANCE_BAN: '0' } }, async (live) => {
        const { app, node, operator, ingester } = live;
        const giver = await donor(node, 50n);
        await sendSignedBy(node, giver, operator.address, 20n * BAN);
        expect(await ingester.runOnce()).toEqual({ recorded: 1, pocketed: 1, stoppedBy: null });
        await earner(app, 10);
        await synced(app);
        expect((await call(app, 'POST', '/v1/admin/settlements', {})).status).toBe(200);
        await synced(app);
        expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 1, failed: 0 });
        // Another donation taken on the node by hand, above the payout, then one the ingester takes above that.
        await sendSignedBy(node, giver, operator.address, 5n * BAN);
        await receiveWithoutTheLedger(live);
        await sendSignedBy(node, giver, operator.address, 1n * BAN);
        expect(await ingester.runOnce()).toEqual({ recorded: 1, pocketed: 1, stoppedBy: null });
        const chain = node.accountChain(operator.address);
        expect(chain.map((block) => block.subtype)).toEqual(['open', 'receive', 'send', 'receive', 'receive']);
        const chainFrontier = chain[4].hash;

        expect(await rebuild(app)).toMatchObject({ status: 200, body: { appended: { donations: 1, funding: 1, milestones: 0 } } });

        // The rebuild appended the opening receive and the hand-taken donation last, though both lie below the frontier.
        const recorded = (await operatorEvents(live)).map((event) => [event.type, event.data.receiveHash ?? event.data.blockHash]);
        expect(recorded).toEqual([
          ['DonationReceived', chain[1].hash],
          ['PayoutBlockSigned', chain[2].hash],
          ['DonationReceived', chain[4].hash],
          ['FundingReceived', chain[0].hash],
          ['DonationReceived', chain[3].hash],
        ]);
        const report = await call(app, 'GET', '/v1/admin/reconciliation');
        expect(report.status).toBe(200);
        expect(report.body).toMatchObject({
          inBalance: true,
          ledger: { balanceRaw: node.balanceOf(operator.address).toString(), frontier: chainFrontier },
          chain: { frontier: chainFrontier },
          differences: [],
        });
      });
    });

    it('reads the chain page by page and appends only the receives missing among the records of the ingester', async () => {
      await withLive({}, async (live) => {
        const { node, rpc, operator, ingester } = live;
        const giver = await donor(node, 500n);
        await sendSignedBy(node, giver, operator.address, 30n * BAN);
        expect(await ingester.runOnce()).toMatchObject({ recorded: 1, stoppedBy: null });
        const missedDonation = await sendSignedBy(node, giver, operator.address, 80n * BAN);
        await receiveWithoutTheLedger(live);
        await sendSignedBy(node, giver, operator.address, 5n * BAN);
        expect(await ingester.runOnce()).toMatchObject({ recorded: 1, stoppedBy: null });
        const missedFunding = await node.fund(operator.address, 1n * BAN);
        await receiveWithoutTheLedger(live);
        const before = await operatorEvents(live);
        expect(before.map((event) => event.type)).toEqual(['DonationReceived', 'DonationReceived']);
        const historyCallsBefore = node.requests().filter((request) => request.action === 'account_history').length;

        const report = await rebuilder(live, rpc, 2).rebuild(adminMetadata);

        expect(report).toEqual({
          operatorAddress: operator.address,
          blocksScanned: 4,
          receivesFound: 4,
          alreadyRecorded: 2,
          appended: { donations: 1, funding: 1, milestones: 1 },
          appendedSendHashes: [missedDonation, missedFunding],
        });
        const historyCalls = node.requests().filter((request) => request.action === 'account_history').slice(historyCallsBefore);
        expect(historyCalls.map((request) => request.body.head ?? null)).toEqual([null, node.accountChain(operator.address)[1].hash]);
        const events = await operatorEvents(live);
        expect(events.slice(0, 2).map((event) => event.id)).toEqual(before.map((event) => event.id));
        expect(events.slice(2).map((event) => [event.type, event.data.sendHash])).toEqual([
          ['DonationReceived', missedDonation],
          ['MilestoneReached', missedDonation],
          ['FundingReceived', missedFunding],
        ]);
        // 30 and 5 were recorded before; the 80 the chain received between them takes the total to 115.
        expect(events[3].data.totalDonatedRaw).toBe((115n * BAN).toString());
        expect(events[2].metadata).toMatchObject({ actor: adminMetadata.actor, correlationId: 'rebuild-test' });
        expect(await rebuilder(live, rpc, 2).rebuild(adminMetadata)).toMatchObject({ alreadyRecorded: 4, appended: NOTHING_APPENDED });
        expect(await eventIds(live)).toEqual(events.map((event) => event.id));
      });
    });
  });

  describe('what it refuses, appending nothing', () => {
    it('answers 409 gateway_dry_run in dry-run, where there is no chain', async () => {
      const app = await startTestApp({ SETTLEMENT_INTERVAL_SECONDS: '0' });
      try {
        const head = await app.store.headPosition();
        expect(refusal(await rebuild(app))).toEqual({ status: 409, problem: true, code: 'gateway_dry_run' });
        expect(await app.store.headPosition()).toBe(head);
      } finally {
        await app.close();
      }
    });

    it('answers 503 operator_seed_not_configured without an operator seed', async () => {
      const node = await startBananoNodeDouble();
      const app = await startTestApp({ BANANO_RPC_URL: node.url, SETTLEMENT_INTERVAL_SECONDS: '0' });
      try {
        const head = await app.store.headPosition();
        expect(refusal(await rebuild(app))).toEqual({ status: 503, problem: true, code: 'operator_seed_not_configured' });
        expect(await app.store.headPosition()).toBe(head);
        expect(node.requests()).toEqual([]);
      } finally {
        await app.close();
        await node.close();
      }
    });

    it('answers 503 operator_seed_unreadable while the seed file holds no seed, and rebuilds once it does', async () => {
      await withLive({ openWithBan: 10n }, async (live) => {
        const seed = await readFile(live.seedFile, 'utf8');
        await writeFile(live.seedFile, 'not a seed');
        const head = await live.app.store.headPosition();

        expect(refusal(await rebuild(live.app))).toEqual({ status: 503, problem: true, code: 'operator_seed_unreadable' });
        expect(await live.app.store.headPosition()).toBe(head);

        await writeFile(live.seedFile, seed);
        expect(await rebuild(live.app)).toMatchObject({ status: 200, body: { appended: { donations: 0, funding: 1, milestones: 0 } } });
      });
    });

    it('answers 503 banano_node_unavailable while the node is down, and rebuilds once it is back', async () => {
      await withLive({ openWithBan: 10n }, async (live) => {
        await live.node.down();

        const answer = await rebuild(live.app);

        expect(refusal(answer)).toEqual({ status: 503, problem: true, code: 'banano_node_unavailable' });
        expect(await operatorEvents(live)).toEqual([]);
        await live.node.up();
        expect(await rebuild(live.app)).toMatchObject({ status: 200, body: { appended: { donations: 0, funding: 1, milestones: 0 } } });
      });
    });

    it('appends nothing when the node fails on a later page of the history', async () => {
      await withLive({ openWithBan: 10n }, async (live) => {
        const giver = await donor(live.node, 50n);
        await sendSignedBy(live.node, giver, live.operator.address, 20n * BAN);
        await sendSignedBy(live.node, giver, live.operator.address, 20n * BAN);
        await receiveWithoutTheLedger(live);

        /** A node that answers the first page of the history and fails on the second. */
        class FailingOnSecondPage extends BananoRpcClient {
          private pages = 0;
          override async accountHistory(account: string, countMax: number, head?: string): Promise<HistoryEntry[]> {
            this.pages += 1;
            if (this.pages === 2) throw new BananoNodeUnavailableError('account_history', 'server_error', 'The Banano node answered account_history with HTTP 500.');
            return super.accountHistory(account, countMax, head);
          }
        }
        const failing = new FailingOnSecondPage({ url: live.node.url, timeoutMs: 2_000, retriesMax: 0 });

        await expect(rebuilder(live, failing, 2).rebuild(adminMetadata)).rejects.toMatchObject({ code: 'banano_node_unavailable', status: 503 });
        expect(await operatorEvents(live)).toEqual([]);
        expect(await rebuilder(live, live.rpc, 2).rebuild(adminMetadata)).toMatchObject({ appended: { donations: 2, funding: 1, milestones: 0 } });
      });
    });

    it('answers 409 block_in_flight while a recorded receive is not on the chain, and rebuilds once it is published', async () => {
      await withLive({ openWithBan: 10n }, async (live) => {
        const { app, node, rpc, operator, ingester } = live;
        const giver = await donor(node, 50n);
        await sendSignedBy(node, giver, operator.address, 20n * BAN);
        node.failNext('process', 'down');
        await expect(ingester.runOnce()).rejects.toThrow();
        await node.up();
        const before = await operatorEvents(live);
        expect(before.map((event) => event.type)).toEqual(['DonationReceived']);
        expect(await rpc.blockInfo(String(before[0].data.receiveHash))).toBeNull();

        const answer = await rebuild(app);

        expect(refusal(answer)).toEqual({ status: 409, problem: true, code: 'block_in_flight' });
        expect(answer.body.blockHash).toBe(before[0].data.receiveHash);
        expect(await eventIds(live)).toEqual(before.map((event) => event.id));

        expect(await ingester.runOnce()).toEqual({ recorded: 0, pocketed: 1, stoppedBy: null });
        expect(await rebuild(app)).toMatchObject({
          status: 200,
          body: { receivesFound: 2, alreadyRecorded: 1, appended: { donations: 0, funding: 1, milestones: 0 } },
        });
      });
    });

    it('rebuilds past a block signed last that will never land: a payout block whose attempt failed, or one a block beside it replaced', async () => {
      await withLive({ openWithBan: 100n, env: { PAYOUT_MAX_ATTEMPTS: '1' } }, async (live) => {
        const { app, node, operator } = live;
        await earner(app, 10);
        await synced(app);
        const [payout] = (await call(app, 'POST', '/v1/admin/settlements', {})).body.payouts as Array<{ payoutId: string }>;
        await synced(app);
        node.failNext('process', 'reject', { error: 'Block work is insufficient' });
        expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 0, failed: 1 });
        await synced(app);
        // Its attempt is over (the user stream says so), with the account's frontier where it was.
        const afterFailure = await rebuild(app);
        expect((await call(app, 'POST', `/v1/admin/payouts/${payout.payoutId}/cancel`, { reason: 'refused' })).status).toBe(200);
        // A wallet holding the seed pockets a donation beside it: only a rebuild can record it.
        const giver = await donor(node, 30n);
        await sendSignedBy(node, giver, operator.address, 20n * BAN);
        await receiveWithoutTheLedger(live);

        const afterPocketing = await rebuild(app);

        // The first records the account's opening (funding from genesis, outside the ledger).
        expect(afterFailure).toMatchObject({ status: 200, body: { appended: { donations: 0, funding: 1 } } });
        expect(afterPocketing).toMatchObject({ status: 200, body: { appended: { donations: 1, funding: 0 } } });
        expect(receivedOf(await operatorEvents(live)).map((event) => event.type)).toEqual(['FundingReceived', 'DonationReceived']);
      });
    });

    it('waits for a lock held briefly, and answers 409 operator_account_busy when another writer holds it too long', async () => {
      await withLive({ openWithBan: 10n }, async (live) => {
        const { app } = live;
        const startedAt = Date.now();
        const busy = await withTryAdvisoryLock(app.pool, OPERATOR_ACCOUNT_LOCK, () => rebuild(app));

        expect(busy === null ? null : refusal(busy)).toEqual({ status: 409, problem: true, code: 'operator_account_busy' });
        expect(Date.now() - startedAt).toBeGreaterThanOrEqual(1_900);
        expect(await operatorEvents(live)).toEqual([]);

        const released = withTryAdvisoryLock(app.pool, OPERATOR_ACCOUNT_LOCK, () => new Promise((resolve) => setTimeout(resolve, 300)));
        await new Promise((resolve) => setTimeout(resolve, 50));
        const answer = await rebuild(app);
        expect(await released).not.toBeNull();
        expect(answer).toMatchObject({ status: 200, body: { appended: { donations: 0, funding: 1, milestones: 0 } } });
      });
    });
  });
});
