import { setTimeout as sleep } from 'node:timers/promises';
import { startYuniteDouble, type YuniteDouble } from '../../../test/doubles/yunite.double';
import { ReverificationScheduler, reverificationFromEnv, type ReverificationPorts, yuniteConfigFromEnv } from './reverification.scheduler';
import { YuniteClient, YuniteRateLimitedError } from './yunite.client';
import { recordedCursor } from '../../../test/support/recorded-cursor';

const apiKey = 'test-yunite-token-9a8b7c6d';
const guildId = '401234567890123456';

/** User ids sort like the read model's UUIDs; each maps to one Discord id in the double. */
function userIdOf(index: number): string {
  return `user-${String(index).padStart(3, '0')}`;
}
function discordIdOf(userId: string): string {
  return `3000000000000${userId.slice(-3).padStart(5, '0')}`;
}

/** An in-memory stand-in for the read model query, obeying the port's contract to the letter. */
function linkedUsers(count: number): ReverificationPorts['listLinkedUsers'] {
  const all = Array.from({ length: count }, (_, index) => userIdOf(index + 1));
  return async (afterUserId, limit) =>
    all.filter((userId) => afterUserId === null || userId > afterUserId).slice(0, limit).map((userId) => ({ userId }));
}

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
}
function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

/** Polls until the condition holds, so timer-driven tests wait no longer than they must. */
async function eventually(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}

describe('ReverificationScheduler with the real client against the Yunite double', () => {
  let yunite: YuniteDouble;
  let client: YuniteClient;
  const logs: Array<{ message: string; fields?: Record<string, unknown> }> = [];

  beforeEach(async () => {
    yunite = await startYuniteDouble({ apiKey, guildId });
    client = new YuniteClient({ baseUrl: yunite.baseUrl, apiKey, guildId, timeoutMs: 2_000 });
    logs.length = 0;
  });

  afterEach(async () => {
    await yunite.close();
  });

  function ports(count: number, overrides: Partial<ReverificationPorts> = {}): ReverificationPorts {
    for (let index = 1; index <= count; index += 1) {
      yunite.link(discordIdOf(userIdOf(index)), `${String(index).padStart(32, 'a')}`, `player${index}`);
    }
    return {
      listLinkedUsers: linkedUsers(count),
      verifyUser: async (userId) => {
        await client.lookupEpicAccount(discordIdOf(userId));
      },
      log: (message, fields) => logs.push({ message, fields }),
      ...overrides,
    };
  }

  /** The users Yunite was asked about, in order, as user ids. */
  function askedUserIds(): string[] {
    return yunite.requests().flatMap((request) => request.discordIds.map((discordId) => userIdOf(Number(discordId.slice(-3)))));
  }

  it('given more users than one run may take, when runs repeat, then each continues where the last stopped and wraps round', async () => {
    const scheduler = new ReverificationScheduler(ports(10), { intervalMs: 60_000, usersPerRunMax: 3, pageSize: 2 });

    const results = [];
    for (let run = 0; run < 4; run += 1) results.push(await scheduler.runOnce());

    expect(results).toEqual([
      { verified: 3, failed: 0 },
      { verified: 3, failed: 0 },
      { verified: 3, failed: 0 },
      { verified: 3, failed: 0 },
    ]);
    expect(askedUserIds()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1, 2].map(userIdOf));
  });

  it('given fewer users than one run may take, when it runs twice, then each user is verified exactly once per run', async () => {
    const scheduler = new ReverificationScheduler(ports(4), { intervalMs: 60_000, usersPerRunMax: 10, pageSize: 3 });

    await scheduler.runOnce(); // users 1 to 4, and the cursor is back at the start
    const second = await scheduler.runOnce();

    expect(second).toEqual({ verified: 4, failed: 0 });
    expect(askedUserIds()).toEqual([1, 2, 3, 4, 1, 2, 3, 4].map(userIdOf));
  });

  it.each([
    ['a user in the middle', userIdOf(3), [4, 5, 1, 2, 3]],
    ['a user no longer listed, after everyone', 'zz', [1, 2, 3, 4, 5]],
    ['none stored', null, [1, 2, 3, 4, 5]],
  ])('given a stored cursor (%s), when it holds the turn, then it reads it, goes round once from there, and saves it after each user', async (_case, stored, served) => {
    const events: string[] = [];
    const turn = { acquire: async () => events.push('acquire') > 0, release: async () => undefined };
    const scheduler = new ReverificationScheduler(ports(5, { turn, cursor: recordedCursor(stored, events).port }), { intervalMs: 60_000, usersPerRunMax: 10, pageSize: 2 });

    expect(await scheduler.runOnce()).toEqual({ verified: 5, failed: 0 });
    expect(askedUserIds()).toEqual(served.map(userIdOf));
    expect(events.filter((event) => event !== 'acquire')).toEqual([`load ${String(stored)}`, ...served.map((index) => `save ${userIdOf(index)}`)]);
    expect(events.slice(0, 2)).toEqual(['acquire', `load ${String(stored)}`]);
  });

  it('given another instance went on meanwhile, when it runs again, then it goes on from the cursor that instance saved, not from its own', async () => {
    const events: string[] = [];
    const { cursor, port } = recordedCursor(null, events);
    const scheduler = new ReverificationScheduler(ports(6, { cursor: port }), { intervalMs: 60_000, usersPerRunMax: 2 });

    await scheduler.runOnce(); // 1, 2
    cursor.stored = userIdOf(4); // another instance held the turn meanwhile and re-verified 3 and 4
    await scheduler.runOnce();

    expect(askedUserIds()).toEqual([1, 2, 5, 6].map(userIdOf));
    expect(cursor.stored).toBe(userIdOf(6));
  });

  it('given another instance holds the turn, or Yunite rate-limits, when it runs, then no cursor is read or saved for a user not asked about', async () => {
    const events: string[] = [];
    let ours = false;
    const turn = { acquire: async () => ours, release: async () => undefined };
    const scheduler = new ReverificationScheduler(ports(3, { turn, cursor: recordedCursor(userIdOf(1), events).port }), { intervalMs: 60_000, usersPerRunMax: 3 });

    expect(await scheduler.runOnce()).toEqual({ verified: 0, failed: 0 });
    expect(events).toEqual([]);

    ours = true;
    yunite.failNext('429');
    expect(await scheduler.runOnce()).toEqual({ verified: 0, failed: 0 });
    expect(events).toEqual([`load ${userIdOf(1)}`]);
  });

  it('given a run that stopped mid-list, when fewer users than the budget remain, then it wraps but stops before repeating anyone', async () => {
    const scheduler = new ReverificationScheduler(ports(5), { intervalMs: 60_000, usersPerRunMax: 3 });

    await scheduler.runOnce(); // 1, 2, 3
    await scheduler.runOnce(); // 4, 5, 1
    await scheduler.runOnce(); // 2, 3, 4

    expect(askedUserIds()).toEqual([1, 2, 3, 4, 5, 1, 2, 3, 4].map(userIdOf));
  });

  it('given another instance holds the turn, when it runs, then nobody is asked, and once the turn is its own it goes on where it stopped', async () => {
    let turns = 0;
    let ours = (): boolean => true;
    const released: number[] = [];
    const scheduler = new ReverificationScheduler(
      ports(5, {
        turn: {
          acquire: async () => {
            turns += 1;
            return ours();
          },
          release: async () => {
            released.push(turns);
          },
        },
      }),
      { intervalMs: 60_000, usersPerRunMax: 4 },
    );

    ours = () => turns <= 2; // lost after two users
    expect(await scheduler.runOnce()).toEqual({ verified: 2, failed: 0 });
    ours = () => false;
    expect(await scheduler.runOnce()).toEqual({ verified: 0, failed: 0 });
    ours = () => true;
    expect(await scheduler.runOnce()).toEqual({ verified: 4, failed: 0 });
    await scheduler.stop();

    expect(askedUserIds()).toEqual([1, 2, 3, 4, 5, 1].map(userIdOf));
    expect(released).toEqual([turns]);
  });

  it('given no linked users, when it runs, then nothing is asked', async () => {
    const scheduler = new ReverificationScheduler(ports(0), { intervalMs: 60_000, usersPerRunMax: 5 });

    await expect(scheduler.runOnce()).resolves.toEqual({ verified: 0, failed: 0 });
    expect(yunite.requests()).toEqual([]);
  });

  it('given one verification fails, when it runs, then the failure is logged without secrets and the others still run', async () => {
    yunite.failNext('500');
    const scheduler = new ReverificationScheduler(ports(3), { intervalMs: 60_000, usersPerRunMax: 10 });

    const result = await scheduler.runOnce();

    expect(result).toEqual({ verified: 2, failed: 1 });
    expect(askedUserIds()).toEqual([1, 2, 3].map(userIdOf));
    const failures = logs.filter((entry) => entry.fields?.userId === userIdOf(1));
    expect(failures).toEqual([
      { message: expect.stringContaining('failed'), fields: expect.objectContaining({ code: 'yunite_unavailable' }) },
    ]);
    expect(JSON.stringify(logs)).not.toContain(apiKey);
  });

  it('given Yunite rate-limits, when it runs, then the run ends at once and the next run starts with the user it could not ask about', async () => {
    const scheduler = new ReverificationScheduler(ports(6), { intervalMs: 60_000, usersPerRunMax: 4 });
    await scheduler.runOnce(); // 1 to 4
    yunite.failNext('429', 1, '30');

    const limited = await scheduler.runOnce(); // asks about 5, is refused, stops
    const next = await scheduler.runOnce(); // 5, 6, 1, 2

    expect(limited).toEqual({ verified: 0, failed: 0 });
    expect(next).toEqual({ verified: 4, failed: 0 });
    expect(askedUserIds()).toEqual([1, 2, 3, 4, 5, 5, 6, 1, 2].map(userIdOf));
    expect(logs).toContainEqual({
      message: 'reverification run ended early',
      fields: expect.objectContaining({ userId: userIdOf(5), code: 'yunite_rate_limited' }),
    });
  });

  it('given Yunite asks to wait a day, when it was started, then the next run comes within 15 minutes, as the stats poller caps the same header', async () => {
    // Fake timers and a port that throws the client's own error: the wait is what is tested.
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate'] });
    try {
      let calls = 0;
      const scheduler = new ReverificationScheduler(
        {
          listLinkedUsers: linkedUsers(3),
          verifyUser: async () => {
            calls += 1;
            if (calls === 1) throw new YuniteRateLimitedError('Yunite rate-limited the request', 86_400_000);
          },
          log: (message, fields) => logs.push({ message, fields }),
        },
        { intervalMs: 1_000, usersPerRunMax: 3 },
      );
      scheduler.start();
      await jest.advanceTimersByTimeAsync(1_000);
      const afterLimited = calls;
      await jest.advanceTimersByTimeAsync(15 * 60_000 - 1);
      const beforeCap = calls;
      await jest.advanceTimersByTimeAsync(1);
      await scheduler.stop();

      expect(afterLimited).toBe(1);
      expect(beforeCap).toBe(1);
      expect(calls).toBe(4); // the user it could not ask about, then the two others
    } finally {
      jest.useRealTimers();
    }
  });

  it.each([
    ['saved 59.7 s before, of a 60 s interval', 59_700, 300],
    ['saved two intervals before', 120_000, 0],
    ['never saved', null, 60_000],
  ])('given the cursor was %s, when it is started, then its first run comes an interval after that save, not after the start', async (_case, sinceSavedMs, firstRunAfterMs) => {
    // A service restarted more often than the interval would otherwise never re-verify anyone.
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate'] });
    try {
      let calls = 0;
      const cursor = { load: async () => null, save: async () => undefined, sinceSavedMs: async () => sinceSavedMs };
      const scheduler = new ReverificationScheduler(
        { listLinkedUsers: linkedUsers(1), verifyUser: async () => void (calls += 1), cursor },
        { intervalMs: 60_000, usersPerRunMax: 1 },
      );
      scheduler.start();
      if (firstRunAfterMs > 0) await jest.advanceTimersByTimeAsync(firstRunAfterMs - 1);
      const before = calls;
      await jest.advanceTimersByTimeAsync(1);
      const after = calls;
      await scheduler.stop();

      expect([before, after]).toEqual([0, 1]);
    } finally {
      jest.useRealTimers();
    }
  });

  it('given the cursor cannot be read, when it is started, then its first run comes an interval after the start, and the log says why', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate'] });
    try {
      let calls = 0;
      const cursor = {
        load: async () => null,
        save: async () => undefined,
        sinceSavedMs: async () => {
          throw new Error('connection terminated');
        },
      };
      const scheduler = new ReverificationScheduler(
        { listLinkedUsers: linkedUsers(1), verifyUser: async () => void (calls += 1), cursor, log: (message, fields) => logs.push({ message, fields }) },
        { intervalMs: 60_000, usersPerRunMax: 1 },
      );
      scheduler.start();
      await jest.advanceTimersByTimeAsync(59_999);
      const before = calls;
      await jest.advanceTimersByTimeAsync(1);
      const after = calls;
      await scheduler.stop();

      expect([before, after]).toEqual([0, 1]);
      expect(logs[0]).toEqual({ message: 'reverification: when the last run was is unknown', fields: expect.objectContaining({ error: 'connection terminated' }) });
    } finally {
      jest.useRealTimers();
    }
  });

  /** The failed runs (runFailed) of two scheduled runs, 1 s apart, of a scheduler on `ports`. */
  async function failedRunsOfTwo(ports: Pick<ReverificationPorts, 'listLinkedUsers' | 'verifyUser'>): Promise<number> {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate'] });
    try {
      let failedRuns = 0;
      const scheduler = new ReverificationScheduler(
        {
          ...ports,
          log: (message, fields) => logs.push({ message, fields }),
          runFailed: () => {
            failedRuns += 1;
          },
        },
        { intervalMs: 1_000, usersPerRunMax: 2 },
      );
      scheduler.start();
      await jest.advanceTimersByTimeAsync(2_000);
      await scheduler.stop();
      return failedRuns;
    } finally {
      jest.useRealTimers();
    }
  }

  it('given it was started, when one run throws and the next skips a user, then only the run that threw is a failed run', async () => {
    let lists = 0;
    const list = linkedUsers(2);
    const failedRuns = await failedRunsOfTwo({
      listLinkedUsers: async (afterUserId, limit) => {
        lists += 1;
        if (lists === 1) throw new Error('connection terminated');
        return list(afterUserId, limit);
      },
      verifyUser: async (userId) => {
        if (userId === userIdOf(1)) throw Object.assign(new Error('Yunite is unavailable'), { code: 'yunite_unavailable' });
      },
    });

    expect(logs.map((log) => log.message)).toEqual([
      'reverification run failed',
      'reverification of a user failed; skipped until the next round',
      'reverification run finished',
    ]);
    expect(failedRuns).toBe(1);
  });

  it('given a refused key and then a rate limit, when it runs on its schedule, then only the run the refused key ended is a failed run', async () => {
    let runs = 0;
    const failedRuns = await failedRunsOfTwo({
      listLinkedUsers: linkedUsers(2),
      verifyUser: async () => {
        runs += 1;
        if (runs === 1) throw Object.assign(new Error('Yunite refused the API key'), { code: 'yunite_unauthorized' });
        throw Object.assign(new Error('Yunite rate limit'), { code: 'yunite_rate_limited' });
      },
    });

    expect(logs.filter((log) => log.message === 'reverification run ended early').map((log) => log.fields?.code)).toEqual(['yunite_unauthorized', 'yunite_rate_limited']);
    // A refused key makes every run do nothing until an operator acts; a rate limit is Yunite's pacing.
    expect(failedRuns).toBe(1);
  });

  it('given a wrong API key, when it runs, then it stops after the first refusal instead of asking about everyone', async () => {
    const wrongKey = new YuniteClient({ baseUrl: yunite.baseUrl, apiKey: 'wrong-token', guildId, timeoutMs: 2_000 });
    const scheduler = new ReverificationScheduler(
      ports(5, { verifyUser: async (userId) => void (await wrongKey.lookupEpicAccount(discordIdOf(userId))) }),
      { intervalMs: 60_000, usersPerRunMax: 5 },
    );

    await expect(scheduler.runOnce()).resolves.toEqual({ verified: 0, failed: 0 });
    expect(yunite.requests()).toHaveLength(1);
  });

  it('given a run in flight, when runOnce is called again, then it joins that run instead of overlapping it', async () => {
    const gate = deferred();
    let active = 0;
    let activeMax = 0;
    let calls = 0;
    const scheduler = new ReverificationScheduler(
      ports(6, {
        verifyUser: async () => {
          calls += 1;
          active += 1;
          activeMax = Math.max(activeMax, active);
          await gate.promise;
          active -= 1;
        },
      }),
      { intervalMs: 60_000, usersPerRunMax: 3 },
    );

    const first = scheduler.runOnce();
    const second = scheduler.runOnce();
    gate.resolve();

    expect(second).toBe(first);
    await expect(first).resolves.toEqual({ verified: 3, failed: 0 });
    expect(calls).toBe(3);
    expect(activeMax).toBe(1);
  });

  it('given it was started, when runs take longer than the interval, then they never overlap, and stop ends the run after the user in hand', async () => {
    let active = 0;
    let activeMax = 0;
    let calls = 0;
    let gate = deferred();
    const scheduler = new ReverificationScheduler(
      ports(4, {
        verifyUser: async () => {
          calls += 1;
          active += 1;
          activeMax = Math.max(activeMax, active);
          await gate.promise;
          active -= 1;
        },
      }),
      { intervalMs: 5, usersPerRunMax: 3 },
    );

    scheduler.start();
    // Runs go one user at a time, each held far longer than the 5 ms interval: users 1, 2, 3 in
    // the first run, then 4 in the second.
    for (let call = 1; call <= 4; call += 1) {
      await eventually(() => calls === call && active === 1);
      await sleep(20);
      const current = gate;
      gate = deferred();
      current.resolve();
    }
    await eventually(() => calls === 5 && active === 1); // user 1, second of the second run
    let stopped = false;
    const stopping = scheduler.stop().then(() => {
      stopped = true;
    });
    await sleep(30);
    expect(stopped).toBe(false); // a verification is still in flight

    gate.resolve();
    await stopping;
    await sleep(50);

    expect(activeMax).toBe(1);
    expect(calls).toBe(5); // the second run's third user was left for later, and nothing ran after stop
  });
});

describe('reverificationFromEnv', () => {
  const yunite = { YUNITE_API_KEY: apiKey, YUNITE_GUILD_ID: guildId };

  it('is off unless both the Yunite key and guild are set', () => {
    expect(reverificationFromEnv({})).toBeNull();
    expect(reverificationFromEnv({ YUNITE_API_KEY: apiKey })).toBeNull();
    expect(reverificationFromEnv({ YUNITE_GUILD_ID: guildId, YUNITE_REVERIFY_INTERVAL_SECONDS: '60' })).toBeNull();
  });

  it('defaults to 100 users every hour', () => {
    expect(reverificationFromEnv(yunite)).toEqual({ intervalMs: 3_600_000, usersPerRunMax: 100 });
  });

  it('takes the interval in seconds and the users per run from the environment', () => {
    expect(
      reverificationFromEnv({ ...yunite, YUNITE_REVERIFY_INTERVAL_SECONDS: '90', YUNITE_REVERIFY_USERS_PER_RUN: '25' }),
    ).toEqual({ intervalMs: 90_000, usersPerRunMax: 25 });
  });

  it.each([
    ['YUNITE_REVERIFY_INTERVAL_SECONDS', '0'],
    ['YUNITE_REVERIFY_INTERVAL_SECONDS', '1h'],
    ['YUNITE_REVERIFY_INTERVAL_SECONDS', '99999999'],
    ['YUNITE_REVERIFY_USERS_PER_RUN', '-1'],
    ['YUNITE_REVERIFY_USERS_PER_RUN', '1.5'],
  ])('refuses %s=%s, naming the variable', (name, value) => {
    expect(() => reverificationFromEnv({ ...yunite, [name]: value })).toThrow(new RegExp(name));
  });

  it('re-exports the client configuration so the wiring reads both from one place', () => {
    expect(yuniteConfigFromEnv(yunite)).toMatchObject({ apiKey, guildId });
  });
});
