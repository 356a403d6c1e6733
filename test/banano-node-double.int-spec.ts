import { accountFromSeed, buildReceiveBlock, buildSendBlock, OPEN_PREVIOUS, withWork, type StateBlock } from '../src/payouts/banano/state-block';
import { startBananoNodeDouble, type BananoNodeDouble } from './doubles/banano-node.double';

/*
 * The double's ledger rules and fault modes, checked over raw HTTP (not through our RPC client) so
 * a bug in the client cannot hide one in the double. Error texts are the node's own (nano-node
 * nano/lib/errors.cpp).
 */

type Keys = { privateKey: string; publicKey: string; address: string };
type Json = Record<string, unknown>;

/**
 * The work the double's work_generate answers for a block's root: its previous, or the account's
 * public key for the block that opens it. The double takes no other.
 */
function workFor(previous: string, account: Keys): string {
  return (previous === OPEN_PREVIOUS ? account.publicKey : previous).slice(0, 16).toLowerCase();
}

describe('Banano node double', () => {
  let node: BananoNodeDouble;
  let operator: Keys;
  let player: Keys;
  let stranger: Keys;

  beforeAll(async () => {
    operator = await accountFromSeed('3'.repeat(64), 0);
    player = await accountFromSeed('3'.repeat(64), 1);
    stranger = await accountFromSeed('3'.repeat(64), 2);
  });

  beforeEach(async () => {
    node = await startBananoNodeDouble();
  });

  afterEach(async () => {
    await node.close();
  });

  async function rpc(body: Json, timeoutMs = 5000): Promise<Json> {
    const response = await fetch(node.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    expect(response.status).toBe(200);
    return (await response.json()) as Json;
  }

  function publish(block: StateBlock, subtype?: string): Promise<Json> {
    return rpc(subtype === undefined ? { action: 'process', json_block: true, block } : { action: 'process', json_block: true, subtype, block });
  }

  /** The operator's chain opened with `amountRaw`; answers its frontier. */
  async function openOperator(amountRaw: bigint): Promise<string> {
    return node.fundAndOpen(operator.privateKey, amountRaw);
  }

  async function send(from: Keys, previous: string, balanceBeforeRaw: bigint, amountRaw: bigint, to: Keys): Promise<{ block: StateBlock; hash: string }> {
    const { block, hash } = await buildSendBlock({
      privateKey: from.privateKey,
      previous,
      representative: from.address,
      balanceBeforeRaw,
      amountRaw,
      destination: to.address,
    });
    return { block: withWork(block, workFor(previous, from)), hash };
  }

  async function receive(
    to: Keys,
    previous: string,
    balanceBeforeRaw: bigint,
    amountRaw: bigint,
    sendBlockHash: string,
  ): Promise<{ block: StateBlock; hash: string }> {
    const { block, hash } = await buildReceiveBlock({
      privateKey: to.privateKey,
      previous,
      representative: to.address,
      balanceBeforeRaw,
      amountRaw,
      sendBlockHash,
    });
    return { block: withWork(block, workFor(previous, to)), hash };
  }

  describe('funding and reading accounts', () => {
    it('given a fund, then the address has a receivable send from genesis and is not opened', async () => {
      const amountRaw = 12_345n * 10n ** 29n;
      const sendHash = await node.fund(player.address, amountRaw);

      expect(await rpc({ action: 'account_info', account: player.address, representative: true })).toEqual({ error: 'Account not found' });
      expect(await rpc({ action: 'account_balance', account: player.address })).toEqual({
        balance: '0',
        pending: amountRaw.toString(),
        receivable: amountRaw.toString(),
      });
      expect(await rpc({ action: 'receivable', account: player.address, count: '10', source: true })).toEqual({
        blocks: { [sendHash]: { amount: amountRaw.toString(), source: node.genesisAddress } },
      });
      expect(await rpc({ action: 'receivable', account: player.address, count: '10' })).toEqual({ blocks: [sendHash] });
      expect(node.receivableOf(player.address)).toEqual([{ hash: sendHash, amountRaw, source: node.genesisAddress }]);
    });

    it('given fundAndOpen, then account_info shows the opened chain with representative', async () => {
      const frontier = await openOperator(1000n);

      expect(await rpc({ action: 'account_info', account: operator.address, representative: 'true' })).toMatchObject({
        frontier,
        open_block: frontier,
        balance: '1000',
        block_count: '1',
        representative: node.genesisAddress,
      });
      expect(await rpc({ action: 'receivable', account: operator.address, count: '10', source: true })).toEqual({ blocks: '' });
      expect(node.accountChain(operator.address)).toEqual([{ hash: frontier, block: expect.objectContaining({ balance: '1000' }), subtype: 'open' }]);
    });

    it('answers work_generate at once with 16 hex characters, and unknown actions and bad JSON as the node does', async () => {
      expect(await rpc({ action: 'work_generate', hash: 'AB'.repeat(32) })).toMatchObject({ work: expect.stringMatching(/^[0-9a-f]{16}$/) });
      expect(await rpc({ action: 'accounts_pending', accounts: [player.address] })).toEqual({ error: 'Unknown command' });
      const response = await fetch(node.url, { method: 'POST', body: '{"action": ', signal: AbortSignal.timeout(5000) });
      expect(await response.json()).toEqual({ error: 'Unable to parse JSON' });
    });
  });

  describe('process: a valid send', () => {
    it('given an opened operator, when a signed send is processed, then it answers the hash and balances move', async () => {
      const frontier = await openOperator(1000n);
      const { block, hash } = await send(operator, frontier, 1000n, 300n, player);

      expect(await publish(block, 'send')).toEqual({ hash });

      expect(node.balanceOf(operator.address)).toBe(700n);
      expect(node.receivableOf(player.address)).toEqual([{ hash, amountRaw: 300n, source: operator.address }]);
      expect(node.blocks().at(-1)).toEqual({ hash, block, subtype: 'send' });
      expect(await rpc({ action: 'block_info', hash, json_block: true })).toMatchObject({
        block_account: operator.address,
        amount: '300',
        balance: '700',
        height: '2',
        confirmed: 'true',
        subtype: 'send',
        contents: { ...block, link_as_account: player.address },
      });

      // The player opens its account by receiving it.
      const opened = await receive(player, OPEN_PREVIOUS, 0n, 300n, hash);
      expect(await publish(opened.block, 'open')).toEqual({ hash: opened.hash });
      expect(node.balanceOf(player.address)).toBe(300n);
      expect(node.receivableOf(player.address)).toEqual([]);
      expect(await rpc({ action: 'block_info', hash: opened.hash, json_block: true })).toMatchObject({ amount: '300', subtype: 'receive' });
    });

    it('answers "Block not found" for an unknown hash', async () => {
      expect(await rpc({ action: 'block_info', hash: 'CD'.repeat(32), json_block: true })).toEqual({ error: 'Block not found' });
    });
  });

  describe('confirmation', () => {
    it('given held confirmations, then account_balance and receivable count confirmed blocks only, unless asked for all, until confirmAll', async () => {
      const frontier = await openOperator(1000n);
      node.holdConfirmations();
      const paid = await send(operator, frontier, 1000n, 300n, player);
      expect(await publish(paid.block, 'send')).toEqual({ hash: paid.hash });
      const donation = await node.fund(operator.address, 50n);

      // The frontier and its balance, confirmed or not; the confirmed ones beside them on request.
      expect(await rpc({ action: 'account_info', account: operator.address, receivable: true, include_confirmed: true })).toMatchObject({
        frontier: paid.hash,
        balance: '700',
        confirmation_height: '1',
        confirmation_height_frontier: frontier,
        confirmed_balance: '1000',
        confirmed_height: '1',
        confirmed_frontier: frontier,
        receivable: '50',
        confirmed_receivable: '0',
      });
      expect(await rpc({ action: 'account_balance', account: operator.address })).toEqual({ balance: '1000', pending: '0', receivable: '0' });
      expect(await rpc({ action: 'account_balance', account: operator.address, include_only_confirmed: 'false' })).toEqual({
        balance: '700',
        pending: '50',
        receivable: '50',
      });
      expect(await rpc({ action: 'account_balance', account: player.address })).toEqual({ balance: '0', pending: '0', receivable: '0' });
      expect(await rpc({ action: 'receivable', account: operator.address, count: '10', source: true })).toEqual({ blocks: '' });
      expect(await rpc({ action: 'receivable', account: operator.address, count: '10', include_only_confirmed: false })).toEqual({ blocks: [donation] });
      expect(await rpc({ action: 'block_info', hash: paid.hash })).toMatchObject({ confirmed: 'false' });
      expect(await rpc({ action: 'block_info', hash: frontier })).toMatchObject({ confirmed: 'true' });
      const history = (await rpc({ action: 'account_history', account: operator.address, count: '10' })).history as Json[];
      expect(history.map((entry) => entry.confirmed)).toEqual(['false', 'true']);

      node.confirmAll();
      expect(await rpc({ action: 'account_balance', account: operator.address })).toEqual({ balance: '700', pending: '50', receivable: '50' });
      expect(await rpc({ action: 'account_info', account: operator.address })).toMatchObject({ confirmation_height: '2', confirmation_height_frontier: paid.hash });
      expect(await rpc({ action: 'block_info', hash: paid.hash })).toMatchObject({ confirmed: 'true' });
      // Blocks applied after confirmAll confirm at once again.
      const next = await send(operator, paid.hash, 700n, 100n, player);
      expect(await publish(next.block, 'send')).toEqual({ hash: next.hash });
      expect(await rpc({ action: 'account_balance', account: operator.address })).toMatchObject({ balance: '600' });
    });
  });

  describe('process: rejections leave the ledger unchanged', () => {
    let frontier: string;
    let blocksBefore: number;

    beforeEach(async () => {
      frontier = await openOperator(1000n);
      blocksBefore = node.blocks().length;
    });

    function expectUnchanged(): void {
      expect(node.blocks()).toHaveLength(blocksBefore);
      expect(node.balanceOf(operator.address)).toBe(1000n);
    }

    it('refuses a bad signature', async () => {
      const { block } = await send(operator, frontier, 1000n, 10n, player);
      const forged = await send(stranger, frontier, 1000n, 10n, player);
      expect(await publish({ ...block, signature: forged.block.signature }, 'send')).toEqual({ error: 'Bad signature' });
      expectUnchanged();
    });

    it('refuses work that is not the work of the block\'s root', async () => {
      const { block } = await send(operator, frontier, 1000n, 10n, player);
      expect(await publish({ ...block, work: '0123456789abcdef' }, 'send')).toEqual({ error: 'Block work is insufficient' });
      // An opening block's root is the account's public key, not its previous of zeros.
      const sendHash = await node.fund(stranger.address, 5n);
      const opening = await receive(stranger, OPEN_PREVIOUS, 0n, 5n, sendHash);
      expect(await publish({ ...opening.block, work: OPEN_PREVIOUS.slice(0, 16) }, 'open')).toEqual({ error: 'Block work is insufficient' });
      expect(await publish(opening.block, 'open')).toEqual({ hash: opening.hash });
    });

    it('refuses a fork: a second block on an older previous', async () => {
      const first = await send(operator, frontier, 1000n, 10n, player);
      expect(await publish(first.block, 'send')).toEqual({ hash: first.hash });
      const second = await send(operator, frontier, 1000n, 20n, stranger);

      expect(await publish(second.block, 'send')).toEqual({ error: 'Fork' });
      expect(await publish(second.block)).toEqual({ error: 'Fork' });
      expect(node.balanceOf(operator.address)).toBe(990n);
      expect(node.receivableOf(stranger.address)).toEqual([]);
    });

    it('refuses to open an account twice (a fork)', async () => {
      const fundHash = await node.fund(operator.address, 5n);
      const reopen = await receive(operator, OPEN_PREVIOUS, 0n, 5n, fundHash);
      expect(await publish(reopen.block)).toEqual({ error: 'Fork' });
    });

    it('refuses a gap: a previous the ledger does not know', async () => {
      const { block } = await send(operator, 'EE'.repeat(32), 1000n, 10n, player);
      expect(await publish(block, 'send')).toEqual({ error: 'Gap previous block' });
      expect(await publish(block)).toEqual({ error: 'Gap previous block' });
      expectUnchanged();
    });

    it('never accepts the same block twice', async () => {
      const { block, hash } = await send(operator, frontier, 1000n, 10n, player);
      expect(await publish(block, 'send')).toEqual({ hash });
      const after = node.blocks().length;

      // Like the node, the subtype pre-check refuses a re-published send before the ledger does
      // (nano-node issue #3162); without a subtype the ledger answers "Old block".
      expect(await publish(block, 'send')).toEqual({ error: 'Invalid block balance for given subtype' });
      expect(await publish(block)).toEqual({ error: 'Old block' });
      expect(node.blocks()).toHaveLength(after);
      expect(node.balanceOf(operator.address)).toBe(990n);
    });

    it('answers "Old block" for a re-published receive', async () => {
      const fundHash = await node.fund(operator.address, 5n);
      const { block, hash } = await receive(operator, frontier, 1000n, 5n, fundHash);
      expect(await publish(block, 'receive')).toEqual({ hash });
      expect(await publish(block, 'receive')).toEqual({ error: 'Old block' });
      expect(node.balanceOf(operator.address)).toBe(1005n);
    });

    it('refuses an overdraft: a send stating a balance the account does not have', async () => {
      const { block } = await send(operator, frontier, 5000n, 2000n, player);
      expect(await publish(block, 'send')).toEqual({ error: 'Invalid block balance for given subtype' });
      // Without the subtype the higher balance reads as a receive whose source does not exist.
      expect(await publish(block)).toEqual({ error: 'Gap source block' });
      expectUnchanged();
    });

    it('refuses a receive of a send that is not receivable by this account', async () => {
      const toStranger = await node.fund(stranger.address, 7n);
      blocksBefore = node.blocks().length;
      const { block } = await receive(operator, frontier, 1000n, 7n, toStranger);
      expect(await publish(block, 'receive')).toEqual({ error: 'Unreceivable' });
      expectUnchanged();
      expect(node.receivableOf(stranger.address)).toHaveLength(1);
    });

    it('refuses to receive the same send twice', async () => {
      const fundHash = await node.fund(operator.address, 7n);
      const first = await receive(operator, frontier, 1000n, 7n, fundHash);
      expect(await publish(first.block, 'receive')).toEqual({ hash: first.hash });
      const again = await receive(operator, first.hash, 1007n, 7n, fundHash);
      expect(await publish(again.block, 'receive')).toEqual({ error: 'Unreceivable' });
      expect(node.balanceOf(operator.address)).toBe(1007n);
    });

    it('refuses a receive of another amount than was sent', async () => {
      const fundHash = await node.fund(operator.address, 7n);
      const { block } = await receive(operator, frontier, 1000n, 8n, fundHash);
      expect(await publish(block, 'receive')).toEqual({ error: 'Balance and amount delta do not match' });
      expect(node.balanceOf(operator.address)).toBe(1000n);
    });

    it('refuses a receive of a send the ledger has never seen', async () => {
      const { block } = await receive(operator, frontier, 1000n, 7n, 'AA'.repeat(32));
      expect(await publish(block, 'receive')).toEqual({ error: 'Gap source block' });
      expectUnchanged();
    });

    it('refuses a malformed block and a subtype the node does not know', async () => {
      const { block } = await send(operator, frontier, 1000n, 10n, player);
      expect(await publish({ ...block, balance: '-5' }, 'send')).toEqual({ error: 'Block is invalid' });
      expect(await publish(block, 'withdraw')).toEqual({ error: 'Invalid block subtype' });
      expectUnchanged();
    });
  });

  describe('receivable and account_history', () => {
    it('lists receivable sends above a threshold and at most count of them', async () => {
      const small = await node.fund(player.address, 5n);
      const large = await node.fund(player.address, 500n);

      expect(await rpc({ action: 'receivable', account: player.address, count: '10', threshold: '100', source: true })).toEqual({
        blocks: { [large]: { amount: '500', source: node.genesisAddress } },
      });
      expect(await rpc({ action: 'receivable', account: player.address, count: '1', source: true })).toEqual({
        blocks: { [small]: { amount: '5', source: node.genesisAddress } },
      });
    });

    it('lists the chain newest first in raw form, with a previous to page from', async () => {
      const open = await openOperator(1000n);
      const first = await send(operator, open, 1000n, 100n, player);
      await publish(first.block, 'send');
      const second = await send(operator, first.hash, 900n, 50n, stranger);
      await publish(second.block, 'send');

      const page = await rpc({ action: 'account_history', account: operator.address, count: '2', raw: true });
      expect(page).toMatchObject({
        account: operator.address,
        history: [
          { type: 'state', subtype: 'send', hash: second.hash, account: stranger.address, amount: '50', balance: '850', height: '3' },
          { type: 'state', subtype: 'send', hash: first.hash, account: player.address, amount: '100', balance: '900', height: '2' },
        ],
        previous: open,
      });
      const rest = await rpc({ action: 'account_history', account: operator.address, count: '2', raw: true, head: open });
      expect(rest).toMatchObject({
        history: [{ subtype: 'receive', hash: open, account: node.genesisAddress, amount: '1000', previous: OPEN_PREVIOUS }],
      });
      expect(rest.previous).toBeUndefined();
      expect(await rpc({ action: 'account_history', account: player.address, count: '5', raw: true })).toEqual({
        account: player.address,
        history: '',
      });
    });
  });

  describe('fault modes', () => {
    it('accept_then_timeout applies the block and never answers', async () => {
      const frontier = await openOperator(1000n);
      const { block, hash } = await send(operator, frontier, 1000n, 10n, player);
      node.failNext('process', 'accept_then_timeout');

      await expect(rpc({ action: 'process', json_block: true, subtype: 'send', block }, 300)).rejects.toThrow(/timeout/);
      expect(node.blocks().at(-1)?.hash).toBe(hash);
      expect(node.balanceOf(operator.address)).toBe(990n);
    });

    it('accept_then_drop applies the block, then destroys the socket', async () => {
      const frontier = await openOperator(1000n);
      const { block, hash } = await send(operator, frontier, 1000n, 10n, player);
      node.failNext('process', 'accept_then_drop');

      await expect(publish(block, 'send')).rejects.toThrow('fetch failed');
      expect(node.blocks().at(-1)?.hash).toBe(hash);
      expect(await publish(block)).toEqual({ error: 'Old block' });
    });

    it('reject answers the error without applying anything', async () => {
      const frontier = await openOperator(1000n);
      const { block } = await send(operator, frontier, 1000n, 10n, player);
      node.failNext('process', 'reject', { error: 'Block work is insufficient' });

      expect(await publish(block, 'send')).toEqual({ error: 'Block work is insufficient' });
      expect(node.balanceOf(operator.address)).toBe(1000n);
    });

    it('slow answers only after the delay', async () => {
      node.failNext('account_balance', 'slow', { delayMs: 300 });
      const startedAt = Date.now();
      expect(await rpc({ action: 'account_balance', account: player.address })).toMatchObject({ balance: '0' });
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(290);
    });

    it('down refuses every call until up, on the same URL', async () => {
      node.failNext('*', 'down');
      await expect(rpc({ action: 'account_balance', account: player.address })).rejects.toThrow('fetch failed');
      const refused = await fetch(node.url, { method: 'POST', body: '{}', signal: AbortSignal.timeout(5000) }).catch((error: unknown) => error);
      // fetch's TypeError comes from Node's realm, not jest's, so it is recognised by name.
      expect((refused as Error).name).toBe('TypeError');
      expect(((refused as Error).cause as { code?: string }).code).toBe('ECONNREFUSED');

      await node.up();
      expect(await rpc({ action: 'account_balance', account: player.address })).toMatchObject({ balance: '0' });
      await node.down();
      await expect(rpc({ action: 'block_info', hash: 'AA'.repeat(32) })).rejects.toThrow('fetch failed');
      await node.up();
    });

    it('answer sends any status and body, and count repeats a fault', async () => {
      node.failNext('account_info', 'answer', { status: 500, rawBody: 'Internal Server Error', count: 2 });
      for (let attempt = 0; attempt < 2; attempt += 1) {
        const response = await fetch(node.url, { method: 'POST', body: JSON.stringify({ action: 'account_info', account: player.address }) });
        expect(response.status).toBe(500);
        expect(await response.text()).toBe('Internal Server Error');
      }
      expect(await rpc({ action: 'account_info', account: player.address })).toEqual({ error: 'Account not found' });
      expect(node.requests().map((request) => request.action)).toEqual(['account_info', 'account_info', 'account_info']);
    });

    it('close() ends a held request instead of waiting for it', async () => {
      node.failNext('account_info', 'accept_then_timeout');
      const held = fetch(node.url, { method: 'POST', body: JSON.stringify({ action: 'account_info', account: player.address }) }).catch(
        (error: unknown) => error,
      );
      while (node.requests().length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      const startedAt = Date.now();
      await node.close();
      expect(Date.now() - startedAt).toBeLessThan(1000);
      expect((await held) as Error).toMatchObject({ name: 'TypeError', message: 'fetch failed' });
      // afterEach closes again; a second close must be harmless.
    });
  });
});
