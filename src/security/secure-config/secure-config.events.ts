import { nullableStr, oneOf, str, type StoredData } from '../../platform/event-store/stored-fields';

/** Bumped when a secure-config event's data changes shape; readers accept every version up to it. */
export const SECURE_CONFIG_EVENT_SCHEMA_VERSION = 1;

/**
 * The one stream of secure_config changes (SPEC §3). Its category, the part of the name before the
 * first `-`, is `secure`; a projection may filter on that or on the event type.
 */
export const SECURE_CONFIG_STREAM = 'secure-config';

/** `set`: an admin stored a new value; `rotated`: the same value, encrypted under a new master key. */
export const SECURE_CONFIG_ACTIONS = ['set', 'rotated'] as const;
export type SecureConfigAction = (typeof SECURE_CONFIG_ACTIONS)[number];

/**
 * A secure_config entry changed. It never carries the value, nor anything from which it could be
 * computed: only which entry, the id of the master key it is now encrypted under, and the public
 * address it derives (for `operator_seed`: index 0 of the seed; null for an entry without one).
 * The actor, request id and client IP are in the metadata, as for every admin command.
 */
export interface SecureConfigChanged {
  readonly type: 'SecureConfigChanged';
  readonly data: {
    readonly name: string;
    readonly keyId: string;
    readonly address: string | null;
    readonly action: SecureConfigAction;
    readonly changedAt: string;
  };
}

export type SecureConfigEvent = SecureConfigChanged;

export function decodeSecureConfigEvent(type: string, data: StoredData): SecureConfigEvent | null {
  switch (type) {
    case 'SecureConfigChanged':
      return {
        type,
        data: {
          name: str(data, 'name'),
          keyId: str(data, 'keyId'),
          address: nullableStr(data, 'address'),
          action: oneOf(data, 'action', SECURE_CONFIG_ACTIONS),
          changedAt: str(data, 'changedAt'),
        },
      };
    default:
      return null;
  }
}
