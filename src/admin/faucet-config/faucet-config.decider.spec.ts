import { DomainError } from '../../platform/errors/domain-error';
import { parseBan } from '../../platform/money';
import { decide, evolve, type FaucetConfigCommand, type FaucetConfigState, initialState, payoutSettingsInForce, schedulerSettingsInForce } from './faucet-config.decider';
import { decodeFaucetConfigEvent, type FaucetConfigEvent, type PayoutSettings, type SchedulerSettings } from './faucet-config.events';

const raw = (ban: string): string => (parseBan(ban) as bigint).toString();
const now = new Date('2026-12-02T10:00:00.000Z');
const payoutDefaults: PayoutSettings = { banPerKillRaw: raw('0.05'), dailyKillCap: 150, weeklyKillCap: 750, minOperatorBalanceRaw: raw('50') };
const schedulerDefaults: SchedulerSettings = { settlementIntervalSeconds: 1200, settlementBatchSize: 0 };

const given = (events: FaucetConfigEvent[]): FaucetConfigState => events.reduce(evolve, initialState);
const payout = (changes: Partial<PayoutSettings>): FaucetConfigCommand => ({ type: 'ChangePayoutConfig', data: { changes, defaults: payoutDefaults, now } });
const scheduler = (changes: Partial<SchedulerSettings>): FaucetConfigCommand => ({ type: 'ChangeSchedulerConfig', data: { changes, defaults: schedulerDefaults, now } });

function rejection(command: FaucetConfigCommand, state: FaucetConfigState = initialState): string {
  try {
    decide(command, state);
  } catch (error) {
    if (error instanceof DomainError) return error.code;
    throw error;
  }
  throw new Error(`${command.type} was expected to be rejected`);
}

describe('the faucet-config decider', () => {
  it('records only the fields given that differ from what an admin set, each with its value before', () => {
    const state = given(decide(payout({ dailyKillCap: 150 }), initialState));
    const events = decide(payout({ banPerKillRaw: raw('0.1'), dailyKillCap: 150, weeklyKillCap: 500 }), state);

    expect(events).toEqual([
      {
        type: 'PayoutConfigChanged',
        data: { changes: { banPerKillRaw: raw('0.1'), weeklyKillCap: 500 }, previous: { banPerKillRaw: raw('0.05'), weeklyKillCap: 750 }, changedAt: now.toISOString() },
      },
    ]);
    expect(payoutSettingsInForce(given(events), payoutDefaults)).toEqual({ ...payoutDefaults, banPerKillRaw: raw('0.1'), weeklyKillCap: 500 });
  });

  it('decides nothing when asked for what an admin set already', () => {
    const state = given([...decide(payout({ dailyKillCap: 20, banPerKillRaw: raw('0.05') }), initialState), ...decide(scheduler({ settlementIntervalSeconds: 1200 }), initialState)]);

    expect(decide(payout({ dailyKillCap: 20 }), state)).toEqual([]);
    expect(decide(payout({ banPerKillRaw: raw('0.05') }), state)).toEqual([]);
    expect(decide(scheduler({ settlementIntervalSeconds: 1200 }), state)).toEqual([]);
  });

  it('records a value an admin sets that only the environment gave, so it holds in a process or a restart with another environment', () => {
    // The API runs with SETTLEMENT_INTERVAL_SECONDS=1200, `npm run start:payouts` with 600: the
    // admin sets 1200 on the API, and both must settle every 1200 s from then on.
    const events = decide(scheduler({ settlementIntervalSeconds: 1200 }), initialState);
    const payoutsProcessDefaults = { settlementIntervalSeconds: 600, settlementBatchSize: 0 };

    expect(events).toEqual([
      { type: 'SchedulerConfigChanged', data: { changes: { settlementIntervalSeconds: 1200 }, previous: { settlementIntervalSeconds: 1200 }, changedAt: now.toISOString() } },
    ]);
    expect(schedulerSettingsInForce(given(events), payoutsProcessDefaults)).toEqual({ settlementIntervalSeconds: 1200, settlementBatchSize: 0 });
    expect(decide(scheduler({ settlementIntervalSeconds: 1200 }), given(events))).toEqual([]);
  });

  it('keeps an admin value over the environment, and the environment value for fields no admin changed', () => {
    const state = given(decide(scheduler({ settlementBatchSize: 25 }), initialState));
    const newDefaults = { settlementIntervalSeconds: 600, settlementBatchSize: 5 };

    expect(schedulerSettingsInForce(state, newDefaults)).toEqual({ settlementIntervalSeconds: 600, settlementBatchSize: 25 });
    expect(decide(scheduler({ settlementIntervalSeconds: 0 }), state)).toEqual([
      { type: 'SchedulerConfigChanged', data: { changes: { settlementIntervalSeconds: 0 }, previous: { settlementIntervalSeconds: 1200 }, changedAt: now.toISOString() } },
    ]);
  });

  it.each([
    ['a zero base', { banPerKillRaw: '0' }, 'invalid_ban_per_kill'],
    ['a base above 1000 BAN', { banPerKillRaw: raw('1000.00000001') }, 'invalid_ban_per_kill'],
    ['a base finer than 10^-8 BAN', { banPerKillRaw: (BigInt(raw('0.05')) + 1n).toString() }, 'invalid_ban_per_kill'],
    ['a floor finer than 10^-8 BAN', { minOperatorBalanceRaw: '1' }, 'invalid_min_operator_balance_ban'],
    ['a floor above 10,000,000,000 BAN', { minOperatorBalanceRaw: raw('10000000000.00000001') }, 'invalid_min_operator_balance_ban'],
    ['a negative daily cap', { dailyKillCap: -1 }, 'invalid_daily_kill_cap'],
    ['a fractional weekly cap', { weeklyKillCap: 1.5 }, 'invalid_weekly_kill_cap'],
    ['a weekly cap above a million', { weeklyKillCap: 1_000_001 }, 'invalid_weekly_kill_cap'],
  ] as Array<[string, Partial<PayoutSettings>, string]>)('refuses %s', (_name, changes, code) => {
    expect(rejection(payout(changes))).toBe(code);
  });

  it('names the bound when a floor is above it, though its decimals are fine', () => {
    expect(() => decide(payout({ minOperatorBalanceRaw: raw('99999999999.99999999') }), initialState)).toThrow(
      'minOperatorBalanceBan must be at most 10000000000 BAN, with at most 8 decimals',
    );
  });

  it.each([
    ['a negative interval', { settlementIntervalSeconds: -5 }, 'invalid_settlement_interval_seconds'],
    ['an interval above a week', { settlementIntervalSeconds: 604_801 }, 'invalid_settlement_interval_seconds'],
    ['a fractional batch size', { settlementBatchSize: 0.5 }, 'invalid_settlement_batch_size'],
  ] as Array<[string, Partial<SchedulerSettings>, string]>)('refuses a schedule with %s', (_name, changes, code) => {
    expect(rejection(scheduler(changes))).toBe(code);
  });

  it('reads back what it writes, and refuses stored data of the wrong shape', () => {
    const [event] = decide(payout({ minOperatorBalanceRaw: raw('10'), dailyKillCap: 0 }), initialState);

    expect(decodeFaucetConfigEvent(event.type, JSON.parse(JSON.stringify(event.data)) as Record<string, unknown>)).toEqual(event);
    expect(decodeFaucetConfigEvent('SomethingElse', {})).toBeNull();
    expect(() => decodeFaucetConfigEvent('PayoutConfigChanged', { changes: { dailyKillCap: '5' }, previous: {}, changedAt: now.toISOString() })).toThrow(/dailyKillCap/);
    expect(() => decodeFaucetConfigEvent('PayoutConfigChanged', { changes: { surprise: 1 }, previous: {}, changedAt: now.toISOString() })).toThrow(/surprise/);
    expect(() => decodeFaucetConfigEvent('SchedulerConfigChanged', { changes: [], previous: {}, changedAt: now.toISOString() })).toThrow(/changes/);
  });
});
