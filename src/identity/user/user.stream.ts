import { v5 as uuidv5 } from 'uuid';

export const USER_CATEGORY = 'user';

/** Fixed namespace for UUID v5 user ids; changing it would orphan every existing stream. */
const DISCORD_USER_NAMESPACE = '6b1f3c2e-9d4a-5e7b-8c01-2f3a4b5c6d7e';

/** The same Discord id always gives the same user id, so registering twice is idempotent. */
export function userIdFromDiscordId(discordUserId: string): string {
  return uuidv5(discordUserId, DISCORD_USER_NAMESPACE);
}

export function toStreamName(userId: string): string {
  return `${USER_CATEGORY}-${userId}`;
}
