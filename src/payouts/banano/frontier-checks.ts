import { loadUser } from '../../identity/user/run-user-command';
import { type EventStore } from '../../platform/event-store/event-store.port';
import { type OperatorState, signedBlockHash } from '../operator/operator.events';
import { type AccountInfo, BananoNodeUnavailableError, type BananoRpcClient, type BlockInfo } from './banano-rpc.client';

/**
 * The newest block of the operator account that the ledger knows is on the chain, among the blocks
 * it signed last (OperatorState.recentBlocks), or null when that is not known.
 *
 * A payout block is on the chain when its payout recorded it sent, and dead when the payout went on
 * without it (a refused attempt, or sent with another block). A receive is known only when it is the
 * block signed last: its writer resolved it before anything else is signed (the node took it,
 * unless it is in `refusedReceives`, the ones the caller saw refused). The search stops at the first
 * block it cannot judge: an older receive, or an attempt still live.
 */
export async function newestLandedBlock(
  store: EventStore,
  operator: OperatorState,
  refusedReceives: ReadonlySet<string>,
): Promise<string | null> {
  const blocks = operator.recentBlocks;
  for (let index = blocks.length - 1; index >= 0; index -= 1) {
    const block = blocks[index];
    if (block.kind === 'receive') {
      if (refusedReceives.has(block.receiveHash)) continue;
      return index === blocks.length - 1 ? block.receiveHash : null;
    }
    const user = await loadUser(store, block.userId);
    const payout = user.status === 'registered' ? user.payouts.get(block.payoutId) : undefined;
    if (payout === undefined) return null;
    if (payout.sentBlockHash === block.blockHash) return block.blockHash;
    const attemptLive = payout.status === 'requested' && payout.attempts + 1 === block.attempt;
    if (attemptLive) return null;
  }
  return null;
}

/**
 * Throws when the node's frontier of the operator account is behind a block the ledger knows is on
 * the chain: a lagging node, or one of several nodes behind one URL that has not seen the account's
 * last blocks yet. A block signed on such a frontier forks the account's own chain. A node that
 * holds the newer block refuses it; a lagging one takes it, the ledger records it, and the network,
 * which confirmed the newer block long ago, drops it: a payout recorded sent that never pays, or a
 * donation recorded with a receive that never lands.
 *
 * `info` is what `account_info` answered (null: the node does not know the account), and `head`
 * the node's `block_info` of its frontier, which the caller asks for its balance check as well.
 * Costs nothing more while the node's frontier is the block signed last; otherwise one `block_info`
 * of the newest landed block, compared by height. Nothing is thrown when the answer cannot be
 * judged: the caller's own checks of the frontier come after.
 */
export async function assertFrontierNotBehind(
  rpc: BananoRpcClient,
  store: EventStore,
  operator: OperatorState,
  refusedReceives: ReadonlySet<string>,
  info: AccountInfo | null,
  head: BlockInfo | null,
): Promise<void> {
  const newest = operator.recentBlocks.at(-1);
  if (newest === undefined || info?.frontier === signedBlockHash(newest)) return;
  const landed = await newestLandedBlock(store, operator, refusedReceives);
  if (landed === null || info?.frontier === landed) return;
  const behind = (what: string) =>
    new BananoNodeUnavailableError('account_info', 'behind', `The Banano node is behind the operator account's chain: ${what}. Nothing was signed; the next run asks again.`);
  const known = await rpc.blockInfo(landed);
  if (known === null) throw behind(`it does not hold block ${landed}, which the ledger recorded on the chain`);
  if (info === null) throw behind(`it does not know the account, whose block ${landed} is on the chain at height ${known.height}`);
  if (head === null || head.account !== known.account) return;
  if (head.height <= known.height) {
    throw behind(`its frontier ${info.frontier} is at height ${head.height}, not after block ${landed} at height ${known.height}, which the ledger recorded on the chain`);
  }
}

/**
 * Throws unless `account_info`'s balance is the balance of the frontier it names, by the node's
 * `block_info` of that frontier (`head`). The node reads the amount of a block signed on it as the
 * difference between the block's balance and the frontier's, so a balance that is not the frontier's
 * (a confirmed balance beside an unconfirmed block, an answer a proxy pieced together) would send,
 * or claim to receive, another amount than the one meant. The frontier block's own balance is
 * immutable, so asking for it cannot race a frontier that moves on.
 */
export function assertBalanceIsFrontiers(address: string, info: AccountInfo, head: BlockInfo | null): void {
  if (head !== null && head.account === address && head.balanceRaw === info.balanceRaw) return;
  throw new BananoNodeUnavailableError(
    'account_info',
    'malformed',
    `The Banano node answered account_info with a balance of ${info.balanceRaw} raw at frontier ${info.frontier}, whose block says ${head === null ? 'nothing (not found)' : `${head.balanceRaw} raw of ${head.account}`}.`,
  );
}
