import { strict as assert } from 'node:assert';
import { BodyTooLargeError, readBodyBounded } from '../../platform/http/read-body-bounded';
import { setTimeout as sleep } from 'node:timers/promises';
import { isValidBananoAddress } from '../../platform/banano/banano-address';
import { hashOf, type StateBlock } from './state-block';

/**
 * Our own client for the Banano node RPC, which is the Nano node RPC protocol
 * (https://docs.nano.org/commands/rpc-protocol/): one JSON object POSTed per call with an `action`
 * field, answered with HTTP 200 and either the result or `{"error": "<text>"}`.
 *
 * bananojs has RPC helpers too, but they keep the node URL in module-global state, have no timeout
 * and use the deprecated `accounts_pending` action (SPEC §4.4), so the service talks to the node
 * through this client and uses bananojs only for keys, hashes and signatures.
 *
 * Every call has a timeout and a bound on the answer's size. Read-only calls are retried a bounded
 * number of times when the node is unavailable or slow; `process` never is, because publishing the
 * same block again is only safe after asking `block_info` whether the first one arrived (§4.4.4),
 * and that decision belongs to the caller.
 */
export interface BananoRpcConfig {
  url: string;
  /** Sent verbatim as `Authorization` (public RPC providers ask for a key); null or absent sends none. */
  authHeader?: string | null;
  /** Covers one whole exchange: connecting, sending, the status line and reading the body. */
  timeoutMs: number;
  /** How many times a read-only call is tried again after a timeout or an unavailable node. */
  retriesMax: number;
  /** The pause before the first retry, doubled before each later one (capped at 2 s). Default 100 ms. */
  retryDelayMs?: number;
  /** Told of every call once it ends (the metrics watch the node through it); null or absent: nobody. */
  observe?: ((call: BananoRpcCall) => void) | null;
}

export type BananoRpcAction =
  | 'account_info'
  | 'account_balance'
  | 'work_generate'
  | 'process'
  | 'block_info'
  | 'receivable'
  | 'account_history';

export type ProcessSubtype = 'send' | 'receive' | 'open' | 'change';

/** Why the node could not be used; `code` stays `node_unavailable` for all of them. */
export type BananoNodeUnavailableReason =
  /** Nothing listened (ECONNREFUSED) or the host was not found: the request never reached a node. */
  | 'connection_refused'
  /** The connection broke after the request may have been sent. */
  | 'connection_dropped'
  /** Another network failure; for `process` it is treated like a dropped connection. */
  | 'network'
  | 'server_error'
  | 'unexpected_status'
  | 'malformed'
  /** The node's answers are behind blocks the ledger knows are on the chain (a lagging node): see frontier-checks. */
  | 'behind';

/**
 * The base of every error this client throws. `ambiguous` is true when the call was `process` and
 * the node may have accepted the block although we got no answer saying so.
 */
export abstract class BananoNodeError extends Error {
  abstract readonly code: 'node_unavailable' | 'node_timeout' | 'node_rejected';

  constructor(
    readonly action: BananoRpcAction,
    readonly ambiguous: boolean,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Network error, refused or dropped connection, a 4xx/5xx status, or a body we cannot read. */
export class BananoNodeUnavailableError extends BananoNodeError {
  readonly code = 'node_unavailable';

  constructor(
    action: BananoRpcAction,
    readonly reason: BananoNodeUnavailableReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    // Only a request that provably never reached the node, or a proxy's 4xx refusal, is known not to
    // have published the block; anything else might have, so it is ambiguous (§4.4.4).
    super(action, action === 'process' && reason !== 'connection_refused' && reason !== 'unexpected_status', message, options);
  }
}

/** No complete answer within `timeoutMs`. For `process` the block may have been accepted. */
export class BananoNodeTimeoutError extends BananoNodeError {
  readonly code = 'node_timeout';

  constructor(
    action: BananoRpcAction,
    readonly timeoutMs: number,
    options?: { cause?: unknown },
  ) {
    super(action, action === 'process', `The Banano node did not answer ${action} within ${timeoutMs} ms.`, options);
  }
}

/**
 * The node answered with `{"error": ...}`: a definite refusal, such as "Fork", "Gap previous block",
 * "Old block" (already in the ledger), "Balance and amount delta do not match", "Bad signature" or
 * "Block work is insufficient". `nodeError` is the node's text, unchanged.
 */
export class BananoNodeRejectedError extends BananoNodeError {
  readonly code = 'node_rejected';

  constructor(
    action: BananoRpcAction,
    readonly nodeError: string,
  ) {
    super(action, false, `The Banano node rejected ${action}: ${nodeError}`);
  }
}

/**
 * True when a `process` call failed in a way that leaves open whether the node accepted the block
 * (a timeout, a dropped connection, a 5xx or an unreadable answer). The caller must then ask
 * `block_info` before doing anything else, and may only publish the same signed block again.
 */
export function isAmbiguous(error: unknown): boolean {
  return error instanceof BananoNodeError && error.ambiguous;
}

/** One call of the client as its caller saw it: ended after any retries, with an answer or an error. */
export interface BananoRpcCall {
  readonly action: BananoRpcAction;
  /** From the call to its answer or error, retries and their pauses included. */
  readonly durationSeconds: number;
  /** Null when the node answered (an answer meaning "not found" included); the error thrown otherwise. */
  readonly error: BananoNodeError | null;
}

export interface AccountInfo {
  frontier: string;
  balanceRaw: bigint;
  representative: string;
  blockCount: bigint;
}

export interface BlockInfo {
  hash: string;
  /** The account whose chain holds the block (`block_account`). */
  account: string;
  /** What the block moved: sent for a send, received for a receive, 0 for a change. */
  amountRaw: bigint;
  /** The account balance after the block. */
  balanceRaw: bigint;
  height: bigint;
  confirmed: boolean;
  /** The node's subtype of a state block: send, receive (also for the opening receive), change or epoch. */
  subtype: string | null;
  /** The block itself; null when it is not a state block (legacy blocks predate state blocks). */
  contents: StateBlock | null;
}

export interface ReceivableBlock {
  hash: string;
  amountRaw: bigint;
  /** The account that sent it. */
  source: string;
}

export interface HistoryEntry {
  hash: string;
  /** The state block's subtype: send, receive (an opening receive too), change or epoch. */
  type: string;
  /** The other side: the destination of a send, the sender of a receive; null for a change. */
  account: string | null;
  amountRaw: bigint;
  balanceRaw: bigint;
  height: bigint;
  /** The block before this one in the chain: pass it as `head` to read the next page. */
  previous: string;
  link: string;
  representative: string;
  localTimestamp: bigint;
  /** Null when the node does not say (older nodes leave `confirmed` out of the history). */
  confirmed: boolean | null;
  /**
   * The block's signature and work, which a raw entry carries: with the account asked about and the
   * fields above they make up the whole state block, as `process` took it.
   */
  signature: string;
  work: string;
}

/**
 * A full `account_history` page of `countMaxLimit` raw entries is about a megabyte; nothing we ask
 * for needs more. Reading without a bound would let a broken node or proxy exhaust our memory.
 */
const responseBodyMaxBytes = 2 * 1024 * 1024;
const countMaxLimit = 1000;
const retryDelayCapMs = 2000;
const retryDelayDefaultMs = 100;

const hex64 = /^[0-9A-Fa-f]{64}$/;
const hex16 = /^[0-9A-Fa-f]{16}$/;
const hex128 = /^[0-9A-Fa-f]{128}$/;
const rawPattern = /^\d{1,39}$/;
const RAW_MAX = 2n ** 128n - 1n;

type Json = Record<string, unknown>;

/** The node answered with `{"error": text}`; each method decides which texts mean "nothing there". */
class NodeErrorAnswer {
  constructor(readonly text: string) {}
}

/** A field of the answer was missing or not what the protocol says; becomes a `malformed` error. */
class MalformedAnswerError extends Error {}

export class BananoRpcClient {
  private readonly retryDelayMs: number;

  constructor(private readonly config: BananoRpcConfig) {
    assert(Number.isSafeInteger(config.timeoutMs) && config.timeoutMs > 0, 'timeoutMs must be a positive integer');
    assert(Number.isSafeInteger(config.retriesMax) && config.retriesMax >= 0 && config.retriesMax <= 10, 'retriesMax must be 0 to 10');
    const url = new URL(config.url);
    assert(url.protocol === 'http:' || url.protocol === 'https:', 'url must be an http(s) URL');
    this.retryDelayMs = config.retryDelayMs ?? retryDelayDefaultMs;
    assert(Number.isSafeInteger(this.retryDelayMs) && this.retryDelayMs >= 0, 'retryDelayMs must be a non-negative integer');
  }

  /** The account's frontier, balance, representative and block count; null when it is not opened yet. */
  async accountInfo(account: string): Promise<AccountInfo | null> {
    return this.observed('account_info', async () => {
      assertAddress(account);
      const answer = await this.read('account_info', { account, representative: true });
      if (answer instanceof NodeErrorAnswer) {
        if (answer.text === 'Account not found') return null;
        throw new BananoNodeRejectedError('account_info', answer.text);
      }
      return this.decode('account_info', () => ({
        frontier: hashField(answer, 'frontier'),
        balanceRaw: rawField(answer, 'balance'),
        representative: addressField(answer, 'representative'),
        blockCount: countField(answer, 'block_count'),
      }));
    });
  }

  /** The balance (from the frontier) and the sum of sends not yet received; both 0 for an unopened account. */
  async accountBalance(account: string): Promise<{ balanceRaw: bigint; receivableRaw: bigint }> {
    return this.observed('account_balance', async () => {
      assertAddress(account);
      const answer = await this.read('account_balance', { account });
      if (answer instanceof NodeErrorAnswer) throw new BananoNodeRejectedError('account_balance', answer.text);
      return this.decode('account_balance', () => ({
        balanceRaw: rawField(answer, 'balance'),
        // Nodes before V24 call it `pending` only; later ones send both names.
        receivableRaw: answer.receivable !== undefined ? rawField(answer, 'receivable') : rawField(answer, 'pending'),
      }));
    });
  }

  /**
   * Proof of work for `hash`: the previous block's hash, or the account's public key for the block
   * that opens it. Answers the 16 hex characters of work, in lower case.
   */
  async workGenerate(hash: string): Promise<string> {
    return this.observed('work_generate', async () => {
      assertHash(hash);
      const answer = await this.read('work_generate', { hash: hash.toUpperCase() });
      if (answer instanceof NodeErrorAnswer) throw new BananoNodeRejectedError('work_generate', answer.text);
      return this.decode('work_generate', () => {
        const work = answer.work;
        if (typeof work !== 'string' || !hex16.test(work)) throw new MalformedAnswerError('work is not 16 hex characters');
        return work.toLowerCase();
      });
    });
  }

  /**
   * Publishes a signed block with its work. Tried exactly once: on an ambiguous failure (see
   * {@link isAmbiguous}) the caller must ask `blockInfo` before publishing the same block again.
   */
  async process(block: StateBlock, subtype: ProcessSubtype): Promise<{ hash: string }> {
    return this.observed('process', async () => {
      const expectedHash = hashOf(block);
      const answer = await this.exchange('process', { json_block: true, subtype, block });
      if (answer instanceof NodeErrorAnswer) throw new BananoNodeRejectedError('process', answer.text);
      return this.decode('process', () => {
        const hash = hashField(answer, 'hash');
        // The node hashes the block it stored; another hash means it did not store the block we signed.
        if (hash !== expectedHash) throw new MalformedAnswerError(`hash ${hash} is not the block's hash ${expectedHash}`);
        return { hash };
      });
    });
  }

  /** The block, where it sits and whether it is confirmed; null when the node does not know it. */
  async blockInfo(hash: string): Promise<BlockInfo | null> {
    return this.observed('block_info', async () => {
      assertHash(hash);
      const normalized = hash.toUpperCase();
      const answer = await this.read('block_info', { hash: normalized, json_block: true });
      if (answer instanceof NodeErrorAnswer) {
        if (answer.text === 'Block not found') return null;
        throw new BananoNodeRejectedError('block_info', answer.text);
      }
      return this.decode('block_info', () => {
        const info: BlockInfo = {
          hash: normalized,
          account: addressField(answer, 'block_account'),
          amountRaw: rawField(answer, 'amount'),
          balanceRaw: rawField(answer, 'balance'),
          height: countField(answer, 'height'),
          confirmed: booleanField(answer, 'confirmed'),
          subtype: typeof answer.subtype === 'string' ? answer.subtype : null,
          contents: stateBlockOf(answer.contents),
        };
        // The answer names no hash, so a state block's contents are the only proof that it is about
        // the block asked for. An answer about another block (a proxy's cache gone wrong) would
        // otherwise put a block the node does not hold on the chain: a payout recorded sent, unpaid.
        const { contents } = info;
        if (contents !== null) {
          const contentsHash = hashOf(contents);
          if (contentsHash !== normalized) throw new MalformedAnswerError(`contents of block ${contentsHash}, not of ${normalized}`);
          if (contents.account !== info.account) throw new MalformedAnswerError('a block_account that is not the account of its contents');
          if (BigInt(contents.balance) !== info.balanceRaw) throw new MalformedAnswerError('a balance that is not the balance of its contents');
        }
        return info;
      });
    });
  }

  /** Up to `countMax` sends to `account` that it has not received yet, with amount and sender. */
  async receivable(account: string, countMax: number): Promise<ReceivableBlock[]> {
    return this.observed('receivable', async () => {
      assertAddress(account);
      assertCount(countMax);
      const answer = await this.read('receivable', { account, count: String(countMax), source: true });
      if (answer instanceof NodeErrorAnswer) {
        if (answer.text === 'Account not found') return [];
        throw new BananoNodeRejectedError('receivable', answer.text);
      }
      return this.decode('receivable', () => {
        const blocks = answer.blocks;
        // The node serialises an empty list as "" (boost property tree), not as {}.
        if (blocks === '' || blocks === undefined) return [];
        if (!isRecord(blocks)) throw new MalformedAnswerError('blocks is not an object');
        const entries = Object.entries(blocks);
        if (entries.length > countMax) throw new MalformedAnswerError(`${entries.length} blocks where at most ${countMax} were asked for`);
        return entries.map(([hash, entry]) => {
          if (!hex64.test(hash)) throw new MalformedAnswerError('a receivable key is not a block hash');
          if (!isRecord(entry)) throw new MalformedAnswerError('a receivable entry has no amount and source');
          return { hash: hash.toUpperCase(), amountRaw: rawField(entry, 'amount'), source: addressField(entry, 'source') };
        });
      });
    });
  }

  /**
   * Up to `countMax` blocks of the account's chain, newest first, starting at `head` (default: the
   * frontier). The raw form is asked for, so every entry carries its block fields and subtype.
   */
  async accountHistory(account: string, countMax: number, head?: string): Promise<HistoryEntry[]> {
    return this.observed('account_history', async () => {
      assertAddress(account);
      assertCount(countMax);
      const params: Json = { account, count: String(countMax), raw: true };
      if (head !== undefined) {
        assertHash(head);
        params.head = head.toUpperCase();
      }
      const answer = await this.read('account_history', params);
      if (answer instanceof NodeErrorAnswer) {
        if (answer.text === 'Account not found') return [];
        throw new BananoNodeRejectedError('account_history', answer.text);
      }
      return this.decode('account_history', () => {
        const history = answer.history;
        if (history === '' || history === undefined) return [];
        if (!Array.isArray(history)) throw new MalformedAnswerError('history is not a list');
        if (history.length > countMax) throw new MalformedAnswerError(`${history.length} entries where at most ${countMax} were asked for`);
        return history.map((entry: unknown): HistoryEntry => {
          if (!isRecord(entry)) throw new MalformedAnswerError('a history entry is not an object');
          const type = typeof entry.subtype === 'string' ? entry.subtype : entry.type;
          if (typeof type !== 'string') throw new MalformedAnswerError('a history entry has no type');
          const { signature, work } = entry;
          if (typeof signature !== 'string' || !hex128.test(signature)) throw new MalformedAnswerError('a history entry has no signature');
          if (typeof work !== 'string' || !hex16.test(work)) throw new MalformedAnswerError('a history entry has no work');
          return {
            hash: hashField(entry, 'hash'),
            type,
            account: entry.account === undefined ? null : addressField(entry, 'account'),
            // A change moves nothing, and the node leaves the amount out.
            amountRaw: entry.amount === undefined ? 0n : rawField(entry, 'amount'),
            balanceRaw: rawField(entry, 'balance'),
            height: countField(entry, 'height'),
            previous: hashField(entry, 'previous'),
            link: hashField(entry, 'link'),
            representative: addressField(entry, 'representative'),
            localTimestamp: countField(entry, 'local_timestamp'),
            confirmed: entry.confirmed === undefined ? null : booleanField(entry, 'confirmed'),
            signature: signature.toUpperCase(),
            work: work.toLowerCase(),
          };
        });
      });
    });
  }

  /**
   * Runs one public call and tells `observe` how it ended. An error that is not the node's (a
   * failed assertion on our own arguments) is a programmer error, not a node call, and is not told.
   */
  private async observed<T>(action: BananoRpcAction, call: () => Promise<T>): Promise<T> {
    const observe = this.config.observe;
    if (observe === undefined || observe === null) return call();
    const startedAt = performance.now();
    const durationSeconds = (): number => (performance.now() - startedAt) / 1000;
    let result: T;
    try {
      result = await call();
    } catch (error) {
      if (error instanceof BananoNodeError) observe({ action, durationSeconds: durationSeconds(), error });
      throw error;
    }
    observe({ action, durationSeconds: durationSeconds(), error: null });
    return result;
  }

  /** A read-only call: tried up to `retriesMax` more times while the node is unavailable or slow. */
  private async read(action: Exclude<BananoRpcAction, 'process'>, params: Json): Promise<Json | NodeErrorAnswer> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await this.exchange(action, params);
      } catch (error) {
        const retriable = error instanceof BananoNodeUnavailableError || error instanceof BananoNodeTimeoutError;
        if (!retriable || attempt >= this.config.retriesMax) throw error;
        await sleep(Math.min(this.retryDelayMs * 2 ** attempt, retryDelayCapMs));
      }
    }
  }

  /** Decodes a 200 answer, turning a missing or ill-typed field into a `malformed` unavailability. */
  private decode<T>(action: BananoRpcAction, decoder: () => T): T {
    try {
      return decoder();
    } catch (error) {
      if (error instanceof MalformedAnswerError) {
        throw new BananoNodeUnavailableError(action, 'malformed', `The Banano node answered ${action} with ${error.message}.`);
      }
      throw error;
    }
  }

  /** One POST, bounded in time and size; answers the JSON object or the node's error text. */
  private async exchange(action: BananoRpcAction, params: Json): Promise<Json | NodeErrorAnswer> {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (this.config.authHeader !== undefined && this.config.authHeader !== null) headers.authorization = this.config.authHeader;
    const body = JSON.stringify({ action, ...params });

    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.config.timeoutMs);
    let status: number;
    let text: string | null;
    try {
      const response = await fetch(this.config.url, { method: 'POST', headers, body, signal: controller.signal, redirect: 'error' });
      status = response.status;
      if (status >= 200 && status < 300) {
        text = await readBodyBounded(response, responseBodyMaxBytes);
      } else {
        // Error pages carry nothing we act on; cancelling frees the connection at once.
        await response.body?.cancel().catch(() => undefined);
        text = null;
      }
    } catch (error) {
      if (controller.signal.aborted) throw new BananoNodeTimeoutError(action, this.config.timeoutMs, { cause: error });
      if (error instanceof BodyTooLargeError) throw new BananoNodeUnavailableError(action, 'malformed', error.message);
      const reason = networkReason(error);
      throw new BananoNodeUnavailableError(action, reason, `The Banano node could not be reached for ${action} (${reason}).`, {
        cause: error,
      });
    } finally {
      clearTimeout(timer);
    }

    if (text === null) {
      throw new BananoNodeUnavailableError(
        action,
        status >= 500 ? 'server_error' : 'unexpected_status',
        `The Banano node answered ${action} with HTTP ${status}.`,
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new BananoNodeUnavailableError(action, 'malformed', `The Banano node answered ${action} with a body that is not JSON.`);
    }
    if (!isRecord(parsed)) throw new BananoNodeUnavailableError(action, 'malformed', `The Banano node answered ${action} with no JSON object.`);
    if (parsed.error !== undefined) {
      if (typeof parsed.error !== 'string') {
        throw new BananoNodeUnavailableError(action, 'malformed', `The Banano node answered ${action} with a non-text error.`);
      }
      return new NodeErrorAnswer(parsed.error);
    }
    return parsed;
  }
}

/**
 * Sorts a fetch failure by what it says about the request. Only a refused connection or a failed
 * name lookup proves the request never left; everything else may have reached the node.
 */
function networkReason(error: unknown): BananoNodeUnavailableReason {
  const codes = new Set<string>();
  collectCodes(error, codes, 0);
  const refused = ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN'];
  if ([...codes].some((code) => refused.includes(code)) && !codes.has('UND_ERR_SOCKET') && !codes.has('ECONNRESET')) {
    return 'connection_refused';
  }
  if (codes.has('UND_ERR_SOCKET') || codes.has('ECONNRESET') || codes.has('EPIPE') || codes.has('UND_ERR_CLOSED')) {
    return 'connection_dropped';
  }
  return 'network';
}

/** Walks `cause` chains and AggregateError members (Node's fetch nests the socket error), bounded in depth. */
function collectCodes(error: unknown, codes: Set<string>, depth: number): void {
  if (depth > 5 || typeof error !== 'object' || error === null) return;
  const { code, cause, errors } = error as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof code === 'string') codes.add(code);
  collectCodes(cause, codes, depth + 1);
  if (Array.isArray(errors)) for (const member of errors) collectCodes(member, codes, depth + 1);
}

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Raw amounts travel as decimal strings of at most 128 bits; a JSON number would have lost digits. */
function rawField(record: Json, name: string): bigint {
  const value = record[name];
  if (typeof value !== 'string' || !rawPattern.test(value)) throw new MalformedAnswerError(`${name} that is not a decimal string of raw`);
  const raw = BigInt(value);
  if (raw > RAW_MAX) throw new MalformedAnswerError(`${name} beyond 128 bits`);
  return raw;
}

function countField(record: Json, name: string): bigint {
  const value = record[name];
  if (typeof value !== 'string' || !/^\d{1,20}$/.test(value)) throw new MalformedAnswerError(`${name} that is not a decimal string`);
  return BigInt(value);
}

function hashField(record: Json, name: string): string {
  const value = record[name];
  if (typeof value !== 'string' || !hex64.test(value)) throw new MalformedAnswerError(`${name} that is not a 64-hex-character hash`);
  return value.toUpperCase();
}

function addressField(record: Json, name: string): string {
  const value = record[name];
  if (typeof value !== 'string' || !isValidBananoAddress(value)) throw new MalformedAnswerError(`${name} that is not a ban_ address`);
  return value;
}

/** Nodes built on property trees write booleans as "true"/"false"; newer ones as JSON booleans. */
function booleanField(record: Json, name: string): boolean {
  const value = record[name];
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new MalformedAnswerError(`${name} that is not a boolean`);
}

function stateBlockOf(contents: unknown): StateBlock | null {
  if (!isRecord(contents)) throw new MalformedAnswerError('contents that is not a JSON block');
  if (contents.type !== 'state') return null;
  const text = (name: string, pattern: RegExp): string => {
    const value = contents[name];
    if (typeof value !== 'string' || !pattern.test(value)) throw new MalformedAnswerError(`contents.${name} that is malformed`);
    return value;
  };
  return {
    type: 'state',
    account: addressField(contents, 'account'),
    previous: text('previous', hex64).toUpperCase(),
    representative: addressField(contents, 'representative'),
    balance: rawField(contents, 'balance').toString(),
    link: text('link', hex64).toUpperCase(),
    signature: text('signature', hex128).toUpperCase(),
    work: text('work', hex16).toLowerCase(),
  };
}

function assertAddress(account: string): void {
  assert(isValidBananoAddress(account), `not a valid ban_ address: ${account}`);
}

function assertHash(hash: string): void {
  assert(hex64.test(hash), 'a block hash is 64 hexadecimal characters');
}

function assertCount(countMax: number): void {
  assert(Number.isSafeInteger(countMax) && countMax >= 1 && countMax <= countMaxLimit, `countMax must be 1 to ${countMaxLimit}`);
}
