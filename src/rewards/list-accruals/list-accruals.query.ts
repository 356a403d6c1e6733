export class ListAccrualsQuery {
  constructor(
    readonly userId: string,
    readonly limit: number,
    readonly cursor: string | undefined,
    readonly minPosition: bigint | null,
  ) {}
}
