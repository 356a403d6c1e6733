import { startFortniteStatsDouble, type FortniteStatsDouble } from '../../../test/doubles/fortnite-stats.double';
import { FortniteStatsClient } from './fortnite-stats.client';
import { StatsPoller, type LinkedUser, type StatsPollerOptions, type StatsPollerPorts } from './stats-poller';
import { recordedCursor } from '../../../test/support/recorded-cursor';

const apiKey = 'poller-key-that-must-never-leak-91c3';
const epochMs = Date.UTC(2024, 0, 1);

let double: FortniteStatsDouble;

beforeAll(async () => {
  double = await startFortniteStatsDouble({ apiKey });
});

afterAll(async () => {
  await double.close();
});

interface Recorded {
  userId: string;
  lifetimeKills: bigint;
  observedAt: Date;
}

/**
 * An in-memory world around the poller: linked users served page by page like the read model
 * would, a fake clock shared by `now` and the rate limiter, and the real client talking HTTP to
 * the double. Every call to getLifetimeKills is noted with the fake time it was made at.
 */
function world(users: LinkedUser[], options: Partial<StatsPollerOptions> = {}) {
  const sorted = [...users].sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0));
  const client = new FortniteStatsClient({ baseUrl: double.baseUrl, apiKey, timeoutMs: 1_000 });
  const clock = { ms: 0 };
  const calls: Array<{ epicAccountId: string; atMs: number }> = [];
  const recorded: Recorded[] = [];
  const logs: Array<{ message: string; fields?: Record<string, unknown> }> = [];
  const rejectFor = new Map<string, Error>();

  const ports: StatsPollerPorts = {
    listLinkedUsers: async (afterUserId, limit) =>
      sorted.filter((user) => afterUserId === null || user.userId > afterUserId).slice(0, limit),
    recordKills: async (userId, _epicAccountId, lifetimeKills, observedAt) => {
      const rejection = rejectFor.get(userId);
      if (rejection !== undefined) throw rejection;
      recorded.push({ userId, lifetimeKills, observedAt });
    },
    getLifetimeKills: (epicAccountId) => {
      calls.push({ epicAccountId, atMs: clock.ms });
      return client.getLifetimeKills(epicAccountId);
    },
    now: () => new Date(epochMs + clock.ms),
    log: (message, fields) => logs.push({ message, fields }),
  };
  const poller = new StatsPoller(ports, { callsPerMinute: 3, intervalMs: 1_000, limiterClockMs: () => clock.ms, ...options });
  return { poller, ports, clock, calls, recorded, logs, rejectFor };
}

/** Users u00…u(n-1), each linked to Epic account epic-NN with 100 + NN lifetime kills. */
function linkedUsers(count: number): LinkedUser[] {
  return Array.from({ length: count }, (_, index) => {
    const suffix = String(index).padStart(2, '0');
    double.setKills(`epic-${suffix}`, 100 + index);
    return { userId: `u${suffix}`, epicAccountId: `epic-${suffix}` };
  });
}

describe('StatsPoller', () => {
  describe('fairness', () => {
    it.each([
      ['one page holds everyone', 100],
      ['users come in pages of 4', 4],
      ['a page ends exactly at the last user', 5],
    ])('serves 10 users 3 per tick in turn, none twice before all once (%s)', async (_case, pageSize) => {
      const { poller, clock, calls } = world(linkedUsers(10), { callsPerMinute: 3, pageSize });

      const results = [];
      for (let tick = 0; tick < 4; tick += 1) {
        results.push(await poller.runOnce());
        clock.ms += 60_000;
      }

      expect(results.map((result) => result.polled)).toEqual([3, 3, 3, 3]);
      const served = calls.map((call) => call.epicAccountId);
      expect(new Set(served.slice(0, 10)).size).toBe(10);
      expect(served).toEqual([...Array.from({ length: 10 }, (_, index) => `epic-${String(index).padStart(2, '0')}`), 'epic-00', 'epic-01']);
    });

    it('polls each user at most once per run when the limit exceeds the number of users', async () => {
      const { poller, calls, recorded } = world(linkedUsers(4), { callsPerMinute: 50, pageSize: 3 });

      const result = await poller.runOnce();

      expect(result).toEqual({ polled: 4, recorded: 4, failed: 0 });
      expect(calls.map((call) => call.epicAccountId)).toEqual(['epic-00', 'epic-01', 'epic-02', 'epic-03']);
      expect(recorded.map((row) => [row.userId, row.lifetimeKills])).toEqual([
        ['u00', 100n],
        ['u01', 101n],
        ['u02', 102n],
        ['u03', 103n],
      ]);
    });

    it('does nothing when nobody is linked, asking for the list only once', async () => {
      const { poller, ports, calls } = world([]);
      const listLinkedUsers = jest.spyOn(ports, 'listLinkedUsers');

      await expect(poller.runOnce()).resolves.toEqual({ polled: 0, recorded: 0, failed: 0 });
      expect(calls).toHaveLength(0);
      expect(listLinkedUsers).toHaveBeenCalledTimes(1);
    });
  });

  describe('rate limit', () => {
    it('never makes more than callsPerMinute calls in any 60 s window', async () => {
      const callsPerMinute = 5;
      const { poller, clock, calls } = world(linkedUsers(12), { callsPerMinute });

      // Ticks every 7 s for about 5 minutes: far more often than the limit allows calls.
      for (let tick = 0; tick < 43; tick += 1) {
        await poller.runOnce();
        clock.ms += 7_000;
      }

      for (const call of calls) {
        const inWindow = calls.filter((other) => other.atMs > call.atMs - 60_000 && other.atMs <= call.atMs);
        expect(inWindow.length).toBeLessThanOrEqual(callsPerMinute);
      }
      // It also uses what it is allowed: 5 calls in each of the 5 started minutes, and then some.
      expect(calls.length).toBeGreaterThanOrEqual(25);
    });

    it('spends the whole allowance at once, then waits for the window to pass', async () => {
      const { poller, clock } = world(linkedUsers(10), { callsPerMinute: 3 });

      expect((await poller.runOnce()).polled).toBe(3);
      clock.ms += 59_999;
      expect((await poller.runOnce()).polled).toBe(0);
      clock.ms += 1;
      expect((await poller.runOnce()).polled).toBe(3);
    });

    it('pauses for Retry-After after a 429, then serves the same user first', async () => {
      const { poller, clock, calls, recorded, logs } = world(linkedUsers(6), { callsPerMinute: 100 });
      double.setRetryAfter('30');
      double.failNext('429');
      try {
        const limited = await poller.runOnce();
        expect(limited).toEqual({ polled: 1, recorded: 0, failed: 1 });
        expect(logs.some((log) => log.fields?.pauseMs === 30_000)).toBe(true);

        clock.ms += 29_000;
        expect((await poller.runOnce()).polled).toBe(0);

        clock.ms += 1_000;
        const resumed = await poller.runOnce();
        expect(resumed).toEqual({ polled: 6, recorded: 6, failed: 0 });
        expect(calls.map((call) => call.epicAccountId).slice(0, 2)).toEqual(['epic-00', 'epic-00']);
        expect(recorded[0]?.userId).toBe('u00');
      } finally {
        double.setRetryAfter('1');
      }
    });
  });

  describe('errors', () => {
    it('logs and skips users whose stats cannot be read or whose observation is rejected, and goes on', async () => {
      double.setKills('epic-ok-1', 10);
      double.setPrivate('epic-private');
      double.setKills('epic-ok-2', 20);
      double.setKills('epic-rejected', 30);
      double.setKills('epic-ok-3', 40);
      const { poller, recorded, logs, rejectFor, clock } = world(
        [
          { userId: 'u1', epicAccountId: 'epic-ok-1' },
          { userId: 'u2', epicAccountId: 'epic-unknown' },
          { userId: 'u3', epicAccountId: 'epic-private' },
          { userId: 'u4', epicAccountId: 'epic-ok-2' },
          { userId: 'u5', epicAccountId: 'epic-rejected' },
          { userId: 'u6', epicAccountId: 'epic-ok-3' },
        ],
        { callsPerMinute: 100 },
      );
      const rejection = Object.assign(new Error('observedAt is earlier than the previous observation'), {
        code: 'observed_at_before_previous',
        status: 422,
      });
      rejectFor.set('u5', rejection);
      clock.ms = 12_345;
      // The first request of the run, u1's, meets a 500.
      double.failNext('500');

      const result = await poller.runOnce();

      expect(result).toEqual({ polled: 6, recorded: 2, failed: 4 });
      expect(recorded).toEqual([
        { userId: 'u4', lifetimeKills: 20n, observedAt: new Date(epochMs + 12_345) },
        { userId: 'u6', lifetimeKills: 40n, observedAt: new Date(epochMs + 12_345) },
      ]);
      const codesByUser = Object.fromEntries(logs.map((log) => [log.fields?.userId, log.fields?.code]));
      expect(codesByUser).toEqual({
        u1: 'stats_unavailable',
        u2: 'epic_account_not_found',
        u3: 'stats_private',
        u5: 'observed_at_before_previous',
      });
      expect(JSON.stringify(logs)).not.toContain(apiKey);
    });

    it('ends the run when the API refuses our key (401), logging once, and serves the same user first at the next run', async () => {
      const { poller, ports, recorded, logs } = world(linkedUsers(4), { callsPerMinute: 100 });
      const events: string[] = [];
      ports.cursor = recordedCursor(null, events).port;
      const getLifetimeKills = ports.getLifetimeKills.bind(ports);
      const wrongKey = new FortniteStatsClient({ baseUrl: double.baseUrl, apiKey: 'wrong-key', timeoutMs: 1_000 });
      let keyFixed = false;
      ports.getLifetimeKills = (epicAccountId) => (keyFixed ? getLifetimeKills(epicAccountId) : wrongKey.getLifetimeKills(epicAccountId));
      const requestsBefore = double.requests().length;

      const refused = await poller.runOnce();

      // Every other user would meet the same 401: one call, not one per user.
      expect(double.requests().length - requestsBefore).toBe(1);
      expect(refused).toEqual({ polled: 1, recorded: 0, failed: 1 });
      expect(logs).toHaveLength(1);
      expect(logs[0]?.fields).toMatchObject({ userId: 'u00', code: 'stats_unavailable' });
      expect(JSON.stringify(logs)).not.toContain('wrong-key');
      // u00 keeps its place: the cursor is not saved past it.
      expect(events).toEqual(['load null']);

      keyFixed = true;
      expect(await poller.runOnce()).toEqual({ polled: 4, recorded: 4, failed: 0 });
      expect(recorded.map((row) => row.userId)).toEqual(['u00', 'u01', 'u02', 'u03']);
    });

    it('lets runOnce reject when the linked users cannot be listed', async () => {
      const { poller, ports } = world(linkedUsers(2));
      ports.listLinkedUsers = async () => {
        throw new Error('database unavailable');
      };

      await expect(poller.runOnce()).rejects.toThrow('database unavailable');
    });
  });

  describe('one instance at a time', () => {
    /** A turn that is this instance's while `ours` holds, and notes what was asked of it. */
    function turn(ours: () => boolean) {
      const asked = { acquired: 0, released: 0 };
      return {
        asked,
        port: {
          acquire: async () => {
            asked.acquired += 1;
            return ours();
          },
          release: async () => {
            asked.released += 1;
          },
        },
      };
    }

    it('polls nobody while another instance holds the turn, and asks again at the next run', async () => {
      const { poller, ports, calls, recorded } = world(linkedUsers(3), { callsPerMinute: 50 });
      let held = false;
      const { port } = turn(() => held);
      ports.turn = port;

      expect(await poller.runOnce()).toEqual({ polled: 0, recorded: 0, failed: 0 });
      expect(calls).toHaveLength(0);

      held = true;
      expect(await poller.runOnce()).toEqual({ polled: 3, recorded: 3, failed: 0 });
      expect(recorded.map((row) => row.userId)).toEqual(['u00', 'u01', 'u02']);
    });

    it('asks before each user, stops where the turn was lost, and goes on from there when it comes back', async () => {
      const { poller, ports, calls } = world(linkedUsers(4), { callsPerMinute: 50 });
      const { port, asked } = turn(() => asked.acquired <= 2);
      ports.turn = port;

      expect(await poller.runOnce()).toEqual({ polled: 2, recorded: 2, failed: 0 });
      asked.acquired = 0;
      expect(await poller.runOnce()).toEqual({ polled: 2, recorded: 2, failed: 0 });
      expect(calls.map((call) => call.epicAccountId)).toEqual(['epic-00', 'epic-01', 'epic-02', 'epic-03']);
    });

    it.each([
      ['a user in the middle', 'u01', ['u02', 'u03', 'u00', 'u01']],
      ['a user no longer listed, after everyone', 'zz', ['u00', 'u01', 'u02', 'u03']],
      ['none stored', null, ['u00', 'u01', 'u02', 'u03']],
    ])('reads the stored cursor once the turn is held (%s), goes round once from there, and saves it after each user', async (_case, stored, served) => {
      const { poller, ports, recorded } = world(linkedUsers(4), { callsPerMinute: 50, pageSize: 3 });
      const events: string[] = [];
      ports.turn = { acquire: async () => events.push('acquire') > 0, release: async () => undefined };
      ports.cursor = recordedCursor(stored, events).port;

      await expect(poller.runOnce()).resolves.toEqual({ polled: 4, recorded: 4, failed: 0 });
      expect(recorded.map((row) => row.userId)).toEqual(served);
      expect(events.filter((event) => event !== 'acquire')).toEqual([`load ${String(stored)}`, ...served.map((userId) => `save ${userId}`)]);
      expect(events.slice(0, 2)).toEqual(['acquire', `load ${String(stored)}`]);
    });

    it('goes on from the cursor another instance saved while it held the turn, not from its own', async () => {
      const { poller, ports, clock, recorded } = world(linkedUsers(6), { callsPerMinute: 2 });
      const events: string[] = [];
      const { cursor, port } = recordedCursor(null, events);
      ports.cursor = port;

      await poller.runOnce(); // u00, u01
      cursor.stored = 'u03'; // another instance held the turn meanwhile and served u02 and u03
      clock.ms += 60_000;
      await poller.runOnce();

      expect(recorded.map((row) => row.userId)).toEqual(['u00', 'u01', 'u04', 'u05']);
      expect(cursor.stored).toBe('u05');
    });

    it('reads no cursor while another instance holds the turn, and saves none for a user the rate limit kept', async () => {
      const { poller, ports } = world(linkedUsers(3), { callsPerMinute: 50 });
      const events: string[] = [];
      ports.cursor = recordedCursor('u00', events).port;
      ports.turn = turn(() => false).port;

      expect(await poller.runOnce()).toEqual({ polled: 0, recorded: 0, failed: 0 });
      expect(events).toEqual([]);

      ports.turn = turn(() => true).port;
      double.failNext('429');
      expect(await poller.runOnce()).toMatchObject({ polled: 1, recorded: 0 });
      expect(events).toEqual(['load u00']);
    });

    it('gives the turn up when it stops', async () => {
      const { poller, ports } = world(linkedUsers(1), { limiterClockMs: undefined });
      const { port, asked } = turn(() => true);
      ports.turn = port;

      poller.start();
      await waitFor(() => asked.acquired >= 1);
      await poller.stop();

      expect(asked.released).toBe(1);
    });
  });

  describe('start and stop', () => {
    it('runs every intervalMs, survives a failed run, and stops running after stop', async () => {
      const { poller, ports, recorded, logs } = world(linkedUsers(3), { callsPerMinute: 1_000, intervalMs: 20, limiterClockMs: undefined });
      const listLinkedUsers = ports.listLinkedUsers.bind(ports);
      let runs = 0;
      ports.listLinkedUsers = async (afterUserId, limit) => {
        runs += 1;
        if (runs === 1) throw new Error('database unavailable');
        return listLinkedUsers(afterUserId, limit);
      };
      let failedRuns = 0;
      ports.runFailed = () => {
        failedRuns += 1;
      };

      poller.start();
      await waitFor(() => recorded.length >= 6);
      await poller.stop();
      const runsAtStop = runs;
      await sleep(100);

      expect(logs.some((log) => log.message === 'stats poll run failed' && log.fields?.error === 'database unavailable')).toBe(true);
      expect(runs).toBe(runsAtStop);
      // The run that threw is a failed run; the runs after it, which recorded, are not.
      expect(failedRuns).toBe(1);
    });

    it('counts each scheduled run that a refused key (401) ended as a failed run', async () => {
      const { poller, ports, logs } = world(linkedUsers(2), { callsPerMinute: 1_000, intervalMs: 20, limiterClockMs: undefined });
      const wrongKey = new FortniteStatsClient({ baseUrl: double.baseUrl, apiKey: 'wrong-key', timeoutMs: 1_000 });
      ports.getLifetimeKills = (epicAccountId) => wrongKey.getLifetimeKills(epicAccountId);
      let failedRuns = 0;
      ports.runFailed = () => {
        failedRuns += 1;
      };
      const refusals = (): number => logs.filter((log) => log.message === 'stats API refused our API key; run ended').length;

      poller.start();
      await waitFor(() => refusals() >= 2);
      await poller.stop();

      // Every such run did nothing an operator asked for: each is a failed run, as one that threw.
      expect({ failedRuns, refusals: refusals() }).toEqual({ failedRuns: refusals(), refusals: refusals() });
      expect(failedRuns).toBeGreaterThanOrEqual(2);
    });

    it('never overlaps runs, and stop waits for the run in flight', async () => {
      const { poller, ports, recorded } = world(linkedUsers(2), { callsPerMinute: 1_000, intervalMs: 1, limiterClockMs: undefined });
      const getLifetimeKills = ports.getLifetimeKills.bind(ports);
      let inProgress = 0;
      let inProgressMax = 0;
      let release: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      ports.getLifetimeKills = async (epicAccountId) => {
        inProgress += 1;
        inProgressMax = Math.max(inProgressMax, inProgress);
        try {
          await gate;
          return await getLifetimeKills(epicAccountId);
        } finally {
          inProgress -= 1;
        }
      };

      poller.start();
      await waitFor(() => inProgress === 1);
      // Extra runs asked for while one is in flight join it instead of starting another.
      const joined = poller.runOnce();
      await sleep(30);
      let stopped = false;
      const stopping = poller.stop().then(() => {
        stopped = true;
      });
      await sleep(30);
      expect(stopped).toBe(false);

      release();
      await stopping;
      await joined;
      // Nothing is scheduled after stop, even though it came while a run was in flight.
      await sleep(50);

      expect(inProgressMax).toBe(1);
      // The user in flight is finished and recorded; the next one is not started after stop.
      expect(recorded.map((row) => row.userId)).toEqual(['u00']);
    });

    it('refuses to start twice', async () => {
      const { poller } = world([], { limiterClockMs: undefined });
      poller.start();
      try {
        expect(() => poller.start()).toThrow('already started');
      } finally {
        await poller.stop();
      }
    });
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadlineMs = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadlineMs) throw new Error('condition not met in time');
    await sleep(5);
  }
}
