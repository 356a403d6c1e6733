/** What stands for the hidden part of a Discord id on the public routes. */
export const MASK = '••••';

/** How many of a Discord id's last characters a masked display name keeps. */
export const SHOWN_CHARACTERS = 4;

/**
 * How the public dashboard routes name a player. A Discord id is personal data, so by default only
 * its last 4 characters are shown, after `••••`: enough for players to find themselves, too few to
 * look anyone up. `showDiscordIds` (DASHBOARD_SHOW_DISCORD_IDS) shows the id in full.
 *
 * `discordUserId` is null only while the users read model has not yet applied the player's
 * registration (the read models are eventually consistent): the mask alone stands for it then.
 */
export function displayName(discordUserId: string | null, showDiscordIds: boolean): string {
  if (discordUserId === null) return MASK;
  if (showDiscordIds) return discordUserId;
  // Ids are 17 to 20 digits (POST /v1/users checks); a shorter one still never shows in full.
  const shown = discordUserId.length > SHOWN_CHARACTERS ? discordUserId.slice(-SHOWN_CHARACTERS) : '';
  return `${MASK}${shown}`;
}
