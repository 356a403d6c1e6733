import { type BananoRpcClient, type HistoryEntry } from './banano-rpc.client';
import { OPEN_PREVIOUS, type StateBlock } from './state-block';

/** The node's pages of `account_history` do not make one chain: a gap, a repeat, a block past the opening. */
export class InconsistentHistoryError extends Error {}

/** The chain has more blocks than the caller will read. */
export class ChainTooLongError extends Error {
  constructor(readonly blocksMax: number) {
    super(`the chain has more than ${blocksMax} blocks`);
  }
}

/**
 * An account's whole chain, newest block first, from `head` (default: the node's frontier) down to
 * the opening block, read page by page with `account_history` (raw). Each page must continue the
 * chain where the last one ended, so a block the node leaves out cannot go unnoticed; more than
 * `blocksMax` blocks stop the reading. An account that is not opened has an empty chain.
 */
export async function readAccountChain(
  rpc: BananoRpcClient,
  address: string,
  options: { readonly pageSize: number; readonly blocksMax: number; readonly head?: string },
): Promise<HistoryEntry[]> {
  const chain: HistoryEntry[] = [];
  /** The block the chain continues with: the head of the next page. */
  let next = options.head;
  for (;;) {
    const page = await rpc.accountHistory(address, options.pageSize, next);
    if (page.length === 0) {
      if (next !== undefined) throw new InconsistentHistoryError(`the history stops before block ${next}`);
      return chain;
    }
    for (const entry of page) {
      if (next !== undefined && entry.hash !== next) throw new InconsistentHistoryError(`block ${entry.hash} where ${next} was expected`);
      chain.push(entry);
      if (chain.length > options.blocksMax) throw new ChainTooLongError(options.blocksMax);
      if (entry.previous === OPEN_PREVIOUS) {
        if (entry !== page.at(-1)) throw new InconsistentHistoryError(`a block comes before the opening block ${entry.hash}`);
        return chain;
      }
      next = entry.previous;
    }
  }
}

/** The state block a raw history entry of `account` describes, as the node stored it. */
export function stateBlockOf(account: string, entry: HistoryEntry): StateBlock {
  return {
    type: 'state',
    account,
    previous: entry.previous,
    representative: entry.representative,
    balance: entry.balanceRaw.toString(),
    link: entry.link,
    signature: entry.signature,
    work: entry.work,
  };
}
