/**
 * Events of the `user-<userId>` stream (SPEC §3). Type names are frozen forever; a change of
 * shape gets a new schema version and a decoder that upgrades the old one.
 * This is the only domain file projections import.
 */

export const USER_EVENT_SCHEMA_VERSION = 1;

export interface UserRegistered {
  readonly type: 'UserRegistered';
  readonly data: {
    readonly userId: string;
    readonly discordUserId: string;
    readonly regionCode: string | null;
    readonly registeredAt: string;
  };
}

export type UserEvent = UserRegistered;

export const USER_EVENT_TYPES: ReadonlySet<string> = new Set<UserEvent['type']>(['UserRegistered']);

/**
 * Turns a stored event into a typed one, checking the fields the fold relies on. Unknown types
 * yield null, so that readers written before an event type existed skip it instead of failing.
 */
export function decodeUserEvent(type: string, data: Readonly<Record<string, unknown>>): UserEvent | null {
  switch (type) {
    case 'UserRegistered':
      return {
        type,
        data: {
          userId: requireString(data, 'userId'),
          discordUserId: requireString(data, 'discordUserId'),
          regionCode: data.regionCode === null || data.regionCode === undefined ? null : requireString(data, 'regionCode'),
          registeredAt: requireString(data, 'registeredAt'),
        },
      };
    default:
      return null;
  }
}

function requireString(data: Readonly<Record<string, unknown>>, field: string): string {
  const value = data[field];
  if (typeof value !== 'string') throw new Error(`Stored event field ${field} is not a string`);
  return value;
}
