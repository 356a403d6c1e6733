/** What the leaderboard ranks players by: accrued kills, or accrued raw. */
export const LEADERBOARD_MEASURES = ['kills', 'earned'] as const;
export type LeaderboardMeasure = (typeof LEADERBOARD_MEASURES)[number];

/** One player on the leaderboard. */
export interface LeaderboardEntryView {
  /** 1-based position in the list. */
  readonly rank: number;
  /** The player's public id (public-ids.ts): stable, never their user id, which a Discord id gives away. */
  readonly playerId: string;
  /** `••••` and the Discord id's last 4 characters, or the whole id when the operator chose so. */
  readonly displayName: string;
  /** Every kill accrued to the player (users.accrued_kill_count). */
  readonly kills: number;
  /** Everything accrued to the player. */
  readonly earnedRaw: string;
  readonly earnedBan: string;
  /** The total of the player's sent payouts. */
  readonly paidRaw: string;
  readonly paidBan: string;
}

export interface LeaderboardView {
  readonly by: LeaderboardMeasure;
  readonly items: readonly LeaderboardEntryView[];
}
