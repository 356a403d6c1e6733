import { type BananoRpcClient } from './banano-rpc.client';
import { OPEN_PREVIOUS, type StateBlock } from './state-block';

/**
 * How long a copy of a block, published without a clear answer, may still reach the node's ledger.
 * A node processes a block it received within seconds; minutes cover a loaded one.
 */
export const LANDING_WINDOW_MS = 5 * 60_000;

/**
 * The blocks of the operator account that this process published without a clear answer, and
 * when it last did (SPEC §4.4.4). A refusal of one copy of a block says nothing of another copy the
 * node may not have processed yet (an answer that timed out, then "Internal server error in RPC"
 * for the next copy). Failing the block then would let another block be signed on the same
 * previous while the first copy lands: a payout paid twice, or a donation recorded and never
 * pocketed. So a refused block with such a copy stays in flight while it may still land.
 *
 * Kept in memory: a block recorded by an earlier process, whose copies that process may have
 * published just before it died, counts as published without a clear answer when this process
 * first publishes it. The window then runs from there, which is never earlier than the truth.
 */
export class UnclearCopies {
  private readonly since = new Map<string, number>();

  constructor(private readonly now: () => Date = () => new Date()) {}

  /** A copy was published and the answer left open whether the node took it. */
  published(blockHash: string): void {
    this.since.set(blockHash, this.now().getTime());
  }

  /** This process publishes a block recorded before: an earlier process may have published it too. */
  resumed(blockHash: string): void {
    if (!this.since.has(blockHash)) this.published(blockHash);
  }

  /** The block landed, or can never land: nothing more to remember. */
  settled(blockHash: string): void {
    this.since.delete(blockHash);
  }

  /**
   * Whether a block the node has just refused may still land from a copy published before: there
   * is such a copy, from less than LANDING_WINDOW_MS ago, and the block's previous is still its
   * account's frontier. Once the frontier has moved past its previous the block can never apply;
   * once the window is over, a node that still does not hold it has dropped every copy.
   */
  async mayStillLand(rpc: BananoRpcClient, blockHash: string, block: StateBlock): Promise<boolean> {
    const since = this.since.get(blockHash);
    if (since === undefined || this.now().getTime() - since >= LANDING_WINDOW_MS) return false;
    const info = await rpc.accountInfo(block.account);
    return (info?.frontier ?? OPEN_PREVIOUS).toUpperCase() === block.previous.toUpperCase();
  }
}
