export interface UserView {
  readonly userId: string;
  readonly discordUserId: string;
  readonly epicAccountId: string | null;
  readonly regionCode: string | null;
  readonly wallet: { readonly address: string; readonly verified: boolean } | null;
  readonly verificationStatus: string | null;
  readonly lastSettledKillCount: number;
  readonly accruedKillCount: number;
  readonly lastObservedKillCount: number | null;
  readonly lastSettlementAt: string | null;
  readonly unsettledKills: number;
  readonly unsettledRaw: string;
  readonly unsettledBan: string;
  readonly totalPaidRaw: string;
  readonly totalPaidBan: string;
  readonly capsRemaining: { readonly today: number; readonly thisWeek: number };
  readonly openFlags: ReadonlyArray<{ readonly flagId: string; readonly flagType: string; readonly severity: string }>;
  readonly registeredAt: string;
}

export class GetUserQuery {
  constructor(
    readonly userId: string,
    /** Wait until the users read model has applied this position (bounded). */
    readonly minPosition: bigint | null,
    /** Answer as the user was at this time, folded from the event store; null: now, from the read models. */
    readonly asOf: Date | null = null,
  ) {}
}
