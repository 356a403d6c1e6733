import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import bananojsModule = require('@bananocoin/bananojs');

/*
 * A Banano node RPC stand-in that keeps a real block lattice: one chain per account, receivable
 * sends, balances and signatures checked with bananojs. It speaks the Nano node RPC protocol
 * (Banano's node is a fork of it), built from https://docs.nano.org/commands/rpc-protocol/ and the
 * node's own handler (nano-node nano/node/json_handler.cpp, nano/lib/errors.cpp):
 *
 *   POST /   {"action": "...", ...}   → 200 with the result, or 200 {"error": "<text>"}
 *
 *   account_info     {account, representative?, receivable?, include_confirmed?}
 *                                                          "Account not found" when not opened; the frontier
 *                                                          and its balance, confirmed or not
 *   account_balance  {account, include_only_confirmed?}    {balance, pending, receivable}; zeros when not opened
 *   block_info       {hash, json_block?}                   "Block not found"; confirmed "true" or "false"
 *   receivable       {account, count?, threshold?, source?, include_only_confirmed?}
 *                                                          blocks: {hash: amount} or {hash: {amount, source}}; "" when none
 *   account_history  {account, count?, head?, raw?}        newest first; `previous` when more remain; history "" when none
 *   work_generate    {hash}                                at once, a work value of the root (proof of work is never computed)
 *   process          {block, json_block?, subtype?}        {hash} or the node's error text (below)
 *   anything else → {"error": "Unknown command"}
 *
 * Confirmation: every block confirms the moment it is applied, unless `holdConfirmations` was
 * called; then the blocks applied since stay unconfirmed until `confirmAll`. As on the node (V22+),
 * `account_balance` and `receivable` count only confirmed blocks unless `include_only_confirmed`
 * is false: the balance is the one at the account's last confirmed block, and a receivable send
 * counts once the send is confirmed. `account_info` answers the frontier and its balance, confirmed
 * or not, with `confirmation_height`, and the `confirmed_*` fields when `include_confirmed` is true.
 *
 * `process` checks what the node checks, in the node's order:
 *   1. With a subtype, the node's pre-check: an unknown non-zero `previous` → "Gap previous block";
 *      a "send" that does not lower the account's current balance, or a "receive" that lowers it →
 *      "Invalid block balance for given subtype"; an "open" with a previous → "Invalid previous
 *      block for given subtype". This is also what a real node answers when a send is published
 *      twice with subtype "send" (nano-node issue #3162): the account's balance is no longer above
 *      the block's, so the pre-check refuses it before the ledger says "Old block".
 *   2. The work: the work `work_generate` answers for the block's root (its previous, or the
 *      account's public key for the block that opens it), in either case; anything else → "Block
 *      work is insufficient", as the node answers work below the threshold. Proof of work is never
 *      computed, so a block whose work was asked for another root is what this catches.
 *   3. The ledger: a block already in the ledger → "Old block"; a signature that is not the
 *      account's → "Bad signature"; a previous that is not the frontier → "Fork" (an account opened
 *      twice is a fork too); an unknown previous → "Gap previous block"; a receive whose send is
 *      unknown → "Gap source block", not receivable by this account (someone else's, or received
 *      already) → "Unreceivable", or of another amount → "Balance and amount delta do not match".
 *
 * Money enters through `fund`: a "genesis" account (its own key, a huge opening balance) signs a
 * real send to the address, which leaves a receivable send like any donation would. The address is
 * NOT opened by `fund`; `fundAndOpen` also signs and processes the opening receive with the
 * account's private key, for tests that need an operator with a balance.
 *
 * Faults (`failNext`) apply to the next calls of one action ("*" for any):
 *   accept_then_timeout  the call takes effect (a block IS applied) but no answer ever comes;
 *                        close() ends the held socket
 *   accept_then_drop     the call takes effect, then the socket is destroyed without an answer
 *   reject               answers {"error": options.error} without taking effect
 *   slow                 waits options.delayMs, then takes effect and answers
 *   down                 destroys that request's socket without effect and stops listening (connection
 *                        refused) for every call until up()
 *   answer               answers options.body (or options.rawBody verbatim) with options.status,
 *                        after taking effect only when options.apply is true
 */

/** The part of bananojs the double uses; see src/platform/banano/banano-address.ts for why it is declared here. */
interface BananoJsLedger {
  getBlockHash(block: HashableBlock): string;
  getSignature(privateKey: string, block: HashableBlock): Promise<string>;
  verify(hash: string, signature: string, publicKey: string): boolean;
  getPrivateKey(seed: string, index: number): string;
  getPublicKey(privateKey: string): Promise<string>;
  getBananoAccount(publicKey: string): string;
  getAccountPublicKey(account: string): string;
  getBananoAccountValidationInfo(account: string): { valid: boolean; message: string };
}

const bananojs = bananojsModule as unknown as BananoJsLedger;

export interface DoubleStateBlock {
  type: 'state';
  account: string;
  previous: string;
  representative: string;
  balance: string;
  link: string;
  signature: string;
  work: string;
}

export type DoubleBlockSubtype = 'open' | 'send' | 'receive' | 'change';

export interface DoubleLedgerBlock {
  hash: string;
  block: DoubleStateBlock;
  /** The ledger's view of the block; the opening receive is `open` here (block_info says "receive"). */
  subtype: DoubleBlockSubtype;
}

export type BananoNodeFaultMode = 'accept_then_timeout' | 'accept_then_drop' | 'reject' | 'slow' | 'down' | 'answer';

export interface BananoNodeFaultOptions {
  /** `reject`: the error text. Default "Internal server error in RPC". */
  error?: string;
  /** `slow`: how long before the call takes effect and is answered. Default 1000 ms. */
  delayMs?: number;
  /** `answer`: the HTTP status. Default 200. */
  status?: number;
  /** `answer`: the JSON body. */
  body?: unknown;
  /** `answer`: a body sent verbatim instead of `body` (for cut-off or non-JSON answers). */
  rawBody?: string;
  /** `answer`: take effect (apply the block) before answering. Default false. */
  apply?: boolean;
  /** How many consecutive calls fail this way. Default 1. */
  count?: number;
}

export interface BananoNodeDoubleRequest {
  action: string;
  body: Record<string, unknown>;
  /** The `Authorization` header as it arrived, or null. */
  authorization: string | null;
  at: number;
}

export interface BananoNodeDouble {
  /** The RPC endpoint, `http://127.0.0.1:<port>/`. */
  readonly url: string;
  /** The account whose sends `fund` signs. Its opening block holds the whole supply. */
  readonly genesisAddress: string;
  /**
   * Signs and applies a send of `amountRaw` from the genesis account to `address`, which then has a
   * receivable block of that amount (the address is not opened). Answers the send's hash.
   */
  fund(address: string, amountRaw: bigint): Promise<string>;
  /**
   * `fund`, then the receive of it signed with `privateKey` (opening the account when needed), so the
   * account holds `amountRaw` more. Answers the receive's hash.
   */
  fundAndOpen(privateKey: string, amountRaw: bigint, representative?: string): Promise<string>;
  /** Every block in the ledger in the order it was accepted, starting with the genesis opening block. */
  blocks(): DoubleLedgerBlock[];
  /** The account's chain, oldest block first; empty when not opened. */
  accountChain(address: string): DoubleLedgerBlock[];
  /** The balance at the account's frontier; 0 when not opened. */
  balanceOf(address: string): bigint;
  /** Blocks applied from now on stay unconfirmed until `confirmAll` (see Confirmation above). */
  holdConfirmations(): void;
  /** Confirms every block, and blocks applied from now on confirm at once again. */
  confirmAll(): void;
  /** The sends to `address` it has not received yet, oldest first. */
  receivableOf(address: string): Array<{ hash: string; amountRaw: bigint; source: string }>;
  /** The next `options.count` (default 1) calls of `action` ("*": any action) fail as `mode` says. */
  failNext(action: string, mode: BananoNodeFaultMode, options?: BananoNodeFaultOptions): void;
  /** Stops listening, so every call is refused, until `up()`. Open connections are destroyed. */
  down(): Promise<void>;
  /** Listens again on the same port after `down` (or a `down` fault). */
  up(): Promise<void>;
  /** Every request that reached the double, oldest first, whether or not it succeeded. */
  requests(): BananoNodeDoubleRequest[];
  close(): Promise<void>;
}

interface Fault {
  action: string;
  mode: BananoNodeFaultMode;
  options: BananoNodeFaultOptions;
}

interface StoredBlock extends DoubleLedgerBlock {
  height: number;
  confirmed: boolean;
  amountRaw: bigint;
  localTimestamp: number;
  successor: string | null;
}

interface Account {
  chain: string[];
  balanceRaw: bigint;
  representative: string;
  representativeBlock: string;
  modifiedTimestamp: number;
}

interface Receivable {
  amountRaw: bigint;
  source: string;
}

interface HashableBlock {
  type: 'state';
  account: string;
  previous: string;
  representative: string;
  balance: string;
  link: string;
}

type Answer = Record<string, unknown>;

/** Enough for any block or page the ledger asks for; the real node also bounds request bodies. */
const requestBytesMax = 1_048_576;
const zeroHash = '0'.repeat(64);
const raw128Max = 2n ** 128n - 1n;
/** Banano's real supply is about 3.4 × 10^38 raw; the genesis opening holds a round number close to it. */
const genesisSupplyRaw = 3n * 10n ** 38n;
/** A fixed seed, so the genesis address is the same in every run; it guards no money. */
const genesisSeed = 'B'.repeat(64);
const countDefault = 2n ** 64n - 1n;
const hex64 = /^[0-9A-Fa-f]{64}$/;
const hex128 = /^[0-9A-Fa-f]{128}$/;
const hex16 = /^[0-9A-Fa-f]{16}$/;
const decimal = /^\d{1,39}$/;

class ProcessRejection extends Error {}

/** `port` 0 (the default) picks a free one; `npm run devnode` asks for a fixed one. */
export async function startBananoNodeDouble(options: { readonly port?: number } = {}): Promise<BananoNodeDouble> {
  const blocksByHash = new Map<string, StoredBlock>();
  const order: string[] = [];
  const accounts = new Map<string, Account>();
  /** destination → (send hash → receivable); Maps keep insertion order, so oldest first. */
  const receivables = new Map<string, Map<string, Receivable>>();
  const faults: Fault[] = [];
  const recorded: BananoNodeDoubleRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let listening = false;
  let closed = false;
  let holdingConfirmations = false;

  const genesisPrivateKey = bananojs.getPrivateKey(genesisSeed, 0);
  const genesisAddress = bananojs.getBananoAccount(await bananojs.getPublicKey(genesisPrivateKey));
  await openGenesis();

  const server = createServer((request, response) => {
    void handle(request, response).catch(() => {
      if (!response.headersSent && !response.destroyed) sendJson(response, 500, { error: 'Internal server error in RPC' });
      else response.destroy();
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (request.method !== 'POST') {
      await drain(request);
      sendJson(response, 405, { error: 'Only POST is supported' });
      return;
    }
    const raw = await readBody(request);
    if (raw === null) {
      sendJson(response, 413, { error: 'Request too large' });
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      sendJson(response, 200, { error: 'Unable to parse JSON' });
      return;
    }
    if (!isRecord(body) || typeof body.action !== 'string') {
      sendJson(response, 200, { error: 'Unknown command' });
      return;
    }
    const action = body.action;
    const authorization = request.headers.authorization ?? null;
    recorded.push({ action, body, authorization, at: Date.now() });

    const faultIndex = faults.findIndex((fault) => fault.action === action || fault.action === '*');
    const fault = faultIndex === -1 ? undefined : faults.splice(faultIndex, 1)[0];
    if (fault === undefined) {
      sendJson(response, 200, await execute(action, body));
      return;
    }
    switch (fault.mode) {
      case 'accept_then_timeout':
        await execute(action, body);
        // Never answered: the client's timeout ends the exchange, or close() destroys the socket.
        return;
      case 'accept_then_drop':
        await execute(action, body);
        response.socket?.destroy();
        return;
      case 'reject':
        sendJson(response, 200, { error: fault.options.error ?? 'Internal server error in RPC' });
        return;
      case 'slow': {
        const timer = setTimeout(() => {
          timers.delete(timer);
          void execute(action, body).then((answer) => {
            if (!response.destroyed) sendJson(response, 200, answer);
          });
        }, fault.options.delayMs ?? 1000);
        timers.add(timer);
        return;
      }
      case 'down':
        response.socket?.destroy();
        await stopListening();
        return;
      case 'answer': {
        if (fault.options.apply === true) await execute(action, body);
        const text = fault.options.rawBody ?? JSON.stringify(fault.options.body ?? {});
        response.writeHead(fault.options.status ?? 200, { 'content-type': 'application/json' }).end(text);
        return;
      }
      default: {
        const unknownMode: never = fault.mode;
        throw new Error(`unknown fault mode ${String(unknownMode)}`);
      }
    }
  }

  async function execute(action: string, body: Record<string, unknown>): Promise<Answer> {
    switch (action) {
      case 'account_info':
        return accountInfo(body);
      case 'account_balance':
        return accountBalance(body);
      case 'block_info':
        return blockInfo(body);
      case 'receivable':
        return receivable(body);
      case 'account_history':
        return accountHistory(body);
      case 'work_generate':
        return workGenerate(body);
      case 'process':
        return processBlock(body);
      default:
        return { error: 'Unknown command' };
    }
  }

  function accountInfo(body: Record<string, unknown>): Answer {
    const address = accountParam(body.account);
    if (address === null) return { error: 'Bad account number' };
    const account = accounts.get(address);
    if (account === undefined) return { error: 'Account not found' };
    const frontier = account.chain[account.chain.length - 1] ?? zeroHash;
    const answer: Answer = {
      frontier,
      open_block: account.chain[0],
      representative_block: account.representativeBlock,
      balance: account.balanceRaw.toString(),
      modified_timestamp: String(account.modifiedTimestamp),
      block_count: String(account.chain.length),
      account_version: '2',
      confirmation_height: String(confirmedHeight(account)),
      confirmation_height_frontier: confirmedFrontier(account),
    };
    if (isTrue(body.representative)) answer.representative = account.representative;
    const withReceivable = isTrue(body.receivable) || isTrue(body.pending);
    if (withReceivable) {
      const sum = receivableSum(address, false).toString();
      answer.receivable = sum;
      answer.pending = sum;
    }
    if (isTrue(body.include_confirmed)) {
      answer.confirmed_balance = confirmedBalance(account).toString();
      answer.confirmed_height = String(confirmedHeight(account));
      answer.confirmed_frontier = confirmedFrontier(account);
      if (withReceivable) {
        const sum = receivableSum(address, true).toString();
        answer.confirmed_receivable = sum;
        answer.confirmed_pending = sum;
      }
    }
    return answer;
  }

  function accountBalance(body: Record<string, unknown>): Answer {
    const address = accountParam(body.account);
    if (address === null) return { error: 'Bad account number' };
    const onlyConfirmed = !isFalse(body.include_only_confirmed);
    const account = accounts.get(address);
    const balanceRaw = account === undefined ? 0n : onlyConfirmed ? confirmedBalance(account) : account.balanceRaw;
    const receivableRaw = receivableSum(address, onlyConfirmed).toString();
    return { balance: balanceRaw.toString(), pending: receivableRaw, receivable: receivableRaw };
  }

  function blockInfo(body: Record<string, unknown>): Answer {
    if (typeof body.hash !== 'string' || !hex64.test(body.hash)) return { error: 'Bad hash number' };
    const stored = blocksByHash.get(body.hash.toUpperCase());
    if (stored === undefined) return { error: 'Block not found' };
    return {
      block_account: stored.block.account,
      amount: stored.amountRaw.toString(),
      balance: stored.block.balance,
      height: String(stored.height),
      local_timestamp: String(stored.localTimestamp),
      successor: stored.successor ?? zeroHash,
      confirmed: String(stored.confirmed),
      contents: isTrue(body.json_block) ? { ...stored.block, link_as_account: linkAsAccount(stored.block.link) } : JSON.stringify(stored.block),
      // The node's state_subtype has no "open": an opening receive is a receive.
      subtype: stored.subtype === 'open' ? 'receive' : stored.subtype,
    };
  }

  function receivable(body: Record<string, unknown>): Answer {
    const address = accountParam(body.account);
    if (address === null) return { error: 'Bad account number' };
    const count = countParam(body.count);
    if (count === null) return { error: 'Invalid count limit' };
    let threshold = 0n;
    if (body.threshold !== undefined) {
      if (typeof body.threshold !== 'string' || !decimal.test(body.threshold)) return { error: 'Bad threshold number' };
      threshold = BigInt(body.threshold);
    }
    const source = isTrue(body.source);
    const onlyConfirmed = !isFalse(body.include_only_confirmed);
    const simple = threshold === 0n && !source;
    const list: string[] = [];
    const map: Record<string, unknown> = {};
    let size = 0n;
    for (const [hash, entry] of receivables.get(address) ?? []) {
      if (size >= count) break;
      if (onlyConfirmed && !isConfirmed(hash)) continue;
      if (simple) list.push(hash);
      else if (entry.amountRaw >= threshold) map[hash] = source ? { amount: entry.amountRaw.toString(), source: entry.source } : entry.amountRaw.toString();
      else continue;
      size += 1n;
    }
    // The node's property tree writes an empty list as "".
    if (size === 0n) return { blocks: '' };
    return { blocks: simple ? list : map };
  }

  function accountHistory(body: Record<string, unknown>): Answer {
    const address = accountParam(body.account);
    if (address === null) return { error: 'Bad account number' };
    const count = countParam(body.count);
    if (count === null) return { error: 'Invalid count limit' };
    const raw = isTrue(body.raw);
    const chain = accounts.get(address)?.chain ?? [];
    let start = chain.length - 1;
    if (body.head !== undefined) {
      if (typeof body.head !== 'string' || !hex64.test(body.head)) return { error: 'Bad hash number' };
      start = chain.indexOf(body.head.toUpperCase());
      if (start === -1) return { error: 'Block not found' };
    }
    const history: Answer[] = [];
    let index = start;
    for (; index >= 0 && BigInt(history.length) < count; index -= 1) {
      const stored = blocksByHash.get(chain[index] ?? '');
      if (stored === undefined) break;
      const entry = historyEntry(stored, raw);
      if (entry !== null) history.push(entry);
    }
    const answer: Answer = { account: address, history: history.length === 0 ? '' : history };
    if (index >= 0 && history.length > 0) answer.previous = chain[index];
    return answer;
  }

  function historyEntry(stored: StoredBlock, raw: boolean): Answer | null {
    const entry: Answer = {};
    const kind = stored.subtype === 'open' ? 'receive' : stored.subtype;
    if (raw) {
      entry.type = 'state';
      entry.representative = stored.block.representative;
      entry.link = stored.block.link;
      entry.balance = stored.block.balance;
      entry.previous = stored.block.previous;
      entry.subtype = kind;
    } else if (kind === 'change') {
      // The simplified history leaves changes out; a raw one lists them.
      return null;
    } else {
      entry.type = kind;
    }
    if (kind === 'send') entry.account = linkAsAccount(stored.block.link);
    if (kind === 'receive') entry.account = blocksByHash.get(stored.block.link)?.block.account;
    if (kind !== 'change') entry.amount = stored.amountRaw.toString();
    entry.local_timestamp = String(stored.localTimestamp);
    entry.height = String(stored.height);
    entry.hash = stored.hash;
    entry.confirmed = String(stored.confirmed);
    if (raw) {
      entry.work = stored.block.work;
      entry.signature = stored.block.signature;
    }
    return entry;
  }

  function workGenerate(body: Record<string, unknown>): Answer {
    if (typeof body.hash !== 'string' || !hex64.test(body.hash)) return { error: 'Bad block hash' };
    return { work: workOf(body.hash), difficulty: 'fffffff800000000', multiplier: '1.0', hash: body.hash.toUpperCase() };
  }

  function processBlock(body: Record<string, unknown>): Answer {
    const block = blockParam(body.block);
    if (block === null) return { error: 'Block is invalid' };
    let hash: string;
    try {
      hash = bananojs.getBlockHash(hashable(block)).toUpperCase();
    } catch {
      return { error: 'Block is invalid' };
    }
    const subtype = body.subtype;
    if (subtype !== undefined && subtype !== '') {
      const refusal = subtypePreCheck(block, String(subtype));
      if (refusal !== null) return { error: refusal };
    }
    if (block.work !== workOf(rootOf(block))) return { error: 'Block work is insufficient' };
    try {
      apply(hash, block);
    } catch (error) {
      if (error instanceof ProcessRejection) return { error: error.message };
      throw error;
    }
    return { hash };
  }

  /** The node's RPC-level check of the declared subtype, made before the ledger sees the block. */
  function subtypePreCheck(block: DoubleStateBlock, subtype: string): string | null {
    if (block.previous !== zeroHash && !blocksByHash.has(block.previous)) return 'Gap previous block';
    const currentRaw = accounts.get(block.account)?.balanceRaw ?? 0n;
    const blockRaw = BigInt(block.balance);
    switch (subtype) {
      case 'send':
        return currentRaw <= blockRaw ? 'Invalid block balance for given subtype' : null;
      case 'receive':
        return currentRaw > blockRaw ? 'Invalid block balance for given subtype' : null;
      case 'open':
        return block.previous !== zeroHash ? 'Invalid previous block for given subtype' : null;
      case 'change':
        if (currentRaw !== blockRaw) return 'Invalid block balance for given subtype';
        return block.previous === zeroHash ? 'Invalid previous block for given subtype' : null;
      default:
        return 'Invalid block subtype';
    }
  }

  /** The ledger's rules for a state block, in the node's order; throws a ProcessRejection with its text. */
  function apply(hash: string, block: DoubleStateBlock): void {
    if (blocksByHash.has(hash)) throw new ProcessRejection('Old block');
    if (!signatureValid(hash, block)) throw new ProcessRejection('Bad signature');
    const account = accounts.get(block.account);
    const balanceRaw = BigInt(block.balance);
    let isSend = false;
    let amountRaw: bigint;
    if (account !== undefined) {
      if (block.previous === zeroHash) throw new ProcessRejection('Fork');
      if (!blocksByHash.has(block.previous)) throw new ProcessRejection('Gap previous block');
      isSend = balanceRaw < account.balanceRaw;
      amountRaw = isSend ? account.balanceRaw - balanceRaw : balanceRaw - account.balanceRaw;
      const frontier = account.chain[account.chain.length - 1];
      if (block.previous !== frontier) throw new ProcessRejection('Fork');
    } else {
      if (block.previous !== zeroHash) throw new ProcessRejection('Gap previous block');
      if (block.link === zeroHash) throw new ProcessRejection('Gap source block');
      amountRaw = balanceRaw;
    }
    let subtype: DoubleBlockSubtype;
    if (isSend) {
      subtype = 'send';
    } else if (block.link !== zeroHash) {
      const source = blocksByHash.get(block.link);
      if (source === undefined) throw new ProcessRejection('Gap source block');
      const entry = receivables.get(block.account)?.get(block.link);
      if (entry === undefined) throw new ProcessRejection('Unreceivable');
      if (entry.amountRaw !== amountRaw) throw new ProcessRejection('Balance and amount delta do not match');
      subtype = account === undefined ? 'open' : 'receive';
    } else {
      if (amountRaw !== 0n) throw new ProcessRejection('Balance and amount delta do not match');
      subtype = 'change';
    }
    store(hash, block, subtype, amountRaw);
  }

  function store(hash: string, block: DoubleStateBlock, subtype: DoubleBlockSubtype, amountRaw: bigint): void {
    const now = Math.floor(Date.now() / 1000);
    let account = accounts.get(block.account);
    if (account === undefined) {
      account = { chain: [], balanceRaw: 0n, representative: block.representative, representativeBlock: hash, modifiedTimestamp: now };
      accounts.set(block.account, account);
    }
    const previous = blocksByHash.get(block.previous);
    if (previous !== undefined) previous.successor = hash;
    if (account.representative !== block.representative || account.chain.length === 0) account.representativeBlock = hash;
    account.chain.push(hash);
    account.balanceRaw = BigInt(block.balance);
    account.representative = block.representative;
    account.modifiedTimestamp = now;
    blocksByHash.set(hash, { hash, block, subtype, amountRaw, height: account.chain.length, confirmed: !holdingConfirmations, localTimestamp: now, successor: null });
    order.push(hash);
    if (subtype === 'send') {
      const destination = linkAsAccount(block.link);
      let pending = receivables.get(destination);
      if (pending === undefined) {
        pending = new Map();
        receivables.set(destination, pending);
      }
      pending.set(hash, { amountRaw, source: block.account });
    } else if (subtype === 'receive' || subtype === 'open') {
      receivables.get(block.account)?.delete(block.link);
    }
  }

  async function openGenesis(): Promise<void> {
    // The genesis opening receives from nothing, so it is stored directly rather than processed.
    const unsigned: HashableBlock = {
      type: 'state',
      account: genesisAddress,
      previous: zeroHash,
      representative: genesisAddress,
      balance: genesisSupplyRaw.toString(),
      link: zeroHash,
    };
    const hash = bananojs.getBlockHash(unsigned).toUpperCase();
    const signature = (await bananojs.getSignature(genesisPrivateKey, unsigned)).toUpperCase();
    store(hash, { ...unsigned, signature, work: '0000000000000000' }, 'open', genesisSupplyRaw);
  }

  async function signAndApply(privateKey: string, unsigned: HashableBlock): Promise<string> {
    const hash = bananojs.getBlockHash(unsigned).toUpperCase();
    const signature = (await bananojs.getSignature(privateKey, unsigned)).toUpperCase();
    apply(hash, { ...unsigned, signature, work: workOf(rootOf(unsigned)) });
    return hash;
  }

  async function fund(address: string, amountRaw: bigint): Promise<string> {
    if (!isAddress(address)) throw new Error(`fund: not a ban_ address: ${address}`);
    if (amountRaw <= 0n) throw new Error('fund: the amount must be positive');
    const genesis = accounts.get(genesisAddress);
    if (genesis === undefined || genesis.balanceRaw < amountRaw) throw new Error('fund: the genesis account cannot cover that');
    return signAndApply(genesisPrivateKey, {
      type: 'state',
      account: genesisAddress,
      previous: genesis.chain[genesis.chain.length - 1] ?? zeroHash,
      representative: genesis.representative,
      balance: (genesis.balanceRaw - amountRaw).toString(),
      link: bananojs.getAccountPublicKey(address).toUpperCase(),
    });
  }

  function receivableSum(address: string, onlyConfirmed: boolean): bigint {
    let sum = 0n;
    for (const [hash, entry] of receivables.get(address) ?? []) if (!onlyConfirmed || isConfirmed(hash)) sum += entry.amountRaw;
    return sum;
  }

  function isConfirmed(hash: string): boolean {
    return blocksByHash.get(hash)?.confirmed === true;
  }

  /** Blocks confirm in chain order (a held block and everything after it wait for `confirmAll`). */
  function confirmedHeight(account: Account): number {
    const unconfirmed = account.chain.findIndex((hash) => !isConfirmed(hash));
    return unconfirmed === -1 ? account.chain.length : unconfirmed;
  }

  function confirmedFrontier(account: Account): string {
    const height = confirmedHeight(account);
    return height === 0 ? zeroHash : (account.chain[height - 1] as string);
  }

  function confirmedBalance(account: Account): bigint {
    const height = confirmedHeight(account);
    return height === 0 ? 0n : BigInt((blocksByHash.get(account.chain[height - 1] as string) as StoredBlock).block.balance);
  }

  function publicView(stored: StoredBlock): DoubleLedgerBlock {
    return { hash: stored.hash, block: { ...stored.block }, subtype: stored.subtype };
  }

  function listen(port: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        listening = true;
        resolve();
      });
    });
  }

  async function stopListening(): Promise<void> {
    if (!listening) return;
    listening = false;
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    // Keep-alive sockets would otherwise go on serving calls while the node is meant to be down.
    server.closeAllConnections();
    await stopped;
  }

  await listen(options.port ?? 0);
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/`,
    genesisAddress,
    fund,
    async fundAndOpen(privateKey, amountRaw, representative) {
      const address = bananojs.getBananoAccount(await bananojs.getPublicKey(privateKey));
      const sendHash = await fund(address, amountRaw);
      const account = accounts.get(address);
      return signAndApply(privateKey, {
        type: 'state',
        account: address,
        previous: account?.chain[account.chain.length - 1] ?? zeroHash,
        representative: representative ?? account?.representative ?? genesisAddress,
        balance: ((account?.balanceRaw ?? 0n) + amountRaw).toString(),
        link: sendHash,
      });
    },
    blocks() {
      return order.map((hash) => publicView(blocksByHash.get(hash) as StoredBlock));
    },
    accountChain(address) {
      return (accounts.get(address)?.chain ?? []).map((hash) => publicView(blocksByHash.get(hash) as StoredBlock));
    },
    balanceOf(address) {
      return accounts.get(address)?.balanceRaw ?? 0n;
    },
    holdConfirmations() {
      holdingConfirmations = true;
    },
    confirmAll() {
      holdingConfirmations = false;
      for (const stored of blocksByHash.values()) stored.confirmed = true;
    },
    receivableOf(address) {
      return [...(receivables.get(address) ?? [])].map(([hash, entry]) => ({ hash, amountRaw: entry.amountRaw, source: entry.source }));
    },
    failNext(action, mode, options = {}) {
      for (let index = 0; index < (options.count ?? 1); index += 1) faults.push({ action, mode, options });
    },
    async down() {
      await stopListening();
    },
    async up() {
      if (closed) throw new Error('up: the double is closed');
      if (!listening) await listen(port);
    },
    requests() {
      return recorded.map((entry) => ({ ...entry }));
    },
    async close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      // Held `accept_then_timeout` requests and keep-alive sockets would otherwise keep close() waiting.
      await stopListening();
    },
  };
}

function hashable(block: DoubleStateBlock): HashableBlock {
  const { type, account, previous, representative, balance, link } = block;
  return { type, account, previous, representative, balance, link };
}

/** The hash a block's work is computed on: its previous, or for the block that opens an account, the account's public key. */
function rootOf(block: HashableBlock): string {
  return block.previous === zeroHash ? bananojs.getAccountPublicKey(block.account).toUpperCase() : block.previous.toUpperCase();
}

/**
 * The double's work for a root: derived from it, so work asked for another root is told apart. It
 * is not valid proof of work, which the double never computes.
 */
function workOf(root: string): string {
  return root.slice(0, 16).toLowerCase();
}

function signatureValid(hash: string, block: DoubleStateBlock): boolean {
  try {
    return bananojs.verify(hash, block.signature, bananojs.getAccountPublicKey(block.account)) === true;
  } catch {
    return false;
  }
}

/** Parses `block` as the node does: a JSON object (json_block) or a JSON string of one. */
function blockParam(value: unknown): DoubleStateBlock | null {
  let candidate = value;
  if (typeof candidate === 'string') {
    try {
      candidate = JSON.parse(candidate);
    } catch {
      return null;
    }
  }
  if (!isRecord(candidate) || candidate.type !== 'state') return null;
  const { account, previous, representative, balance, link, signature, work } = candidate;
  if (typeof account !== 'string' || !isAddress(account)) return null;
  if (typeof representative !== 'string' || !isAddress(representative)) return null;
  if (typeof previous !== 'string' || !hex64.test(previous)) return null;
  if (typeof link !== 'string' || !hex64.test(link)) return null;
  if (typeof balance !== 'string' || !decimal.test(balance) || BigInt(balance) > raw128Max) return null;
  if (typeof signature !== 'string' || !hex128.test(signature)) return null;
  if (typeof work !== 'string' || !hex16.test(work)) return null;
  return {
    type: 'state',
    account,
    previous: previous.toUpperCase(),
    representative,
    balance: BigInt(balance).toString(),
    link: link.toUpperCase(),
    signature: signature.toUpperCase(),
    work: work.toLowerCase(),
  };
}

function accountParam(value: unknown): string | null {
  return typeof value === 'string' && isAddress(value) ? value : null;
}

/** `count` is a decimal string in the docs; the node's property tree reads a JSON number the same way. */
function countParam(value: unknown): bigint | null {
  if (value === undefined) return countDefault;
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !/^\d{1,20}$/.test(text)) return null;
  return BigInt(text);
}

function isAddress(value: string): boolean {
  return /^ban_[13][13456789abcdefghijkmnopqrstuwxyz]{59}$/.test(value) && bananojs.getBananoAccountValidationInfo(value).valid;
}

function linkAsAccount(link: string): string {
  return bananojs.getBananoAccount(link);
}

/** The node reads booleans from a property tree, where "true" and true are the same text. */
function isTrue(value: unknown): boolean {
  return value === true || value === 'true';
}

function isFalse(value: unknown): boolean {
  return value === false || value === 'false';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function readBody(request: IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  let totalBytes = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    totalBytes += buffer.byteLength;
    if (totalBytes > requestBytesMax) return null;
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function drain(request: IncomingMessage): Promise<void> {
  for await (const chunk of request) void chunk;
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
