import { messageOf } from '../../platform/errors/message-of';
import { BananoNodeError, BananoNodeRejectedError, type BananoRpcClient, isAmbiguous, type ProcessSubtype } from './banano-rpc.client';
import { type StateBlock } from './state-block';
import { type UnclearCopies } from './unclear-copies';

/**
 * What became of a signed operator block: `already_landed` (on the chain before this call, from an
 * earlier run's copy); `landed` (the node has it after this call); `{ refused }` (definitely refused,
 * provably absent, and no copy published without a clear answer may still land: the block is dead,
 * and `refused` is the node's text); `unresolved` (the node did not say: the block may still land,
 * so nothing else may be signed on its previous).
 */
export type PublishOutcome = 'already_landed' | 'landed' | { readonly refused: string } | 'unresolved';

/** A block the operator signed and recorded, ready to publish. */
export interface RecordedBlock {
  readonly hash: string;
  readonly block: StateBlock;
  readonly subtype: ProcessSubtype;
}

export interface PublishOptions {
  /**
   * Signed and recorded in this call, so no copy of it can have reached the node: `block_info` is
   * not asked before the first copy.
   */
  readonly fresh: boolean;
  /** Copies published in one call, at most: after that many ambiguous failures the block is left to the next run. */
  readonly publishTriesMax: number;
  readonly unclear: UnclearCopies;
  readonly log: (message: string, fields?: Record<string, unknown>) => void;
  /** What the log lines call the block ('payout block', 'receive'), and the fields that name it. */
  readonly logAs: { readonly subject: string; readonly fields: Readonly<Record<string, unknown>> };
  /** Runs the moment the node has said it took the block, before anything else: a crash point. */
  readonly onPublished?: () => void;
}

/**
 * Publishes a recorded operator block until the node has it or refuses it (SPEC §4.4.4, and §4.5
 * for receives): the one loop of the payout sender and the donation ingester.
 *
 * A block recorded in an earlier run may have reached the node already, so `block_info` is asked
 * first unless it is fresh, and after an ambiguous failure it is asked again before the same block
 * (never another) is published again. Each copy is in doubt (UnclearCopies) from just before it is
 * published until the node answers it, so a refusal of this copy fails the block only when it is
 * absent and no earlier copy in doubt may still land.
 *
 * Only the node's answers to `process` are sorted here. Anything else `process` throws is a fault
 * of ours, not the node's word, and is thrown on with the copy left in doubt (whether it left is not
 * known): the caller's run fails loudly, and the next run asks `block_info` first. So is an error of
 * `block_info` or of the database.
 */
export async function publishBlock(rpc: BananoRpcClient, recorded: RecordedBlock, options: PublishOptions): Promise<PublishOutcome> {
  const { hash, block, subtype } = recorded;
  const { unclear, log } = options;
  const { subject, fields } = options.logAs;
  const onChain = async (): Promise<boolean> => (await rpc.blockInfo(hash)) !== null;
  const landed = async <T extends 'already_landed' | 'landed'>(outcome: T): Promise<T> => {
    await unclear.settled(hash);
    return outcome;
  };

  if (!options.fresh && (await onChain())) return landed('already_landed');
  for (let tries = 1; tries <= options.publishTriesMax; tries += 1) {
    // In doubt until the node answers: a process killed meanwhile leaves it so for the next.
    const prior = await unclear.publishing(hash);
    try {
      await rpc.process(block, subtype);
    } catch (error) {
      if (isAmbiguous(error)) {
        await unclear.unanswered(hash);
        log(`${subject} publish ambiguous: asking block_info`, { ...fields, error: messageOf(error) });
        if (await onChain()) return landed('landed');
        continue;
      }
      if (error instanceof BananoNodeRejectedError) {
        // "Old block" and its kin: the node refuses a block it already holds. Only a block that is
        // provably absent is refused, and only once no copy in doubt may still land.
        await unclear.answeredClearly(hash, prior);
        if (await onChain()) return landed('landed');
        if (await unclear.mayStillLand(rpc, hash, block)) {
          log(`${subject} refused, but an earlier copy may still land: left in flight`, { ...fields, error: error.nodeError });
          return 'unresolved';
        }
        await unclear.settled(hash);
        return { refused: error.nodeError };
      }
      if (error instanceof BananoNodeError) {
        // Not ambiguous, so this copy never reached the node (a refused connection, a 4xx): the
        // block is still ours to publish next run. The copies before it stay in doubt.
        await unclear.answeredClearly(hash, prior);
        log(`${subject} not published: node unavailable`, { ...fields, error: messageOf(error) });
        return 'unresolved';
      }
      throw error;
    }
    options.onPublished?.();
    return landed('landed');
  }
  return 'unresolved';
}
