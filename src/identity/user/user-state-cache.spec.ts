import { OrderedMap } from 'immutable';
import { userDecider, type UserState } from './user.decider';
import { UserStateCache } from './user-state-cache';

/** A registered user, as the decider folds UserRegistered, holding `accruals` unclaimed accruals. */
const registered = (userId: string, accruals: number): UserState => {
  const state = userDecider.evolve(userDecider.initialState, {
    type: 'UserRegistered',
    data: { userId, discordUserId: '1', regionCode: null, registeredAt: new Date(0).toISOString() },
  });
  if (state.status !== 'registered') throw new Error('UserRegistered must register the user');
  return { ...state, accruals: OrderedMap(Array.from({ length: accruals }, (_, n) => [`accrual-${n}`, { kills: 1n, claimed: 0n }])) };
};

describe('UserStateCache', () => {
  it('keeps at most its number of users, forgetting the least recently used first', () => {
    const cache = new UserStateCache(2, 1_000);
    cache.set('a', { state: registered('a', 0), revision: 1n, position: 1n });
    cache.set('b', { state: registered('b', 0), revision: 1n, position: 1n });
    expect(cache.get('a')).toBeDefined();
    cache.set('c', { state: registered('c', 0), revision: 1n, position: 1n });

    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBeDefined();
    expect(cache.get('c')).toBeDefined();
  });

  it('keeps at most its weight of accruals and payouts, however few the users', () => {
    const cache = new UserStateCache(100, 25);
    cache.set('a', { state: registered('a', 10), revision: 10n, position: 10n });
    cache.set('b', { state: registered('b', 10), revision: 10n, position: 10n });
    cache.set('c', { state: registered('c', 10), revision: 10n, position: 10n });

    expect(cache.get('a')).toBeUndefined();
    expect(cache.size).toBe(2);
    // A state replaced by a bigger one of the same user counts once, at its new weight.
    cache.set('c', { state: registered('c', 15), revision: 15n, position: 15n });
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('c')?.revision).toBe(15n);
  });
});
