import { randomBytes } from 'node:crypto';
import { FAUCET_CONFIG_BOUNDS } from '../../admin/faucet-config/faucet-config.decider';
import { DEFAULT_MILESTONES, ratePerKillRaw } from '../../rewards/economics/rate';
import { RAW_PER_BAN } from '../money';
import { loadServiceConfig } from '../../service-config';
import { startupFailureMessage } from '../runtime/startup-failure';
import { StartupRefusal } from '../runtime/startup-refusal';
import { ConfigError, liveOnlyVariablesSet, loadConfig } from './config';

describe('loadConfig: economics and treasury', () => {
  it('defaults to the SPEC §4.5 tiers and the 10,000 BAN goal', () => {
    const { economics } = loadConfig({});
    expect(economics.milestones).toBe(DEFAULT_MILESTONES);
    expect(economics.donationGoalRaw).toBe(10_000n * RAW_PER_BAN);
  });

  it('reads ECONOMICS_MILESTONES as thresholdBan:multiplier:name entries', () => {
    const { economics } = loadConfig({ ECONOMICS_MILESTONES: ' 0:1.00:Fresh Spawn ; 0.5:1.0125:Half a Banana;100:2:Big ', ECONOMICS_DONATION_GOAL_BAN: '250.5' });
    expect(economics.milestones).toEqual([
      { thresholdRaw: 0n, multiplier: '1.00', name: 'Fresh Spawn' },
      { thresholdRaw: RAW_PER_BAN / 2n, multiplier: '1.0125', name: 'Half a Banana' },
      { thresholdRaw: 100n * RAW_PER_BAN, multiplier: '2', name: 'Big' },
    ]);
    expect(economics.donationGoalRaw).toBe(2_505n * (RAW_PER_BAN / 10n));
  });

  it.each([
    ['no tier at 0', '100:1.05:First Blood'],
    ['thresholds out of order', '0:1:A;500:1.1:B;100:1.05:C'],
    ['a repeated threshold', '0:1:A;100:1.1:B;100:1.2:C'],
    ['a multiplier with 5 decimals', '0:1.00001:A'],
    ['a negative multiplier', '0:-1:A'],
    ['a missing name', '0:1.00:'],
    ['a threshold with 9 decimals', '0:1:A;0.000000001:1.1:B'],
    ['nothing but separators', ';;'],
  ])('refuses ECONOMICS_MILESTONES with %s', (_case, value) => {
    expect(() => loadConfig({ ECONOMICS_MILESTONES: value })).toThrow(ConfigError);
  });

  it.each(['0', '-1', 'ten', '1.123456789'])('refuses ECONOMICS_DONATION_GOAL_BAN=%s', (value) => {
    expect(() => loadConfig({ ECONOMICS_DONATION_GOAL_BAN: value })).toThrow(ConfigError);
  });

  it('refuses a PAYOUT_BAN_PER_KILL above the 1000 BAN an admin may set', () => {
    expect(loadConfig({ PAYOUT_BAN_PER_KILL: '1000' }).payout.banPerKillRaw).toBe(1_000n * RAW_PER_BAN);
    // 10^11 BAN is 10^40 raw: one kill at it does not fit NUMERIC(40,0), so the accrual's read model stops.
    for (const value of ['1000.00000001', '100000000000', '999999999999.99999999']) {
      expect(() => loadConfig({ PAYOUT_BAN_PER_KILL: value })).toThrow(ConfigError);
    }
  });

  it('refuses a PAYOUT_BAN_PER_KILL of 0, which an admin may not set either', () => {
    expect(loadConfig({ PAYOUT_BAN_PER_KILL: '0.00000001' }).payout.banPerKillRaw).toBe(RAW_PER_BAN / 100_000_000n);
    for (const value of ['0', '0.00000000']) {
      expect(() => loadConfig({ PAYOUT_BAN_PER_KILL: value })).toThrow(ConfigError);
    }
  });

  it('refuses a PAYOUT_MIN_OPERATOR_BALANCE_BAN above the 10^10 BAN an admin may set', () => {
    expect(loadConfig({ PAYOUT_MIN_OPERATOR_BALANCE_BAN: '10000000000' }).payout.minOperatorBalanceRaw).toBe(10_000_000_000n * RAW_PER_BAN);
    expect(loadConfig({ PAYOUT_MIN_OPERATOR_BALANCE_BAN: '0' }).payout.minOperatorBalanceRaw).toBe(0n);
    for (const value of ['10000000000.00000001', '999999999999.99999999']) {
      expect(() => loadConfig({ PAYOUT_MIN_OPERATOR_BALANCE_BAN: value })).toThrow(ConfigError);
    }
  });

  it.each([
    ['PAYOUT_DAILY_KILL_CAP', 1_000_000],
    ['PAYOUT_WEEKLY_KILL_CAP', 1_000_000],
    ['SETTLEMENT_INTERVAL_SECONDS', 604_800],
    ['SETTLEMENT_BATCH_SIZE', 1_000_000],
  ])('takes %s from 0 to %i, as an admin may set it', (name, max) => {
    expect(() => loadConfig({ [name]: '0' })).not.toThrow();
    expect(() => loadConfig({ [name]: String(max) })).not.toThrow();
    expect(() => loadConfig({ [name]: String(max + 1) })).toThrow(ConfigError);
  });

  it('refuses a milestone multiplier of 0 and takes one between 0 and 1', () => {
    // SPEC §4.5: the multiplier scales the per-kill rate; ×0 would pay nothing, a rate no tier means.
    expect(loadConfig({ ECONOMICS_MILESTONES: '0:0.5:A;1:0.0001:B' }).economics.milestones[1].multiplier).toBe('0.0001');
    for (const value of ['0:0:A', '0:1:A;1:0.0000:B', '0:000:A']) {
      expect(() => loadConfig({ ECONOMICS_MILESTONES: value })).toThrow(ConfigError);
    }
  });

  it('refuses a milestone multiplier above 4, so the largest accrual or payout fits NUMERIC(18,8) BAN', () => {
    // SPEC §2 keeps BAN in NUMERIC(18,8): below 10^10 BAN. At ×10 (the former bound), 1000 BAN per
    // kill × 2.0 × 10^6 kills (one observation, or one payout, at the largest limits) is 2 × 10^10
    // BAN: the AccrualRecorded is appended, and the accruals projection stops on it for good
    // ("numeric field overflow"). At ×4 the largest is 8 × 10^9 BAN (and 10^7 lifetime kills of one
    // account 8 × 10^39 raw, within NUMERIC(40,0)).
    expect(loadConfig({ ECONOMICS_MILESTONES: '0:1:A;1:4.0000:B' }).economics.milestones[1].multiplier).toBe('4.0000');
    for (const value of ['0:1:A;1:4.0001:B', '0:5:A', '0:10:A', '0:999.9999:A']) {
      expect(() => loadConfig({ ECONOMICS_MILESTONES: value })).toThrow(ConfigError);
    }
    const largestRate = ratePerKillRaw({ baseRaw: FAUCET_CONFIG_BOUNDS.banPerKillRawMax, milestoneMultiplier: '4.0000', sustainabilityFactor: '2.0000' });
    const largestKills = BigInt(Math.max(FAUCET_CONFIG_BOUNDS.killCapMax, 1_000_000));
    expect(largestKills * largestRate < 10n ** 10n * RAW_PER_BAN).toBe(true);
  });

  it('reads funding addresses and refuses one that is not a Banano address', () => {
    const address = 'ban_1ka1ium4pfue3uxtntqsrib8mumxgazsjf58gidh1xeo5te3whsq8z476goo';
    expect(loadConfig({ TREASURY_FUNDING_ADDRESSES: ` ${address}, ${address} ` }).treasury.fundingAddresses).toEqual([address]);
    expect(() => loadConfig({ TREASURY_FUNDING_ADDRESSES: 'ban_nope' })).toThrow(ConfigError);
  });
});

describe('loadConfig: the wait after a refused payout attempt', () => {
  it('takes a first wait up to the longest, which may equal it', () => {
    expect(loadConfig({}).payout).toMatchObject({ retryBackoffMs: 30_000, retryBackoffMaxMs: 3_600_000 });
    expect(loadConfig({ PAYOUT_RETRY_BACKOFF_SECONDS: '60', PAYOUT_RETRY_BACKOFF_MAX_SECONDS: '60' }).payout).toMatchObject({ retryBackoffMs: 60_000, retryBackoffMaxMs: 60_000 });
    expect(loadConfig({ PAYOUT_RETRY_BACKOFF_SECONDS: '0', PAYOUT_RETRY_BACKOFF_MAX_SECONDS: '0' }).payout.retryBackoffMs).toBe(0);
  });

  it.each([
    [{ PAYOUT_RETRY_BACKOFF_SECONDS: '120', PAYOUT_RETRY_BACKOFF_MAX_SECONDS: '60' }, 'PAYOUT_RETRY_BACKOFF_SECONDS (120) is above PAYOUT_RETRY_BACKOFF_MAX_SECONDS (60)', 60],
    // A default is above the other just as much.
    [{ PAYOUT_RETRY_BACKOFF_MAX_SECONDS: '10' }, 'PAYOUT_RETRY_BACKOFF_SECONDS (30, its default) is above PAYOUT_RETRY_BACKOFF_MAX_SECONDS (10)', 10],
    [{ PAYOUT_RETRY_BACKOFF_SECONDS: '7200' }, 'PAYOUT_RETRY_BACKOFF_SECONDS (7200) is above PAYOUT_RETRY_BACKOFF_MAX_SECONDS (3600, its default)', 3600],
  ])('refuses a first wait above the longest, which used to cap it without a word (%j)', (env, pair, max) => {
    expect(() => loadConfig(env)).toThrow(new ConfigError(`${pair}: every wait would be ${max} s. Lower the first, or raise the longest`));
  });

  it('names only the bad variable when one of the two cannot be read', () => {
    expect(() => loadConfig({ PAYOUT_RETRY_BACKOFF_SECONDS: '90000', PAYOUT_RETRY_BACKOFF_MAX_SECONDS: '10' })).toThrow(
      new ConfigError('PAYOUT_RETRY_BACKOFF_SECONDS must be between 0 and 86400 (got 90000)'),
    );
  });
});

describe('loadConfig: the landing window of a copy in doubt', () => {
  it('defaults to five minutes and reads BANANO_LANDING_WINDOW_SECONDS', () => {
    expect(loadConfig({}).banano.landingWindowMs).toBe(300_000);
    expect(loadConfig({ BANANO_LANDING_WINDOW_SECONDS: '5' }).banano.landingWindowMs).toBe(5_000);
  });

  it.each(['4', '0', '86401', 'soon'])('refuses BANANO_LANDING_WINDOW_SECONDS=%s', (value) => {
    expect(() => loadConfig({ BANANO_LANDING_WINDOW_SECONDS: value })).toThrow(ConfigError);
  });
});

describe('loadConfig: the Banano node', () => {
  function problemsOf(env: Readonly<Record<string, string | undefined>>): readonly string[] {
    try {
      loadConfig(env);
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
    return [];
  }

  it('refuses BANANO_RPC_AUTH without BANANO_RPC_URL, naming both and never quoting the header', () => {
    // A misspelt BANANO_RPC_URL used to leave the service in dry-run, the header quietly unused.
    for (const env of [{ BANANO_RPC_AUTH: 'Bearer hunter2' }, { BANANO_RPC_AUTH: 'Bearer hunter2', BANANO_RPC_URL: '  ', BANANO_RCP_URL: 'http://node' }]) {
      const problems = problemsOf(env);
      expect(problems).toEqual(['BANANO_RPC_AUTH is set but BANANO_RPC_URL is not, so payouts would run dry and the header go unused: set BANANO_RPC_URL, or unset BANANO_RPC_AUTH (not shown)']);
      expect(problems.join(' ')).not.toContain('hunter2');
    }
    expect(loadConfig({ BANANO_RPC_AUTH: 'Bearer hunter2', BANANO_RPC_URL: 'http://node:7072' }).banano).toMatchObject({ rpcUrl: 'http://node:7072', rpcAuthHeader: 'Bearer hunter2' });
  });

  it('names the live-only variables a dry run leaves unused, for a warning', () => {
    const funding = 'ban_1sjkhzzeuhup4u9fbd9f77k9puwfbaadymfjnjgbtmiuchqqnmodbwrsnhn9';
    const set = { BANANO_RPC_TIMEOUT_MS: '5000', BANANO_LANDING_WINDOW_SECONDS: '60', TREASURY_INGEST_INTERVAL_MS: '1000', TREASURY_FUNDING_ADDRESSES: funding };
    expect(liveOnlyVariablesSet(set)).toEqual(['BANANO_RPC_TIMEOUT_MS', 'BANANO_LANDING_WINDOW_SECONDS', 'TREASURY_INGEST_INTERVAL_MS', 'TREASURY_FUNDING_ADDRESSES']);
    // Read in a dry run too: the seed file for the operator seed's status, the dry run's balance.
    expect(liveOnlyVariablesSet({ BANANO_OPERATOR_SEED_FILE: '/run/seed', BANANO_DRY_RUN_BALANCE_BAN: '5' })).toEqual([]);
    expect(liveOnlyVariablesSet({ ...set, BANANO_RPC_URL: 'http://node:7072' })).toEqual([]);
    expect(liveOnlyVariablesSet({})).toEqual([]);
  });

  it('keeps BANANO_RPC_URL as written: it is posted to as it is, and a proxy may tell /rpc/ from /rpc', () => {
    const url = (value: string): string | null => loadConfig({ BANANO_RPC_URL: value }).banano.rpcUrl;
    expect(url('http://node:7072/rpc/')).toBe('http://node:7072/rpc/');
    expect(url('http://node:7072')).toBe('http://node:7072');
    // The slashes of a query value are the key's, not the path's.
    expect(url('http://node/?key=a//')).toBe('http://node/?key=a//');
    expect(url('http://node/rpc/?key=a/')).toBe('http://node/rpc/?key=a/');
    expect(url('http://node/#/')).toBe('http://node/#/');
  });

  it('strips the trailing slashes of a base URL that paths are appended to', () => {
    expect(loadConfig({ FORTNITE_STATS_API_KEY: 'k', FORTNITE_STATS_BASE_URL: 'https://stats.example/api//' }).fortniteStats?.baseUrl).toBe('https://stats.example/api');
  });
});

describe('loadConfig: NODE_ENV', () => {
  it.each(['Production', 'PRODUCTION', 'prod', 'Prod', 'Test', 'dev'])('refuses NODE_ENV=%j, which reads as production but is not the word that turns its rules on', (value) => {
    // Taken as "not production", it let a service start with a master key generated beside its data.
    expect(() => loadConfig({ NODE_ENV: value })).toThrow(new ConfigError(`NODE_ENV must be written production, development or test, in lower case, when it means one of them (got ${JSON.stringify(value)})`));
  });

  it.each(['production', ' production', 'development', 'test', 'staging', 'ci'])('takes NODE_ENV=%j', (value) => {
    expect(loadConfig({ NODE_ENV: value }).secureConfig.production).toBe(value.trim() === 'production');
  });
});

describe('loadConfig: LEDGER_FAILPOINTS, the crash tests\' hook', () => {
  it.each(['x@0', 'x@', '@2', 'x@1.5', 'x@2x', 'x@1@2', 'x@-1'])('refuses LEDGER_FAILPOINTS=%s at start-up', (value) => {
    expect(() => loadConfig({ LEDGER_FAILPOINTS: value })).toThrow(new ConfigError(`LEDGER_FAILPOINTS must be a comma list of name or name@n, n from 1 (got ${value})`));
  });

  it('takes a comma list of name and name@n', () => {
    expect(() => loadConfig({ LEDGER_FAILPOINTS: ' a, b@3 ,' })).not.toThrow();
  });

  it('is not read when its module is loaded, where a bad value would end the process with a stack trace', () => {
    const before = process.env.LEDGER_FAILPOINTS;
    process.env.LEDGER_FAILPOINTS = 'x@0';
    try {
      jest.isolateModules(() => {
        expect(() => require('../runtime/failpoint') as unknown).not.toThrow();
      });
    } finally {
      if (before === undefined) delete process.env.LEDGER_FAILPOINTS;
      else process.env.LEDGER_FAILPOINTS = before;
    }
  });
});

describe('loadConfig: the Fortnite stats API', () => {
  it.each([
    ['FORTNITE_STATS_BASE_URL', 'stats.example'],
    ['FORTNITE_STATS_TIMEOUT_MS', '1'],
    ['STATS_POLL_CALLS_PER_MINUTE', 'many'],
    ['STATS_POLL_INTERVAL_SECONDS', '0'],
  ])('refuses a bad %s even without FORTNITE_STATS_API_KEY', (name, value) => {
    // It used to be ignored until the key was set, and refused only then.
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(loadConfig({}).fortniteStats).toBeNull();
  });
});

describe('loadConfig: the time a request may take to arrive', () => {
  it('defaults to a minute and reads HTTP_REQUEST_TIMEOUT_SECONDS', () => {
    expect(loadConfig({}).http.requestTimeoutMs).toBe(60_000);
    expect(loadConfig({ HTTP_REQUEST_TIMEOUT_SECONDS: '2' }).http.requestTimeoutMs).toBe(2_000);
  });

  it.each(['0', '3601', '1.5', 'never'])('refuses HTTP_REQUEST_TIMEOUT_SECONDS=%s', (value) => {
    expect(() => loadConfig({ HTTP_REQUEST_TIMEOUT_SECONDS: value })).toThrow(ConfigError);
  });
});

describe('loadConfig: how long a projector batch may sit idle', () => {
  it('defaults to 30 seconds and reads PROJECTOR_BATCH_IDLE_TIMEOUT_SECONDS', () => {
    expect(loadConfig({}).projector.batchIdleTimeoutMs).toBe(30_000);
    expect(loadConfig({ PROJECTOR_BATCH_IDLE_TIMEOUT_SECONDS: '2' }).projector.batchIdleTimeoutMs).toBe(2_000);
  });

  it.each(['0', '3601', '1.5', 'never'])('refuses PROJECTOR_BATCH_IDLE_TIMEOUT_SECONDS=%s', (value) => {
    expect(() => loadConfig({ PROJECTOR_BATCH_IDLE_TIMEOUT_SECONDS: value })).toThrow(ConfigError);
  });
});

describe('loadConfig: the operator seed file', () => {
  it('refuses the seed itself in BANANO_OPERATOR_SEED_FILE, and never quotes it', () => {
    const seed = randomBytes(32).toString('hex');
    // Bare, with 0x, and as an env file may leave it: in quotes, or followed by a comment.
    for (const value of [seed, seed.toUpperCase(), ` 0x${seed}\n`, `0X${seed}`, `"${seed}"`, `'${seed}'`, `${seed} # operator seed`, `${seed}#`]) {
      let problems: readonly string[] = [];
      try {
        loadConfig({ BANANO_OPERATOR_SEED_FILE: value });
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        problems = error.problems;
      }
      expect(problems).toEqual(['BANANO_OPERATOR_SEED_FILE must name a file that holds the seed, and looks like the seed itself (not shown)']);
      expect(problems.join('').toLowerCase()).not.toContain(seed.slice(0, 16));
    }
  });

  it('takes a path, even one named in hexadecimal', () => {
    const path = `/run/secrets/${'a'.repeat(64)}`;
    expect(loadConfig({ BANANO_OPERATOR_SEED_FILE: path }).banano.operatorSeedFile).toBe(path);
  });
});

describe('loadConfig: rate limits', () => {
  it('defaults to 6000 requests a minute per key and 600 per IP, in one-minute windows, trusting no proxy', () => {
    expect(loadConfig({}).rateLimit).toEqual({ keyPerMinute: 6_000, ipPerMinute: 600, windowSeconds: 60, trustProxy: false });
  });

  it('reads the limits, 0 switching one off, and a proxy hop count or address list', () => {
    const env = { RATE_LIMIT_KEY_PER_MINUTE: '0', RATE_LIMIT_IP_PER_MINUTE: '120000', RATE_LIMIT_WINDOW_SECONDS: '1' };
    expect(loadConfig({ ...env, HTTP_TRUST_PROXY: '2' }).rateLimit).toEqual({ keyPerMinute: 0, ipPerMinute: 120_000, windowSeconds: 1, trustProxy: 2 });
    expect(loadConfig({ HTTP_TRUST_PROXY: ' 10.0.0.1, 10.0.0.0/8 ,::1, 10.0.0.1' }).rateLimit.trustProxy).toEqual(['10.0.0.1', '10.0.0.0/8', '::1']);
    expect(loadConfig({ HTTP_TRUST_PROXY: 'false' }).rateLimit.trustProxy).toBe(false);
  });

  it.each([
    ['RATE_LIMIT_KEY_PER_MINUTE', '-1'],
    ['RATE_LIMIT_IP_PER_MINUTE', 'lots'],
    ['RATE_LIMIT_WINDOW_SECONDS', '0'],
    ['RATE_LIMIT_WINDOW_SECONDS', '3601'],
    ['HTTP_TRUST_PROXY', 'true'],
    ['HTTP_TRUST_PROXY', '0'],
    ['HTTP_TRUST_PROXY', '11'],
    ['HTTP_TRUST_PROXY', '10.0.0.0/33'],
    ['HTTP_TRUST_PROXY', 'proxy.example'],
  ])('refuses %s=%s', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
  });
});

describe('a misconfigured environment', () => {
  function problemsOf(load: () => unknown): readonly string[] {
    try {
      load();
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
    throw new Error('the environment was expected to be refused');
  }

  it('names every bad variable at once, not only the first', () => {
    const problems = problemsOf(() =>
      loadConfig({ PORT: 'eighty', PAYOUT_BAN_PER_KILL: '0.123456789', LOG_LEVEL: 'loud', FORTNITE_STATS_API_KEY: 'k', FORTNITE_STATS_TIMEOUT_MS: '1', STATS_POLL_INTERVAL_SECONDS: '0' }),
    );

    expect(problems).toEqual([
      'LOG_LEVEL must be one of debug, info, warn, error, silent (got loud)',
      expect.stringMatching(/^PORT /) as string,
      expect.stringMatching(/^PAYOUT_BAN_PER_KILL /) as string,
      expect.stringMatching(/^FORTNITE_STATS_TIMEOUT_MS /) as string,
      expect.stringMatching(/^STATS_POLL_INTERVAL_SECONDS /) as string,
    ]);
  });

  it('never quotes a refused URL that may hold a password or a key, nor a DATABASE_URL', () => {
    const problems = problemsOf(() =>
      loadServiceConfig({
        BANANO_RPC_URL: 'ftp://node:hunter2@rpc.example',
        FORTNITE_STATS_BASE_URL: 'stats.example/v2?apikey=hunter2',
        YUNITE_BASE_URL: 'yunite',
        DATABASE_URL: 'ledger:hunter2@db/ledger',
        FORTNITE_STATS_API_KEY: 'k',
        YUNITE_API_KEY: 'k',
        YUNITE_GUILD_ID: '123456789012345678',
      }),
    );

    expect(problems).toEqual([
      'DATABASE_URL must be a postgres://user:password@host:port/database URL (not shown: it may hold a password)',
      'BANANO_RPC_URL must be an absolute http(s) URL (not shown: it may hold a password or a key)',
      'FORTNITE_STATS_BASE_URL must be an absolute http(s) URL (not shown: it may hold a password or a key)',
      // One without an @ or a query is quoted, to help whoever typed it.
      'YUNITE_BASE_URL must be an absolute http(s) URL (got yunite)',
    ]);
  });

  it('refuses an outbound URL carrying a user name or password, and never quotes the password', () => {
    // fetch refuses such a URL on every call, and its error quotes the whole URL, password and all.
    const problems = problemsOf(() =>
      loadServiceConfig({
        BANANO_RPC_URL: 'https://node:hunter2@rpc.example/',
        FORTNITE_STATS_BASE_URL: 'https://:hunter2@stats.example',
        FORTNITE_STATS_API_KEY: 'k',
        YUNITE_BASE_URL: 'https://bot@yunite.example/api',
        YUNITE_API_KEY: 'k',
        YUNITE_GUILD_ID: '123456789012345678',
      }),
    );

    expect(problems).toEqual([
      'BANANO_RPC_URL must not carry a user name or password (not shown); send credentials with BANANO_RPC_AUTH',
      'FORTNITE_STATS_BASE_URL must not carry a user name or password (not shown)',
      'YUNITE_BASE_URL must not carry a user name or password (not shown)',
    ]);
    expect(problems.join(' ')).not.toContain('hunter2');
  });

  it('refuses port 0 in every URL, which WHATWG URL takes and nothing listens on', () => {
    const problems = problemsOf(() =>
      loadServiceConfig({
        DATABASE_URL: 'postgres://ledger:hunter2@db:0/ledger',
        BANANO_RPC_URL: 'http://node:0',
        BANANO_EXPLORER_BLOCK_URL: 'https://explorer.example:0/hash/',
        PRODUCT_BANNER_URL: 'https://cdn.example:00/banner.png',
        FORTNITE_STATS_BASE_URL: 'https://stats.example:0/api?key=hunter2',
        YUNITE_BASE_URL: 'https://yunite.example:0',
        YUNITE_API_KEY: 'k',
        YUNITE_GUILD_ID: '123456789012345678',
      }),
    );

    expect(problems).toEqual([
      'DATABASE_URL must name a port from 1 to 65535, or none (not shown: it may hold a password)',
      'BANANO_RPC_URL must name a port from 1 to 65535, or none (got http://node:0)',
      'BANANO_EXPLORER_BLOCK_URL must name a port from 1 to 65535, or none (got https://explorer.example:0/hash/)',
      'PRODUCT_BANNER_URL must name a port from 1 to 65535, or none (got https://cdn.example:00/banner.png)',
      'FORTNITE_STATS_BASE_URL must name a port from 1 to 65535, or none (not shown: it may hold a password or a key)',
      'YUNITE_BASE_URL must name a port from 1 to 65535, or none (got https://yunite.example:0)',
    ]);
  });

  it('refuses a port past 65535 or not a number in every URL, as WHATWG URL does, and takes 1 to 65535', () => {
    const names = ['BANANO_RPC_URL', 'BANANO_EXPLORER_BLOCK_URL', 'PRODUCT_BANNER_URL', 'FORTNITE_STATS_BASE_URL'];
    for (const port of ['65536', '99999', 'abc', '-1']) {
      const problems = problemsOf(() => loadServiceConfig({ ...Object.fromEntries(names.map((name) => [name, `https://host.example:${port}/`])), DATABASE_URL: `postgres://db:${port}/ledger` }));
      expect(problems.map((problem) => /^[A-Z_]+/.exec(problem)?.[0])).toEqual(['DATABASE_URL', ...names]);
    }
    for (const port of ['1', '65535']) {
      const config = loadServiceConfig({ ...Object.fromEntries(names.map((name) => [name, `https://host.example:${port}/`])), DATABASE_URL: `postgres://db:${port}/ledger`, FORTNITE_STATS_API_KEY: 'k' });
      expect([config.databaseUrl, config.banano.rpcUrl, config.banano.explorerBlockUrl, config.product.bannerUrl, config.fortniteStats?.baseUrl]).toEqual([
        `postgres://db:${port}/ledger`,
        ...names.slice(0, 3).map(() => `https://host.example:${port}/`),
        `https://host.example:${port}`,
      ]);
    }
  });

  it('refuses a query or fragment in a base URL that a path is appended to, without quoting it', () => {
    // `${base}/v2/stats/...` after `?key=...` would put the path into the query of every request.
    const problems = problemsOf(() =>
      loadServiceConfig({
        FORTNITE_STATS_BASE_URL: 'https://stats.example/api?key=hunter2',
        FORTNITE_STATS_API_KEY: 'k',
        YUNITE_BASE_URL: 'https://yunite.example/api#hunter2',
        YUNITE_API_KEY: 'k',
        YUNITE_GUILD_ID: '123456789012345678',
      }),
    );

    expect(problems).toEqual([
      'FORTNITE_STATS_BASE_URL must not end in a query or a fragment, since paths are appended to it (not shown)',
      'YUNITE_BASE_URL must not end in a query or a fragment, since paths are appended to it (not shown)',
    ]);
    // The node's URL is posted to as written, so a query there is kept.
    expect(loadServiceConfig({ BANANO_RPC_URL: 'https://rpc.example/?token=abc' }).banano.rpcUrl).toBe('https://rpc.example/?token=abc');
  });

  it('includes the integrations and the production master key rule in the same list', () => {
    const problems = problemsOf(() =>
      loadServiceConfig({ NODE_ENV: 'production', YUNITE_API_KEY: 'k', YUNITE_GUILD_ID: 'guild', YUNITE_TIMEOUT_MS: '0', YUNITE_REVERIFY_USERS_PER_RUN: '0', PORT: '-1' }),
    );

    expect(problems.map((problem) => /^[A-Z_]+/.exec(problem)?.[0])).toEqual([
      'PORT',
      'YUNITE_GUILD_ID',
      'YUNITE_TIMEOUT_MS',
      'YUNITE_REVERIFY_USERS_PER_RUN',
      'LEDGER_MASTER_KEY',
    ]);
  });

  it('is told as a list without a stack trace', () => {
    const message = startupFailureMessage('Pay2Slay Ledger', new ConfigError(['PORT must be a whole number (got x)', 'LOG_LEVEL must be one of …']));

    expect(message).toBe(
      'Pay2Slay Ledger cannot start: the environment is misconfigured.\n  - PORT must be a whole number (got x)\n  - LOG_LEVEL must be one of …\nSee .env.example for every variable.\n',
    );
  });

  it('tells a refusal by its message alone, and anything unforeseen with its stack', () => {
    const refusal = startupFailureMessage('Pay2Slay Ledger', new StartupRefusal('Another process (pid 7) is using the embedded database in .data. Stop it first.'));
    const unforeseen = startupFailureMessage('Pay2Slay Ledger', new TypeError('x is undefined'));

    expect(refusal).toBe('Pay2Slay Ledger cannot start: Another process (pid 7) is using the embedded database in .data. Stop it first.\n');
    expect(unforeseen).toMatch(/^Pay2Slay Ledger failed to start: TypeError: x is undefined\n {4}at /);
  });
});

describe('loadConfig: the EventStoreDB connection string', () => {
  function refusal(value: string): readonly string[] {
    try {
      loadConfig({ EVENTSTORE_CONNECTION_STRING: value });
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
    throw new Error('the environment was expected to be refused');
  }

  let warn: jest.SpyInstance;
  beforeEach(() => {
    warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => warn.mockRestore());

  it('takes one the EventStoreDB client reads without a warning', () => {
    const value = 'esdb://admin:hunter2@127.0.0.1:2113?tls=false&nodePreference=leader';
    expect(loadConfig({ EVENTSTORE_CONNECTION_STRING: value }).eventStoreConnectionString).toBe(value);
    expect(warn).not.toHaveBeenCalled();
  });

  it.each([
    'esdb://127.0.0.1',
    'esdb://127.0.0.1:1/',
    'esdb://admin:hunter2@127.0.0.1:65535/?tls=false',
    'esdb://admin:hunter2@node1:2113,node2:2114,node3?nodePreference=follower',
    'esdb+discover://admin:hunter2@cluster.example:2113',
  ])('takes %s: every host\'s port from 1 to 65535, or none (2113)', (value) => {
    expect(loadConfig({ EVENTSTORE_CONNECTION_STRING: value }).eventStoreConnectionString).toBe(value);
  });

  it.each([
    ['99999', 'esdb://admin:hunter2@host:99999', 1],
    ['0', 'esdb://admin:hunter2@host:0?tls=false', 1],
    ['65536, in the last of three hosts', 'esdb://admin:hunter2@node1:2113,node2:2113,node3:65536', 3],
    ['0, in the second of three hosts', 'esdb://node1,node2:0,node3', 2],
    ['0, for DNS discovery', 'esdb+discover://admin:hunter2@cluster.example:0', 1],
    // The client reads a port with parseInt, which takes what comes before the first non-digit.
    ['21x3', 'esdb://admin:hunter2@host:21x3', 1],
    ['-1', 'esdb://admin:hunter2@host:-1', 1],
  ])('refuses a port of %s, which the client reads without a word, quoting no password', (_case, value, host) => {
    const problems = refusal(value);

    expect(problems).toEqual([
      `EVENTSTORE_CONNECTION_STRING must give each host a port from 1 to 65535, or none for 2113, and its host ${host} has another (not shown: it may hold a password)`,
    ]);
    expect(JSON.stringify(warn.mock.calls)).not.toContain('hunter2');
  });

  it.each([
    ['another scheme', 'postgres://admin:hunter2@db:5432/ledger', /must be an esdb:\/\/ or esdb\+discover:\/\/ connection string/],
    ['a port that is not a number', 'esdb://admin:hunter2@host:abc', /port number/],
    ['a setting that is not true or false', 'esdb://admin:hunter2@host:2113?tls=hunter2', /true or false/],
    // The client ignores both with a warning on the console that quotes the whole string.
    ['an option the client does not know', 'esdb://admin:hunter2@host:2113?tsl=false', /an option the EventStoreDB client does not know, "tsl", and would ignore/],
    ['tlsVerifyCert=false, which the client ignores', 'esdb://admin:hunter2@host:2113?tls=true&tlsVerifyCert=false', /tlsVerifyCert/],
    // The client's parser throws a URIError for it, which ended the start-up with a stack trace.
    ['a malformed percent-escape', 'esdb://admin:hunter2@host:2113?connectionName=%zz', /malformed percent-escape/],
  ])('refuses %s at start-up, quoting no password', (_case, value, message) => {
    const problems = refusal(value);

    expect(problems).toEqual([expect.stringMatching(message) as string]);
    expect(problems[0]).toMatch(/^EVENTSTORE_CONNECTION_STRING /);
    expect(problems[0]).not.toContain('hunter2');
    expect(JSON.stringify(warn.mock.calls)).not.toContain('hunter2');
  });
});

describe('loadConfig: the HTTP interface', () => {
  it('takes an IP address or a host name', () => {
    for (const host of ['127.0.0.1', '0.0.0.0', '::', '::1', 'localhost', 'api-1.internal.example']) {
      expect(loadConfig({ HOST: host }).host).toBe(host);
    }
  });

  // Each of these was found only by listen(), after the migrations and the projector had started.
  it.each(['localhost:3000', 'http://0.0.0.0', '10.0.0.1/8', 'my host', '-bad.example', 'a..b'])('refuses HOST=%s', (value) => {
    expect(() => loadConfig({ HOST: value })).toThrow(/^HOST must be an IP address or a host name/);
  });
});

describe('loadConfig: logs', () => {
  it('formats logs as the terminal suits unless told, and refuses a format it does not know', () => {
    expect(loadConfig({}).logFormat).toBe('auto');
    expect(loadConfig({ LOG_FORMAT: 'pretty' }).logFormat).toBe('pretty');
    expect(() => loadConfig({ LOG_FORMAT: 'fancy' })).toThrow('LOG_FORMAT must be json, pretty or auto (got fancy)');
  });
});
