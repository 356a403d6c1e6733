import { type YuniteLookup } from './yunite.client';

export const YUNITE = Symbol('YUNITE');

/** What verification needs from Yunite; YuniteClient is the real one. */
export interface YuniteLookupPort {
  lookupEpicAccount(discordUserId: string): Promise<YuniteLookup>;
}
