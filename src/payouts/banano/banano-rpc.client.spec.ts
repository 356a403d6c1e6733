import { startBananoNodeDouble, type BananoNodeDouble } from '../../../test/doubles/banano-node.double';
import {
  BananoNodeRejectedError,
  BananoNodeTimeoutError,
  BananoNodeUnavailableError,
  BananoRpcClient,
  isAmbiguous,
  type BananoRpcConfig,
} from './banano-rpc.client';
import { accountFromSeed, buildSendBlock, hashOf, withWork, type StateBlock } from './state-block';

type Keys = { privateKey: string; publicKey: string; address: string };

/** More than Number.MAX_SAFE_INTEGER raw, so a float anywhere on the way would lose digits. */
const operatorFundsRaw = 10_000n * 10n ** 29n + 123_456_789n;
/** The timeout of the tests about timeouts. */
const timeoutMs = 300;
/**
 * The timeout of every other test: the double checks signatures in JavaScript, which can take
 * longer than `timeoutMs` on a loaded machine, and those tests are not about timing.
 */
const answerTimeoutMs = 5_000;

describe('BananoRpcClient against the Banano node double', () => {
  let node: BananoNodeDouble;
  let operator: Keys;
  let player: Keys;

  beforeAll(async () => {
    operator = await accountFromSeed('4'.repeat(64), 0);
    player = await accountFromSeed('4'.repeat(64), 1);
  });

  beforeEach(async () => {
    node = await startBananoNodeDouble();
  });

  afterEach(async () => {
    await node.close();
  });

  function client(overrides: Partial<BananoRpcConfig> = {}): BananoRpcClient {
    return new BananoRpcClient({ url: node.url, timeoutMs: answerTimeoutMs, retriesMax: 2, retryDelayMs: 10, ...overrides });
  }

  function actions(): string[] {
    return node.requests().map((request) => request.action);
  }

  /** A signed send of `amountRaw` from the funded operator to the player, with work from the node. */
  async function signedSend(rpc: BananoRpcClient, amountRaw: bigint): Promise<{ block: StateBlock; hash: string }> {
    const info = await rpc.accountInfo(operator.address);
    if (info === null) throw new Error('the operator is not opened');
    const { block, hash } = await buildSendBlock({
      privateKey: operator.privateKey,
      previous: info.frontier,
      representative: info.representative,
      balanceBeforeRaw: info.balanceRaw,
      amountRaw,
      destination: player.address,
    });
    return { block: withWork(block, await rpc.workGenerate(info.frontier)), hash };
  }

  /**
   * Starts `work` and measures until it settles. The clock starts before the call, so the client's
   * timer cannot have started earlier than the measurement (timers may fire up to 1 ms early).
   * Only the lower bound is tight: a loaded machine may deliver the timer late, so the upper
   * bounds below only prove that the call ends on its own, long before the node would answer.
   */
  async function timed<T>(work: () => Promise<T>): Promise<{ outcome: Promise<T>; took: number }> {
    const startedAt = performance.now();
    const outcome = work();
    await outcome.catch(() => undefined);
    return { outcome, took: performance.now() - startedAt };
  }

  describe('reads', () => {
    it('answers null for an unopened account, and the frontier, balance and count as bigint once opened', async () => {
      const rpc = client();
      expect(await rpc.accountInfo(operator.address)).toBeNull();

      const frontier = await node.fundAndOpen(operator.privateKey, operatorFundsRaw);
      expect(await rpc.accountInfo(operator.address)).toEqual({
        frontier,
        balanceRaw: operatorFundsRaw,
        representative: node.genesisAddress,
        blockCount: 1n,
      });
    });

    it('reads balance and receivable as exact bigints', async () => {
      await node.fund(player.address, operatorFundsRaw);
      expect(await client().accountBalance(player.address)).toEqual({ balanceRaw: 0n, receivableRaw: operatorFundsRaw });
    });

    it('lists receivable sends with amount and source, and none as an empty list', async () => {
      const rpc = client();
      expect(await rpc.receivable(player.address, 10)).toEqual([]);
      const hash = await node.fund(player.address, operatorFundsRaw);
      expect(await rpc.receivable(player.address, 10)).toEqual([{ hash, amountRaw: operatorFundsRaw, source: node.genesisAddress }]);
      expect(node.requests().at(-1)?.body).toMatchObject({ action: 'receivable', count: '10', source: true });
    });

    it('reads the raw history newest first and pages with head', async () => {
      const rpc = client();
      const open = await node.fundAndOpen(operator.privateKey, operatorFundsRaw);
      const send = await signedSend(rpc, 5n);
      await rpc.process(send.block, 'send');

      const [newest, ...rest] = await rpc.accountHistory(operator.address, 1);
      expect(rest).toEqual([]);
      expect(newest).toMatchObject({
        hash: send.hash,
        type: 'send',
        account: player.address,
        amountRaw: 5n,
        balanceRaw: operatorFundsRaw - 5n,
        height: 2n,
        previous: open,
        confirmed: true,
      });
      expect(await rpc.accountHistory(operator.address, 10, newest?.previous)).toMatchObject([
        { hash: open, type: 'receive', account: node.genesisAddress, amountRaw: operatorFundsRaw, height: 1n },
      ]);
      expect(await rpc.accountHistory(player.address, 10)).toEqual([]);
    });

    it('carries the signature and work of a raw entry, so the whole state block can be put together again', async () => {
      const rpc = client();
      await node.fundAndOpen(operator.privateKey, operatorFundsRaw);
      const send = await signedSend(rpc, 5n);
      await rpc.process(send.block, 'send');

      const [entry] = await rpc.accountHistory(operator.address, 1);
      if (entry === undefined) throw new Error('the history has the send');
      const rebuilt: StateBlock = {
        type: 'state',
        account: operator.address,
        previous: entry.previous,
        representative: entry.representative,
        balance: entry.balanceRaw.toString(),
        link: entry.link,
        signature: entry.signature,
        work: entry.work,
      };
      expect(rebuilt).toEqual(send.block);
      expect(hashOf(rebuilt)).toBe(entry.hash);
    });

    describe('a raw history entry', () => {
      /** An entry as the node writes it in a raw history; the answer is canned, nothing is applied. */
      const entry = (overrides: Record<string, unknown>) => ({
        type: 'state',
        representative: node.genesisAddress,
        link: 'AB'.repeat(32),
        balance: '5',
        previous: '0'.repeat(64),
        subtype: 'receive',
        account: node.genesisAddress,
        amount: '5',
        local_timestamp: '1700000000',
        height: '1',
        hash: 'CD'.repeat(32),
        confirmed: 'true',
        signature: 'ef'.repeat(64),
        work: '0123456789ABCDEF',
        ...overrides,
      });

      it('is read with its signature in upper case and its work in lower case', async () => {
        node.failNext('account_history', 'answer', { body: { account: operator.address, history: [entry({})] } });
        expect(await client({ retriesMax: 0 }).accountHistory(operator.address, 1)).toMatchObject([
          { hash: 'CD'.repeat(32), signature: 'EF'.repeat(64), work: '0123456789abcdef' },
        ]);
      });

      it.each([
        ['no signature', { signature: undefined }],
        ['a signature that is not 128 hex characters', { signature: 'ef'.repeat(63) }],
        ['no work', { work: undefined }],
        ['work that is not 16 hex characters', { work: 'not-work-at-all!' }],
      ])('with %s is malformed', async (_case, overrides) => {
        node.failNext('account_history', 'answer', { body: { account: operator.address, history: [entry(overrides)] } });
        await expect(client({ retriesMax: 0 }).accountHistory(operator.address, 1)).rejects.toMatchObject({
          code: 'node_unavailable',
          reason: 'malformed',
        });
      });
    });

    it('gets work from the node in lower case', async () => {
      expect(await client().workGenerate('ab'.repeat(32))).toMatch(/^[0-9a-f]{16}$/);
    });

    it('sends the configured Authorization header', async () => {
      await client({ authHeader: 'secret-key' }).accountBalance(player.address);
      await client({ authHeader: null }).accountBalance(player.address);
      expect(node.requests().map((request) => request.authorization)).toEqual(['secret-key', null]);
    });
  });

  describe('process and block_info', () => {
    it('publishes a signed send, answers its hash, and block_info then shows it confirmed', async () => {
      const rpc = client();
      await node.fundAndOpen(operator.privateKey, operatorFundsRaw);
      const { block, hash } = await signedSend(rpc, 10n ** 27n);

      expect(await rpc.process(block, 'send')).toEqual({ hash });
      expect(await rpc.blockInfo(hash)).toEqual({
        hash,
        account: operator.address,
        amountRaw: 10n ** 27n,
        balanceRaw: operatorFundsRaw - 10n ** 27n,
        height: 2n,
        confirmed: true,
        subtype: 'send',
        contents: block,
      });
      expect(node.requests().find((request) => request.action === 'process')?.body).toMatchObject({ json_block: true, subtype: 'send' });
    });

    it('answers null for a block the node does not know', async () => {
      expect(await client().blockInfo('CD'.repeat(32))).toBeNull();
    });

    it.each([
      ['a fork', 'Fork'],
      ['a gap', 'Gap previous block'],
      ['an old block', 'Old block'],
      ['a balance mismatch', 'Balance and amount delta do not match'],
      ['a bad signature', 'Bad signature'],
      ['too little work', 'Block work is insufficient'],
    ])('maps %s to node_rejected with the node text, not ambiguous', async (_case, nodeError) => {
      const rpc = client();
      await node.fundAndOpen(operator.privateKey, operatorFundsRaw);
      const { block } = await signedSend(rpc, 1n);
      node.failNext('process', 'reject', { error: nodeError });

      const error = await rpc.process(block, 'send').catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(BananoNodeRejectedError);
      expect(error).toMatchObject({ code: 'node_rejected', nodeError, action: 'process', ambiguous: false });
      expect(isAmbiguous(error)).toBe(false);
    });

    it('maps a real rejection by the ledger: the same send published twice', async () => {
      const rpc = client();
      await node.fundAndOpen(operator.privateKey, operatorFundsRaw);
      const { block } = await signedSend(rpc, 1n);
      await rpc.process(block, 'send');
      await expect(rpc.process(block, 'send')).rejects.toMatchObject({
        code: 'node_rejected',
        nodeError: 'Invalid block balance for given subtype',
      });
    });
  });

  describe('process failures are ambiguous and never retried', () => {
    let rpc: BananoRpcClient;
    let block: StateBlock;
    let hash: string;

    beforeEach(async () => {
      rpc = client();
      await node.fundAndOpen(operator.privateKey, operatorFundsRaw);
      ({ block, hash } = await signedSend(rpc, 7n));
    });

    function processCalls(): number {
      return actions().filter((action) => action === 'process').length;
    }

    it('a timeout within timeoutMs is node_timeout, ambiguous, and the block may well be in the ledger', async () => {
      node.failNext('process', 'accept_then_timeout');
      const { outcome, took } = await timed(() => client({ timeoutMs }).process(block, 'send'));

      const error = await outcome.catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(BananoNodeTimeoutError);
      expect(error).toMatchObject({ code: 'node_timeout', timeoutMs, ambiguous: true });
      expect(isAmbiguous(error)).toBe(true);
      expect(took).toBeGreaterThanOrEqual(timeoutMs - 1);
      expect(took).toBeLessThan(answerTimeoutMs);
      expect(processCalls()).toBe(1);
      // This is why the caller must ask block_info before anything else.
      expect(await rpc.blockInfo(hash)).toMatchObject({ hash, confirmed: true });
    });

    it('a dropped connection is node_unavailable and ambiguous', async () => {
      node.failNext('process', 'accept_then_drop');
      const error = await rpc.process(block, 'send').catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(BananoNodeUnavailableError);
      expect(error).toMatchObject({ code: 'node_unavailable', reason: 'connection_dropped', ambiguous: true });
      expect(processCalls()).toBe(1);
      expect(await rpc.blockInfo(hash)).not.toBeNull();
    });

    it('a refused connection is node_unavailable and not ambiguous: nothing was sent', async () => {
      await node.down();
      // fetch pools connections; until it has seen the double close the pooled one, a request written
      // on it fails as a dropped connection, which is (rightly) ambiguous. Give it that moment.
      await new Promise((resolve) => setTimeout(resolve, 100));
      const error = await rpc.process(block, 'send').catch((caught: unknown) => caught);
      expect(error).toMatchObject({ code: 'node_unavailable', reason: 'connection_refused', ambiguous: false });
      expect(isAmbiguous(error)).toBe(false);
      await node.up();
      expect(processCalls()).toBe(0);
      expect(await rpc.blockInfo(hash)).toBeNull();
    });

    it.each([
      ['a 500', { status: 500, rawBody: 'Internal Server Error' }, 'server_error'],
      ['a body that is not JSON', { apply: true, rawBody: '{"hash": "AB' }, 'malformed'],
      ['another hash than the block has', { body: { hash: 'AB'.repeat(32) } }, 'malformed'],
    ])('%s is node_unavailable and ambiguous', async (_case, options, reason) => {
      node.failNext('process', 'answer', options);
      const error = await rpc.process(block, 'send').catch((caught: unknown) => caught);
      expect(error).toMatchObject({ code: 'node_unavailable', reason, ambiguous: true });
      expect(processCalls()).toBe(1);
    });

    it('a slow answer past timeoutMs is a timeout, not a second publish', async () => {
      node.failNext('process', 'slow', { delayMs: timeoutMs * 3 });
      await expect(client({ timeoutMs }).process(block, 'send')).rejects.toMatchObject({ code: 'node_timeout', ambiguous: true });
      expect(processCalls()).toBe(1);
    });

    it('the block is hashed before sending, and a publish after an ambiguous failure is the same block', async () => {
      node.failNext('process', 'accept_then_drop');
      await rpc.process(block, 'send').catch(() => undefined);
      // The caller found nothing decisive and re-publishes the very same block: the node knows it.
      await expect(rpc.process(block, 'receive')).rejects.toMatchObject({ nodeError: 'Old block' });
      expect(hashOf(block)).toBe(hash);
    });
  });

  describe('reads are retried a bounded number of times', () => {
    it('retries a dropped read and succeeds', async () => {
      node.failNext('account_balance', 'accept_then_drop');
      expect(await client().accountBalance(player.address)).toEqual({ balanceRaw: 0n, receivableRaw: 0n });
      expect(actions()).toEqual(['account_balance', 'account_balance']);
    });

    it('retries a read that timed out and succeeds', async () => {
      node.failNext('block_info', 'slow', { delayMs: timeoutMs * 3 });
      expect(await client({ timeoutMs }).blockInfo('CD'.repeat(32))).toBeNull();
      expect(actions()).toEqual(['block_info', 'block_info']);
    });

    it('gives up after retriesMax retries with the last error', async () => {
      node.failNext('account_info', 'answer', { status: 502, rawBody: 'Bad Gateway', count: 5 });
      await expect(client({ retriesMax: 2 }).accountInfo(operator.address)).rejects.toMatchObject({
        code: 'node_unavailable',
        reason: 'server_error',
        ambiguous: false,
      });
      expect(actions()).toEqual(['account_info', 'account_info', 'account_info']);
    });

    it('times out within timeoutMs when retriesMax is 0', async () => {
      node.failNext('work_generate', 'accept_then_timeout');
      const { outcome, took } = await timed(() => client({ timeoutMs, retriesMax: 0 }).workGenerate('ab'.repeat(32)));
      await expect(outcome).rejects.toBeInstanceOf(BananoNodeTimeoutError);
      expect(took).toBeGreaterThanOrEqual(timeoutMs - 1);
      expect(took).toBeLessThan(answerTimeoutMs);
      expect(actions()).toEqual(['work_generate']);
    });

    it('a refused connection is retried, then reported as node_unavailable', async () => {
      await node.down();
      await expect(client({ retriesMax: 1 }).receivable(player.address, 5)).rejects.toMatchObject({
        code: 'node_unavailable',
        reason: 'connection_refused',
      });
      await node.up();
    });

    it('does not retry a definite error answer', async () => {
      node.failNext('account_history', 'reject', { error: 'Bad account number' });
      await expect(client().accountHistory(player.address, 5)).rejects.toMatchObject({ code: 'node_rejected', nodeError: 'Bad account number' });
      expect(actions()).toEqual(['account_history']);
    });
  });

  describe('answers that are not what the protocol says are malformed', () => {
    it.each([
      ['a JSON number', 1e30],
      ['a decimal fraction', '1.5'],
      ['a negative amount', '-1'],
      ['hex', '0x10'],
      ['an exponent', '1e30'],
      ['more than 128 bits', (2n ** 128n).toString()],
      ['an empty string', ''],
    ])('refuses a balance given as %s', async (_case, balance) => {
      node.failNext('account_balance', 'answer', { body: { balance, pending: '0', receivable: '0' } });
      await expect(client({ retriesMax: 0 }).accountBalance(player.address)).rejects.toMatchObject({
        code: 'node_unavailable',
        reason: 'malformed',
      });
    });

    it('refuses an answer larger than the size cap', async () => {
      node.failNext('account_balance', 'answer', { rawBody: `{"balance": "0", "pad": "${'x'.repeat(3 * 1024 * 1024)}"}` });
      await expect(client({ retriesMax: 0 }).accountBalance(player.address)).rejects.toMatchObject({ reason: 'malformed' });
    });

    it('reports a 4xx from a proxy as unexpected_status', async () => {
      node.failNext('account_balance', 'answer', { status: 401, rawBody: 'Unauthorized' });
      await expect(client({ retriesMax: 0 }).accountBalance(player.address)).rejects.toMatchObject({
        code: 'node_unavailable',
        reason: 'unexpected_status',
      });
    });

    it('refuses block_info with a missing amount or an unreadable confirmed flag', async () => {
      const hash = await node.fund(player.address, 5n);
      const good = await client().blockInfo(hash);
      expect(good?.amountRaw).toBe(5n);
      node.failNext('block_info', 'answer', { body: { block_account: node.genesisAddress, balance: '1', height: '2', confirmed: 'yes', contents: {} } });
      await expect(client({ retriesMax: 0 }).blockInfo(hash)).rejects.toMatchObject({ reason: 'malformed' });
    });

    it('refuses a block_info answer whose contents are another block, or contradict it', async () => {
      const asked = await node.fund(player.address, 5n);
      const other = await node.fund(operator.address, 7n);
      const answerAbout = async (hash: string): Promise<Record<string, unknown>> =>
        (await (await fetch(node.url, { method: 'POST', body: JSON.stringify({ action: 'block_info', hash, json_block: true }) })).json()) as Record<string, unknown>;
      const good = await answerAbout(asked);
      const contradictions = [
        await answerAbout(other),
        { ...good, block_account: operator.address },
        { ...good, balance: '1' },
      ];
      for (const body of contradictions) {
        node.failNext('block_info', 'answer', { body });
        await expect(client({ retriesMax: 0 }).blockInfo(asked)).rejects.toMatchObject({ code: 'node_unavailable', reason: 'malformed' });
      }
      expect((await client().blockInfo(asked))?.amountRaw).toBe(5n);
    });
  });
});
