import { type Decider } from '../../platform/decider';
import { decodeUserEvent, type UserEvent } from './user.events';

export type UserState =
  | { readonly status: 'unregistered' }
  | {
      readonly status: 'registered';
      readonly userId: string;
      readonly discordUserId: string;
      readonly regionCode: string | null;
    };

export interface RegisterUser {
  readonly type: 'RegisterUser';
  readonly data: {
    readonly userId: string;
    readonly discordUserId: string;
    readonly regionCode: string | null;
    readonly now: Date;
  };
}

export type UserCommand = RegisterUser;

export const initialState: UserState = { status: 'unregistered' };

export function evolve(_state: UserState, event: UserEvent): UserState {
  switch (event.type) {
    case 'UserRegistered':
      return {
        status: 'registered',
        userId: event.data.userId,
        discordUserId: event.data.discordUserId,
        regionCode: event.data.regionCode,
      };
    default: {
      const unreachable: never = event.type;
      throw new Error(`Unknown user event ${String(unreachable)}`);
    }
  }
}

export function decide(command: UserCommand, state: UserState): UserEvent[] {
  switch (command.type) {
    case 'RegisterUser':
      // Registering again asks for what is already true: nothing to append. The user id is
      // derived from the Discord id, so a registered stream always holds the same Discord id.
      if (state.status === 'registered') return [];
      return [
        {
          type: 'UserRegistered',
          data: {
            userId: command.data.userId,
            discordUserId: command.data.discordUserId,
            regionCode: command.data.regionCode,
            registeredAt: command.data.now.toISOString(),
          },
        },
      ];
    default: {
      const unreachable: never = command.type;
      throw new Error(`Unknown user command ${String(unreachable)}`);
    }
  }
}

export const userDecider: Decider<UserCommand, UserEvent, UserState> = {
  initialState,
  evolve,
  decide,
  decode: decodeUserEvent,
};
