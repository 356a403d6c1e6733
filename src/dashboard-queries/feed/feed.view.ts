/** Which Banano gateway the service runs with: `live` with BANANO_RPC_URL set, else `dry-run`. */
export type GatewayMode = 'dry-run' | 'live';

/** What every feed item has: when it happened and who it was for. */
interface FeedItemBase {
  /** ISO-8601 UTC: an accrual's recording time; a payout's sent time once sent, else its request time. */
  readonly at: string;
  /** The player's public id (public-ids.ts): stable, never their user id, which a Discord id gives away. */
  readonly playerId: string;
  /** `••••` and the Discord id's last 4 characters, or the whole id when the operator chose so. */
  readonly displayName: string;
  readonly kills: number;
  readonly amountRaw: string;
  readonly amountBan: string;
}

export interface FeedAccrualView extends FeedItemBase {
  readonly kind: 'accrual';
  /** The accrual's public id: its accrual id is derived from the user id and the minute. */
  readonly accrualKey: string;
}

export interface FeedPayoutView extends FeedItemBase {
  readonly kind: 'payout';
  readonly payoutId: string;
  /** pending, sent, failed or cancelled. */
  readonly status: string;
  /** The send block's hash once sent (`dryrun-<payoutId>` in dry-run); null before. */
  readonly blockHash: string | null;
  /** The block on the explorer (BANANO_EXPLORER_BLOCK_URL + hash): live blocks only, else null. */
  readonly blockUrl: string | null;
  /** Sent, or to be sent, by the dry-run gateway: no block on any chain. */
  readonly dryRun: boolean;
}

export type FeedItemView = FeedAccrualView | FeedPayoutView;

export interface FeedView {
  readonly gateway: GatewayMode;
  /** Newest first. */
  readonly items: readonly FeedItemView[];
}
