/** The newest `limit` accruals and payouts together (SPEC §5 GET /v1/feed). */
export class GetFeedQuery {
  constructor(
    /** 1 to 100, checked by the DTO. */
    readonly limit: number,
  ) {}
}
