export interface HistoryItem {
  readonly position: string;
  readonly revision: number;
  readonly type: string;
  readonly data: Readonly<Record<string, unknown>>;
  readonly correlationId: string;
  readonly causationId: string | null;
  readonly actor: { readonly kind: string; readonly name: string };
  readonly recordedAt: string;
}

export class GetUserHistoryQuery {
  constructor(
    readonly userId: string,
    readonly limit: number,
    readonly cursor: string | undefined,
  ) {}
}
