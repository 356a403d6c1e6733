import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'slonik';
import { toStreamName } from '../src/identity/user/user.stream';
import { OPERATOR_EVENT_SCHEMA_VERSION, operatorStream } from '../src/payouts/operator/operator.events';
import { executorMetadata } from '../src/payouts/executor/payout-executor';
import { buildSendBlock, withWork } from '../src/payouts/banano/state-block';
import { projectRoot } from '../src/platform/config/project-root';
import { BananoRpcObservers } from '../src/payouts/banano/banano-gateway';
import { BananoRpcClient, type HistoryEntry } from '../src/payouts/banano/banano-rpc.client';
import { FileOperatorSeedSource } from '../src/payouts/operator/operator-seed';
import { journalBalances } from '../src/treasury/journal/journal-balances';
import { reconcile } from '../src/treasury/reconciliation/reconcile';
import { type Difference, type ReconciliationReport } from '../src/treasury/reconciliation/reconciliation';
import { type BananoNodeDouble, startBananoNodeDouble } from './doubles/banano-node.double';
import { childEnv, waitForExit } from './support/processes';
import { call, donateFrom, earner, type LiveApp, newBananoAccount, replaceOperatorSeed, sendSignedBy, withLiveApp } from './support/scenario';
import { startTestApp, synced, type TestApp } from './support/test-app';

const BAN = 10n ** 29n;

/**
 * Reconciliation (GET /v1/admin/reconciliation and `npm run cli -- reconcile`): the operator wallet
 * as the events count it against the Banano node double's chain, every difference named with the
 * events it concerns; in dry-run, the events against the simulated balance settlement uses.
 */
describe('reconciliation of the ledger with the chain', () => {
  // Not opened: every block on the operator's chain comes from the ledger itself.
  const withLive = (body: (live: LiveApp) => Promise<void>): Promise<void> => withLiveApp({ env: liveEnv }, body);

  function liveEnv(node: BananoNodeDouble): Record<string, string> {
    return {
      BANANO_RPC_URL: node.url,
      BANANO_RPC_TIMEOUT_MS: '1000',
      SETTLEMENT_INTERVAL_SECONDS: '0',
      PAYOUT_RETRY_BACKOFF_SECONDS: '0',
      PAYOUT_MIN_OPERATOR_BALANCE_BAN: '0',
      // The genesis account's sends are the operator's funding; other senders' are donations.
      TREASURY_FUNDING_ADDRESSES: node.genesisAddress,
    };
  }

  async function settleOnly(app: TestApp): Promise<void> {
    await synced(app);
    const run = await call(app, 'POST', '/v1/admin/settlements', {});
    expect(run.status).toBe(200);
    await synced(app);
  }

  async function settleAndPay(app: TestApp): Promise<void> {
    await settleOnly(app);
    await app.workers.payoutExecutor.runOnce();
    await synced(app);
  }

  /** Funding and a donation pocketed by the ingester, then three players paid on chain. */
  async function fundedAndPaid({ app, node, operator }: LiveApp): Promise<void> {
    await node.fund(operator.address, 500n * BAN);
    await donateFrom(node, await newBananoAccount(), operator.address, 20n * BAN);
    const ingester = app.workers.donationIngester;
    if (ingester === null) throw new Error('a live app has a donation ingester');
    expect(await ingester.runOnce()).toEqual({ recorded: 2, pocketed: 2, stoppedBy: null });
    await earner(app, 30);
    await earner(app, 12);
    await earner(app, 5);
    await settleAndPay(app);
    expect(node.accountChain(operator.address).map((block) => block.subtype)).toEqual(['open', 'receive', 'send', 'send', 'send']);
  }

  async function reconciliation(app: TestApp): Promise<ReconciliationReport> {
    const answer = await call(app, 'GET', '/v1/admin/reconciliation');
    expect(answer.status).toBe(200);
    return answer.body as unknown as ReconciliationReport;
  }

  const kinds = (report: ReconciliationReport) => report.differences.map((difference) => difference.kind).sort();
  const differenceOf = (report: ReconciliationReport, kind: string): Difference => {
    const found = report.differences.find((difference) => difference.kind === kind);
    if (found === undefined) throw new Error(`no ${kind} in ${JSON.stringify(report.differences)}`);
    return found;
  };
  const frontierOf = (node: BananoNodeDouble, address: string) => node.accountChain(address).at(-1)?.hash ?? null;

  it('is in balance after funding and a donation are pocketed and payouts are sent live', async () => {
    await withLive(async (live) => {
      const { app, node, operator, seedFile } = live;
      await fundedAndPaid(live);

      const report = await reconciliation(app);

      const chainRaw = node.balanceOf(operator.address).toString();
      expect(report).toMatchObject({
        mode: 'live',
        operatorAddress: operator.address,
        inBalance: true,
        ledger: { balanceRaw: chainRaw, frontier: frontierOf(node, operator.address) },
        chain: { balanceRaw: chainRaw, receivableRaw: '0', receivableBan: '0.00000000', frontier: frontierOf(node, operator.address) },
        differences: [],
      });
      expect(BigInt(report.chain.balanceRaw)).toBeLessThan(520n * BAN);
      expect(Date.parse(report.checkedAt)).not.toBeNaN();
      expect(JSON.stringify(report)).not.toContain((await readFile(seedFile, 'utf8')).trim());
    });
  });

  it('finds a send signed with the operator key behind the ledger and a receivable send not pocketed', async () => {
    await withLive(async (live) => {
      const { app, node, operator } = live;
      await fundedAndPaid(live);
      const lastSigned = (await app.store.readStream(operatorStream(operator.address))).filter((event) => event.type === 'PayoutBlockSigned').at(-1);
      if (lastSigned === undefined) throw new Error('payouts were signed');

      const stranger = await newBananoAccount();
      const unknownSend = await sendSignedBy(node, operator, stranger.address, 7n * BAN);
      const unpocketed = await node.fund(operator.address, 3n * BAN);
      const report = await reconciliation(app);

      expect(report.inBalance).toBe(false);
      expect(kinds(report)).toEqual(['balance_mismatch', 'frontier_mismatch', 'receivable_not_pocketed', 'unknown_block']);
      expect(differenceOf(report, 'unknown_block')).toMatchObject({ blockHash: unknownSend, amountRaw: (7n * BAN).toString(), amountBan: '7.00000000', events: [] });
      expect(differenceOf(report, 'balance_mismatch')).toMatchObject({ amountRaw: (-7n * BAN).toString(), amountBan: '-7.00000000' });
      expect(BigInt(report.ledger.balanceRaw) - BigInt(report.chain.balanceRaw)).toBe(7n * BAN);
      expect(differenceOf(report, 'frontier_mismatch')).toMatchObject({
        blockHash: unknownSend,
        events: [{ streamName: operatorStream(operator.address), revision: Number(lastSigned.revision), type: 'PayoutBlockSigned', eventId: lastSigned.id }],
      });
      expect(differenceOf(report, 'receivable_not_pocketed')).toMatchObject({ blockHash: unpocketed, amountRaw: (3n * BAN).toString(), events: [] });
      expect(report.chain).toMatchObject({ receivableRaw: (3n * BAN).toString(), frontier: unknownSend });
    });
  });

  it('names the events of a payout whose signed block never reached the chain, and is in balance once it does', async () => {
    await withLive(async ({ app, node, operator }) => {
      await node.fund(operator.address, 100n * BAN);
      const player = await earner(app, 10);
      await synced(app);
      expect((await call(app, 'POST', '/v1/admin/settlements', {})).status).toBe(200);
      await synced(app);
      node.failNext('process', 'down');
      await expect(app.workers.payoutExecutor.runOnce()).rejects.toThrow();
      await node.up();
      const [signed] = (await app.store.readStream(operatorStream(operator.address))).filter((event) => event.type === 'PayoutBlockSigned');
      const [requested] = (await app.store.readStream(toStreamName(player.userId))).filter((event) => event.type === 'PayoutRequested');

      const report = await reconciliation(app);

      expect(kinds(report)).toEqual(['payout_signed_unconfirmed']);
      expect(differenceOf(report, 'payout_signed_unconfirmed')).toMatchObject({
        blockHash: signed.data.blockHash,
        amountRaw: signed.data.amountRaw,
        onChain: false,
        events: [
          { streamName: toStreamName(player.userId), revision: Number(requested.revision), type: 'PayoutRequested', eventId: requested.id },
          { streamName: operatorStream(operator.address), revision: Number(signed.revision), type: 'PayoutBlockSigned', eventId: signed.id },
        ],
      });

      expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 1, failed: 0 });
      expect(await reconciliation(app)).toMatchObject({ inBalance: true, differences: [] });
    });
  });

  it('counts once a refused payout block signed again, the same block, by its payout on retry or by the payout that took its kills after a cancel', async () => {
    // One attempt per payout, so a refusal fails the payout at once and an admin decides.
    await withLiveApp({ env: (node) => ({ ...liveEnv(node), PAYOUT_MAX_ATTEMPTS: '1' }) }, async ({ app, node, operator }) => {
      await node.fund(operator.address, 100n * BAN);
      const signedBlocks = async (payoutId: string): Promise<string[]> =>
        (await app.store.readStream(operatorStream(operator.address)))
          .filter((event) => event.type === 'PayoutBlockSigned' && event.data.payoutId === payoutId)
          .map((event) => String(event.data.blockHash));
      const payoutOf = async (userId: string, status: string): Promise<string> =>
        String(await app.pool.oneFirst(sql.unsafe`SELECT payout_id FROM payouts WHERE user_id = ${userId} AND status = ${status}`));
      const refuseNextPayout = async (): Promise<void> => {
        // A definite refusal that leaves the frontier where it was, so the next block signed there for
        // the same amount and address is the very same block.
        node.failNext('process', 'reject', { error: 'Block work is insufficient' });
        expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 0, failed: 1 });
        await synced(app);
      };

      // The same payout: refused, retried by an admin, signed again on the same frontier, sent.
      const retried = await earner(app, 10);
      await settleOnly(app);
      const retriedPayout = await payoutOf(retried.userId, 'pending');
      await refuseNextPayout();
      expect((await call(app, 'POST', `/v1/admin/payouts/${retriedPayout}/retry`)).status).toBe(200);
      await synced(app);
      expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 1, failed: 0 });
      await synced(app);
      const [first, second] = await signedBlocks(retriedPayout);
      expect(second).toBe(first);
      expect(await reconciliation(app)).toMatchObject({ inBalance: true, differences: [] });

      // Another payout: refused and cancelled; its kills are settled again for the same amount and
      // address on the same frontier, so the new payout signs the cancelled one's block and sends it.
      const cancelled = await earner(app, 7);
      await settleOnly(app);
      const cancelledPayout = await payoutOf(cancelled.userId, 'pending');
      await refuseNextPayout();
      expect((await call(app, 'POST', `/v1/admin/payouts/${cancelledPayout}/cancel`, { reason: 'refused by the node' })).status).toBe(200);
      await settleAndPay(app);
      const resettled = await payoutOf(cancelled.userId, 'sent');
      expect(await signedBlocks(resettled)).toEqual(await signedBlocks(cancelledPayout));

      const report = await reconciliation(app);
      expect(report).toMatchObject({ inBalance: true, differences: [], ledger: { balanceRaw: node.balanceOf(operator.address).toString() } });

      // The books: each payout claimed once, and paid once or given back once; the wallet is the chain's.
      await synced(app);
      const booked = async (payoutId: string): Promise<readonly unknown[]> =>
        app.pool.anyFirst(sql.unsafe`SELECT event_type FROM journal_entries WHERE payout_id = ${payoutId} ORDER BY position`);
      expect(await booked(retriedPayout)).toEqual(['PayoutRequested', 'PayoutSent']);
      expect(await booked(cancelledPayout)).toEqual(['PayoutRequested', 'PayoutCancelled']);
      expect(await booked(resettled)).toEqual(['PayoutRequested', 'PayoutSent']);
      expect((await journalBalances(app.pool)).operatorWalletRaw).toBe(node.balanceOf(operator.address));
    });
  });

  it('after a new seed, reconciles the account in force, in balance once the former one moved BAN to it; the journal wallet counts both', async () => {
    await withLive(async (live) => {
      const { app, node, operator, seedFile, ingester } = live;
      await node.fund(operator.address, 100n * BAN);
      await earner(app, 10);
      await settleAndPay(app);
      const formerHolds = node.balanceOf(operator.address);
      const next = await replaceOperatorSeed(node, seedFile, null);
      // The operator moves part of the former balance with a wallet; the ingester records it (a transfer).
      const moved = 60n * BAN;
      await sendSignedBy(node, operator, next.address, moved);
      expect(await ingester.runOnce()).toMatchObject({ recorded: 1, pocketed: 1 });
      await synced(app);

      const report = await reconciliation(app);

      expect(report).toMatchObject({ operatorAddress: next.address, inBalance: true, differences: [], ledger: { balanceRaw: moved.toString() } });
      // The journal's wallet is every account's: the one in force, plus what the former one holds.
      expect(node.balanceOf(operator.address)).toBe(formerHolds - moved);
      expect((await journalBalances(app.pool)).operatorWalletRaw).toBe(moved + (formerHolds - moved));
    });
  });

  it('reports a recorded donation whose receive the node never took', async () => {
    await withLive(async ({ app, node, operator }) => {
      const send = await donateFrom(node, await newBananoAccount(), operator.address, 5n * BAN);
      node.failNext('process', 'down');
      const ingester = app.workers.donationIngester;
      if (ingester === null) throw new Error('a live app has a donation ingester');
      await expect(ingester.runOnce()).rejects.toThrow();
      await node.up();
      const [donation] = (await app.store.readStream(operatorStream(operator.address))).filter((event) => event.type === 'DonationReceived');

      const report = await reconciliation(app);

      // Still receivable, but recorded: counted by the ledger, not on the chain.
      expect(kinds(report)).toEqual(['balance_mismatch', 'frontier_mismatch', 'recorded_receive_not_on_chain']);
      const ref = { streamName: operatorStream(operator.address), revision: Number(donation.revision), type: 'DonationReceived', eventId: donation.id };
      expect(differenceOf(report, 'recorded_receive_not_on_chain')).toMatchObject({ blockHash: donation.data.receiveHash, amountRaw: (5n * BAN).toString(), events: [ref] });
      expect(differenceOf(report, 'recorded_receive_not_on_chain').message).toContain(send);
      expect(report).toMatchObject({ ledger: { balanceRaw: (5n * BAN).toString() }, chain: { balanceRaw: '0', receivableRaw: (5n * BAN).toString(), frontier: null } });
    });
  });

  describe('reading the chain', () => {
    /** reconcile() itself, against the node through `rpc`, with the live app's events and seed. */
    const reconcileWith = (live: LiveApp, rpc: BananoRpcClient): Promise<ReconciliationReport> =>
      reconcile({
        store: live.app.store,
        pool: live.app.pool,
        banano: { rpc, probe: rpc, seeds: new FileOperatorSeedSource(live.seedFile), observers: new BananoRpcObservers() },
        dryRunBalanceRaw: 0n,
      });
    const historyHeads = (node: BananoNodeDouble, since: number): unknown[] =>
      node.requests().slice(since).filter((request) => request.action === 'account_history').map((request) => request.body.head ?? null);

    /** A node whose account_history pages hold at most two blocks, and which can fail or grow the chain on a given page. */
    class ShortPages extends BananoRpcClient {
      pages = 0;
      onPage: (page: number) => Promise<void> = async () => undefined;
      override async accountHistory(account: string, countMax: number, head?: string): Promise<HistoryEntry[]> {
        this.pages += 1;
        await this.onPage(this.pages);
        return super.accountHistory(account, Math.min(countMax, 2), head);
      }
    }

    it('follows the history page by page from the frontier down to the opening block', async () => {
      await withLive(async (live) => {
        const { node, operator } = live;
        await fundedAndPaid(live);
        const chain = node.accountChain(operator.address).map((block) => block.hash);
        const since = node.requests().length;

        const report = await reconcileWith(live, new ShortPages({ url: node.url, timeoutMs: 2_000, retriesMax: 0 }));

        expect(report).toMatchObject({ inBalance: true, differences: [], ledger: { frontier: chain[4] }, chain: { frontier: chain[4] } });
        // Five blocks, two a page: each page starts at the block the last one ended above.
        expect(historyHeads(node, since)).toEqual([chain[4], chain[2], chain[0]]);
      });
    });

    it('reads chain and ledger again when a block went out while it read, and reports the chain as it ends', async () => {
      await withLive(async (live) => {
        const { node, operator } = live;
        await fundedAndPaid(live);
        const rpc = new ShortPages({ url: node.url, timeoutMs: 2_000, retriesMax: 0 });
        let outside: string | null = null;
        // A send signed with the operator key outside the ledger, made while the first reading is on its second page.
        rpc.onPage = async (page) => {
          if (page === 2) outside = await sendSignedBy(node, operator, (await newBananoAccount()).address, 1n * BAN);
        };

        const report = await reconcileWith(live, rpc);

        expect(outside).not.toBeNull();
        expect(report.inBalance).toBe(false);
        expect(report.chain.frontier).toBe(outside);
        expect(kinds(report)).toEqual(['balance_mismatch', 'frontier_mismatch', 'unknown_block']);
        expect(differenceOf(report, 'unknown_block')).toMatchObject({ blockHash: outside, amountRaw: (1n * BAN).toString() });
      });
    });

    it('fails with banano_node_unavailable, and no report, when the node stops answering on a later page', async () => {
      await withLive(async (live) => {
        const { node } = live;
        await fundedAndPaid(live);
        const rpc = new ShortPages({ url: node.url, timeoutMs: 2_000, retriesMax: 0 });
        rpc.onPage = async (page) => {
          if (page === 2) await node.down();
        };

        await expect(reconcileWith(live, rpc)).rejects.toMatchObject({ code: 'banano_node_unavailable', status: 503 });
        await node.up();
      });
    });
  });

  it('answers 503 when the node is down, the seed is unreadable, or no seed is configured, and 422 to a query parameter', async () => {
    await withLive(async ({ app, node, seedFile }) => {
      await node.down();
      const down = await call(app, 'GET', '/v1/admin/reconciliation');
      expect(down.status).toBe(503);
      expect(down.contentType).toContain('application/problem+json');
      expect(down.body).toMatchObject({ code: 'banano_node_unavailable' });
      await node.up();

      const seed = await readFile(seedFile, 'utf8');
      await writeFile(seedFile, 'not a seed');
      const unreadable = await call(app, 'GET', '/v1/admin/reconciliation');
      expect(unreadable.status).toBe(503);
      expect(unreadable.body).toMatchObject({ code: 'operator_seed_unreadable' });
      await writeFile(seedFile, seed);
      expect((await call(app, 'GET', '/v1/admin/reconciliation')).status).toBe(200);
      // It takes no query parameter: one given is refused before the node is asked anything.
      const withParameter = await call(app, 'GET', '/v1/admin/reconciliation?asOf=2026-01-01T00:00:00Z');
      expect([withParameter.status, withParameter.body.code]).toEqual([422, 'unknown_property']);
    });

    const node = await startBananoNodeDouble();
    const app = await startTestApp({ BANANO_RPC_URL: node.url, BANANO_RPC_TIMEOUT_MS: '1000' });
    try {
      const unconfigured = await call(app, 'GET', '/v1/admin/reconciliation');
      expect(unconfigured.status).toBe(503);
      expect(unconfigured.body).toMatchObject({ code: 'operator_seed_not_configured' });
    } finally {
      await app.close();
      await node.close();
    }
  });

  describe('dry-run', () => {
    async function paidDry(): Promise<{ app: TestApp; sentRaw: bigint }> {
      const app = await startTestApp({ SETTLEMENT_INTERVAL_SECONDS: '0' });
      await earner(app, 30);
      await earner(app, 8);
      await settleAndPay(app);
      const sent = await app.pool.oneFirst(sql.unsafe`SELECT coalesce(sum(amount_raw), 0)::text AS sent FROM payouts WHERE status = 'sent'`);
      expect(BigInt(String(sent))).toBeGreaterThan(0n);
      return { app, sentRaw: BigInt(String(sent)) };
    }

    it('is in balance when the simulated balance settlement uses agrees with the events', async () => {
      const { app, sentRaw } = await paidDry();
      try {
        const expected = (10_000n * BAN - sentRaw).toString();
        expect(await reconciliation(app)).toMatchObject({
          mode: 'dry-run',
          operatorAddress: null,
          inBalance: true,
          ledger: { balanceRaw: expected, frontier: null },
          chain: { balanceRaw: expected, receivableRaw: '0', frontier: null },
          differences: [],
        });
      } finally {
        await app.close();
      }
    });

    it('names the payout a damaged read model no longer counts as sent, with its events', async () => {
      const { app } = await paidDry();
      try {
        const payoutId = String(await app.pool.oneFirst(sql.unsafe`SELECT payout_id FROM payouts WHERE status = 'sent' ORDER BY requested_position LIMIT 1`));
        await app.pool.query(sql.unsafe`UPDATE payouts SET status = 'pending' WHERE payout_id = ${payoutId}`);

        const report = await reconciliation(app);

        expect(kinds(report)).toEqual(['balance_mismatch', 'read_model_mismatch']);
        const mismatch = differenceOf(report, 'read_model_mismatch');
        expect(mismatch.message).toContain(payoutId);
        expect(mismatch.events.map((event) => event.type)).toEqual(['PayoutRequested', 'PayoutSent']);
        expect(BigInt(report.chain.balanceRaw) - BigInt(report.ledger.balanceRaw)).toBe(BigInt(mismatch.amountRaw ?? '0'));
      } finally {
        await app.close();
      }
    });
  });

  describe('npm run cli -- reconcile, journal', () => {
    const cli = join(projectRoot(), 'dist', 'src', 'cli.main.js');

    async function runCli(args: readonly string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
      if (!existsSync(cli)) throw new Error(`${cli} is missing: run the tests with npm test, which builds first`);
      const child = spawn(process.execPath, [cli, ...args], { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const { code } = await waitForExit(child, 60_000);
      return { code, stdout, stderr };
    }

    it('exits 0 in balance (and the journal agrees), 2 with differences, 1 when it cannot check (seed unreadable, node down), and never prints the seed', async () => {
      await withLive(async (live) => {
        const { app, node, operator, seedFile } = live;
        await fundedAndPaid(live);
        const env = { DATABASE_URL: app.database.url, BANANO_OPERATOR_SEED_FILE: seedFile, ...liveEnv(node) };
        const seed = (await readFile(seedFile, 'utf8')).trim();

        const inBalance = await runCli(['reconcile', '--json'], env);
        expect({ code: inBalance.code, stderr: inBalance.stderr }).toEqual({ code: 0, stderr: '' });
        expect(JSON.parse(inBalance.stdout)).toMatchObject({ mode: 'live', operatorAddress: operator.address, inBalance: true, differences: [] });

        // The journal's books agree with the events' wallet and with the chain.
        await synced(app);
        const books = await runCli(['journal', '--json'], env);
        expect({ code: books.code, stderr: books.stderr }).toEqual({ code: 0, stderr: '' });
        const wallet = (JSON.parse(inBalance.stdout) as ReconciliationReport).ledger.balanceRaw;
        expect(JSON.parse(books.stdout)).toMatchObject({ trialBalanceRaw: '0', unbalancedEntries: [], balances: { operatorWalletRaw: { raw: wallet } } });
        expect(node.balanceOf(operator.address).toString()).toBe(wallet);
        const booksText = await runCli(['journal'], env);
        expect(booksText.stdout).toContain('Trial balance: 0 raw (balanced)');

        // A posting slipped in behind the database's back (triggers off) is found: exit 2. It is taken out again.
        const stray = sql.unsafe`SELECT entry_id FROM journal_entries ORDER BY position LIMIT 1`;
        const strayEntry = await app.pool.oneFirst(stray);
        await app.pool.transaction(async (transaction) => {
          await transaction.query(sql.unsafe`SET LOCAL session_replication_role = replica`);
          await transaction.query(sql.unsafe`INSERT INTO journal_postings (entry_id, line, account, amount_raw) VALUES (${String(strayEntry)}, 99, 'expense:rewards', 1)`);
        });
        const unbalancedBooks = await runCli(['journal'], env);
        await app.pool.transaction(async (transaction) => {
          await transaction.query(sql.unsafe`SET LOCAL session_replication_role = replica`);
          await transaction.query(sql.unsafe`DELETE FROM journal_postings WHERE line = 99`);
        });
        expect(unbalancedBooks.code).toBe(2);
        expect(unbalancedBooks.stdout).toContain(`Trial balance: 1 raw; unbalanced entries: ${String(strayEntry)}`);

        const unknownSend = await sendSignedBy(node, operator, (await newBananoAccount()).address, 2n * BAN);
        const found = await runCli(['reconcile', '--json'], env);
        expect(found.code).toBe(2);
        const report = JSON.parse(found.stdout) as ReconciliationReport;
        expect(report.inBalance).toBe(false);
        expect(report.differences).toContainEqual(expect.objectContaining({ kind: 'unknown_block', blockHash: unknownSend }));

        const human = await runCli(['reconcile'], env);
        expect(human.code).toBe(2);
        expect(human.stdout).toContain('NOT in balance');
        expect(human.stdout).toContain(`unknown_block: `);
        expect(human.stdout).toContain(`block ${unknownSend}`);

        const unreadable = await runCli(['reconcile', '--json'], { ...env, BANANO_OPERATOR_SEED_FILE: join(tmpdir(), 'no-such-operator.seed') });
        expect(unreadable.code).toBe(1);
        expect(unreadable.stdout).toBe('');
        expect(unreadable.stderr).toContain('operator_seed_unreadable');

        // A node that cannot be read is an error, never a report: nothing on stdout, exit 1.
        await node.down();
        const nodeDown = await runCli(['reconcile'], env);
        await node.up();
        expect({ code: nodeDown.code, stdout: nodeDown.stdout }).toEqual({ code: 1, stdout: '' });
        expect(nodeDown.stderr).toContain('banano_node_unavailable');
        expect(nodeDown.stderr).not.toContain('In balance');

        for (const output of [inBalance, books, booksText, found, human, unreadable, nodeDown]) expect(output.stdout + output.stderr).not.toContain(seed);
      });
    // Six CLI runs, each a fresh Node process: more than jest's default minute on a busy machine.
    }, 240_000);

    it('reports a payout whose block went to another account than its own, over HTTP and in the CLI (exit 2)', async () => {
      await withLive(async ({ app, node, operator, seedFile, ingester }) => {
        await node.fund(operator.address, 100n * BAN);
        expect(await ingester.runOnce()).toMatchObject({ recorded: 1, pocketed: 1 });
        const player = await earner(app, 10);
        await settleOnly(app);
        const [requested] = (await app.store.readStream(toStreamName(player.userId))).filter((event) => event.type === 'PayoutRequested');
        const payoutId = String(requested.data.payoutId);
        const amountRaw = BigInt(String(requested.data.amountRaw));
        expect(requested.data.address).toBe(player.address);

        // A bug (or a tampered record): the block recorded for the payout, with the payout's address as
        // its destination, is signed with the operator key to a stranger. The executor publishes it
        // as recorded and, the node having it, records the payout sent: the amount is the payout's.
        const stranger = await newBananoAccount();
        const rpc = new BananoRpcClient({ url: node.url, timeoutMs: 5_000, retriesMax: 0 });
        const info = await rpc.accountInfo(operator.address);
        if (info === null) throw new Error('the operator account is opened');
        const { block, hash } = await buildSendBlock({
          privateKey: operator.privateKey,
          previous: info.frontier,
          representative: info.representative,
          balanceBeforeRaw: info.balanceRaw,
          amountRaw,
          destination: stranger.address,
        });
        const operatorEvents = await app.store.readStream(operatorStream(operator.address));
        await app.store.appendToStream(
          operatorStream(operator.address),
          [
            {
              id: randomUUID(),
              type: 'PayoutBlockSigned',
              data: {
                payoutId,
                userId: player.userId,
                attempt: 1,
                blockHash: hash,
                previous: info.frontier,
                destination: player.address,
                amountRaw: amountRaw.toString(),
                block: withWork(block, await rpc.workGenerate(info.frontier)),
                signedAt: new Date().toISOString(),
              },
              metadata: { ...executorMetadata(payoutId), schemaVersion: OPERATOR_EVENT_SCHEMA_VERSION },
            },
          ],
          { expectedRevision: BigInt(operatorEvents.length - 1) },
        );
        expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 1, failed: 0 });
        await synced(app);
        expect(node.balanceOf(stranger.address) + node.receivableOf(stranger.address).reduce((sum, send) => sum + send.amountRaw, 0n)).toBe(amountRaw);

        const report = await reconciliation(app);

        // Amount, balance and frontier agree: only the destination tells.
        expect(kinds(report)).toEqual(['destination_mismatch']);
        const mismatch = differenceOf(report, 'destination_mismatch');
        expect(mismatch).toMatchObject({ blockHash: hash, amountRaw: amountRaw.toString() });
        expect(mismatch.events.map((event) => event.type)).toEqual(['PayoutRequested', 'PayoutBlockSigned', 'PayoutSent']);
        for (const named of [payoutId, player.address, stranger.address]) expect(mismatch.message).toContain(named);

        const env = { DATABASE_URL: app.database.url, BANANO_OPERATOR_SEED_FILE: seedFile, ...liveEnv(node) };
        const human = await runCli(['reconcile'], env);
        expect(human.code).toBe(2);
        expect(human.stdout).toContain('NOT in balance: 1 difference.');
        expect(human.stdout).toContain(`destination_mismatch: ${mismatch.message}`);
        expect(human.stdout).toContain(`block ${hash}`);
      });
    }, 120_000);
  });
});
