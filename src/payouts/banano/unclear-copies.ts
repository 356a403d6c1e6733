import { type DatabasePool, sql } from 'slonik';
import { z } from 'zod';
import { type BananoRpcClient } from './banano-rpc.client';
import { OPEN_PREVIOUS, type StateBlock } from './state-block';

/**
 * How long a copy of a block, published without a clear answer, may still reach the node's ledger,
 * by default (BANANO_LANDING_WINDOW_SECONDS). A node processes a block it received within seconds;
 * minutes cover a loaded one.
 */
export const LANDING_WINDOW_MS = 5 * 60_000;

/**
 * The copies of operator blocks whose fate is not known (SPEC §4.4.4), in `operator_block_doubts`
 * (migrations/0022). A refusal of one copy of a block says nothing of another copy the node may not
 * have processed yet (an answer that timed out, then "Internal server error in RPC" for the next
 * copy). Failing the block then would let another block be signed on the same previous while the
 * first copy lands: a payout paid twice, or a donation recorded and never pocketed. So a refused
 * block with a copy in doubt stays in flight while it may still land.
 *
 * Each copy is in doubt from just before it is published until its answer is known, so a process
 * killed during the call leaves it in doubt for the next one. The record is in PostgreSQL, not in
 * memory, because a copy in doubt may be another process's, or another writer's of this process
 * (the executor resumes a receive the ingester published), and its times are the database's
 * clock, one for every process. Every caller holds the operator account's lock, so the writes of
 * one block never interleave.
 */
export class UnclearCopies {
  constructor(
    private readonly pool: DatabasePool,
    /**
     * This process's window (banano.landingWindowMs). Each copy keeps the window it was published
     * under, and a copy stays in doubt while that or this one lasts: another process, with another
     * environment, may have published it.
     */
    private readonly landingWindowMs: number = LANDING_WINDOW_MS,
  ) {}

  /**
   * A copy is about to be published: in doubt until its answer is known. Answers the time of the
   * copy in doubt before it (null: none), which `answeredClearly` restores.
   */
  async publishing(blockHash: string): Promise<Date | null> {
    // One statement: the CTE reads the row as it was before the upsert (one snapshot for both).
    return this.pool.oneFirst(sql.type(z.object({ prior: z.date().nullable() }))`
      WITH prior AS (SELECT doubt_at FROM operator_block_doubts WHERE block_hash = ${blockHash.toUpperCase()})
      INSERT INTO operator_block_doubts (block_hash, doubt_at, landing_window_ms) VALUES (${blockHash.toUpperCase()}, clock_timestamp(), ${this.landingWindowMs})
      ON CONFLICT (block_hash) DO UPDATE
        SET doubt_at = EXCLUDED.doubt_at, landing_window_ms = GREATEST(operator_block_doubts.landing_window_ms, EXCLUDED.landing_window_ms)
      RETURNING (SELECT doubt_at FROM prior) AS prior`);
  }

  /**
   * The exchange of the copy just published ended without an answer (a timeout, a dropped
   * connection): the copy may have reached the node as late as now, so its landing window starts
   * now, not when it was published. Otherwise a window shorter than the client's timeout would be
   * over before the exchange ends, and a refusal of the next copy would fail a block still landing.
   */
  async unanswered(blockHash: string): Promise<void> {
    await this.pool.query(sql.unsafe`
      UPDATE operator_block_doubts SET doubt_at = clock_timestamp(), landing_window_ms = GREATEST(landing_window_ms, ${this.landingWindowMs})
       WHERE block_hash = ${blockHash.toUpperCase()}`);
  }

  /** The copy just published was answered clearly (refused, or never reached the node): the copies before it stay in doubt. */
  async answeredClearly(blockHash: string, prior: Date | null): Promise<void> {
    if (prior === null) {
      await this.settled(blockHash);
      return;
    }
    await this.pool.query(sql.unsafe`UPDATE operator_block_doubts SET doubt_at = ${prior.toISOString()}::timestamptz WHERE block_hash = ${blockHash.toUpperCase()}`);
  }

  /** The block landed, or can never land: no copy of it is in doubt any more. */
  async settled(blockHash: string): Promise<void> {
    await this.pool.query(sql.unsafe`DELETE FROM operator_block_doubts WHERE block_hash = ${blockHash.toUpperCase()}`);
  }

  /**
   * Whether a block the node has just refused (and `block_info` did not find) may still land from a
   * copy in doubt: there is one, from less than its own or this process's landing window ago
   * (whichever is longer; GREATEST skips the null of a row from before migration 0029), and the
   * block's previous is still its account's frontier. Once the frontier has moved past its previous the block can never
   * apply, unless the frontier is the block itself, landed between the two questions: then it is
   * in flight still, and the next run finds it on the chain. Once the window is over, a node that
   * still does not hold it has dropped every copy.
   */
  async mayStillLand(rpc: BananoRpcClient, blockHash: string, block: StateBlock): Promise<boolean> {
    const inWindow = await this.pool.maybeOneFirst(sql.type(z.object({ in_window: z.boolean() }))`
      SELECT doubt_at > clock_timestamp() - GREATEST(landing_window_ms, ${this.landingWindowMs}) * interval '1 millisecond' AS in_window
        FROM operator_block_doubts WHERE block_hash = ${blockHash.toUpperCase()}`);
    if (inWindow !== true) return false;
    const info = await rpc.accountInfo(block.account);
    if ((info?.frontier ?? OPEN_PREVIOUS).toUpperCase() === block.previous.toUpperCase()) return true;
    return (await rpc.blockInfo(blockHash)) !== null;
  }
}
