import { decide, evolve, initialState, type UserCommand, type UserState } from './user.decider';
import { type UserEvent } from './user.events';

const given = (events: UserEvent[]): UserState => events.reduce(evolve, initialState);

const register = (overrides: Partial<Extract<UserCommand, { type: 'RegisterUser' }>['data']> = {}): UserCommand => ({
  type: 'RegisterUser',
  data: {
    userId: '1c7c4c0e-0f5e-5d8e-9d1a-1a2b3c4d5e6f',
    discordUserId: '123456789012345678',
    regionCode: 'EU',
    now: new Date('2026-11-22T10:00:00.000Z'),
    ...overrides,
  },
});

describe('user decider', () => {
  it('registers a new user with the Discord id, region and time of the command', () => {
    // given no events, when RegisterUser
    const events = decide(register(), given([]));

    expect(events).toEqual([
      {
        type: 'UserRegistered',
        data: {
          userId: '1c7c4c0e-0f5e-5d8e-9d1a-1a2b3c4d5e6f',
          discordUserId: '123456789012345678',
          regionCode: 'EU',
          registeredAt: '2026-11-22T10:00:00.000Z',
        },
      },
    ]);
  });

  it('records a missing region as null', () => {
    const [event] = decide(register({ regionCode: null }), given([]));
    expect(event.data.regionCode).toBeNull();
  });

  it('decides nothing when the user is already registered, whatever the region asked', () => {
    const history = decide(register(), given([]));

    expect(decide(register(), given(history))).toEqual([]);
    expect(decide(register({ regionCode: 'NAE' }), given(history))).toEqual([]);
  });

  it('folds a registration into the registered state', () => {
    const state = given(decide(register(), given([])));
    expect(state).toEqual({
      status: 'registered',
      userId: '1c7c4c0e-0f5e-5d8e-9d1a-1a2b3c4d5e6f',
      discordUserId: '123456789012345678',
      regionCode: 'EU',
    });
  });
});
