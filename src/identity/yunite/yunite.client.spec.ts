import { startYuniteDouble, type YuniteDouble } from '../../../test/doubles/yunite.double';
import { ConfigError } from '../../platform/config/config';
import {
  YuniteAuthError,
  YuniteClient,
  yuniteConfigFromEnv,
  YuniteRateLimitedError,
  YuniteUnavailableError,
} from './yunite.client';

const apiKey = 'test-yunite-token-3f1c0b7e';
const guildId = '401234567890123456';
const player = '300000000000000001';
const epicId = '89400e04ab8540bbb746a8c1e3f4dc0c';

describe('YuniteClient against the Yunite double', () => {
  let yunite: YuniteDouble;

  beforeEach(async () => {
    yunite = await startYuniteDouble({ apiKey, guildId });
  });

  afterEach(async () => {
    await yunite.close();
  });

  function client(overrides: { apiKey?: string; guildId?: string; timeoutMs?: number; baseUrl?: string } = {}): YuniteClient {
    return new YuniteClient({ baseUrl: yunite.baseUrl, apiKey, guildId, timeoutMs: 2_000, ...overrides });
  }

  /** Runs the lookup and hands back what it threw, so each test can look at the error itself. */
  async function failureOf(lookup: Promise<unknown>): Promise<Error> {
    try {
      await lookup;
    } catch (error) {
      expect(error).toBeInstanceOf(Error);
      // Whatever went wrong, the token must not leak into what gets logged or answered.
      expect(JSON.stringify({ message: (error as Error).message, ...(error as object) })).not.toContain(apiKey);
      return error as Error;
    }
    throw new Error('expected the lookup to fail');
  }

  it('given a linked player, when looked up, then answers their Epic id and display name', async () => {
    yunite.link(player, epicId, 'MonkeSlayer');

    await expect(client().lookupEpicAccount(player)).resolves.toEqual({
      kind: 'linked',
      epicAccountId: epicId,
      epicDisplayName: 'MonkeSlayer',
    });
    expect(yunite.requests()).toEqual([{ discordIds: [player], at: expect.any(Number) }]);
  });

  it('given a link without an Epic name, when looked up, then the display name is null', async () => {
    yunite.link(player, epicId);

    await expect(client().lookupEpicAccount(player)).resolves.toEqual({
      kind: 'linked',
      epicAccountId: epicId,
      epicDisplayName: null,
    });
  });

  it('given an Epic id in upper case, when looked up, then answers it in lower case, as the integration links it', async () => {
    yunite.link(player, epicId.toUpperCase());

    await expect(client().lookupEpicAccount(player)).resolves.toMatchObject({ kind: 'linked', epicAccountId: epicId });
  });

  it.each([
    ['holds a NUL byte', `${epicId.slice(0, 31)}\u0000`],
    ['is a path', 'not an epic id / ../x'],
    ['is 31 hex characters', epicId.slice(1)],
    ['is 33 hex characters', `${epicId}0`],
  ])('given an Epic id that %s, when looked up, then fails as unavailable: nothing is linked', async (_case, epicID) => {
    yunite.link(player, epicID);

    const error = await failureOf(client().lookupEpicAccount(player));
    expect(error).toBeInstanceOf(YuniteUnavailableError);
  });

  it('given a guild member without a link, when looked up, then answers not linked', async () => {
    yunite.link(player, epicId, 'MonkeSlayer');
    yunite.unlink(player);

    await expect(client().lookupEpicAccount(player)).resolves.toEqual({ kind: 'not_linked' });
  });

  it('given a Discord id Yunite has never seen, when looked up, then answers not linked', async () => {
    yunite.link('300000000000000002', epicId, 'SomeoneElse');

    await expect(client().lookupEpicAccount(player)).resolves.toEqual({ kind: 'not_linked' });
  });

  it('given Yunite never answers, when looked up, then fails as unavailable once timeoutMs has passed', async () => {
    yunite.failNext('timeout');
    const timeoutMs = 300;
    const startedAt = Date.now();

    const error = await failureOf(client({ timeoutMs }).lookupEpicAccount(player));

    const elapsedMs = Date.now() - startedAt;
    expect(error).toBeInstanceOf(YuniteUnavailableError);
    expect(error).toMatchObject({ code: 'yunite_unavailable', httpStatus: null });
    expect(error.message).toContain(`${timeoutMs} ms`);
    expect(elapsedMs).toBeGreaterThanOrEqual(timeoutMs - 20);
    expect(elapsedMs).toBeLessThan(timeoutMs + 1_000);
  });

  it('given Yunite answers 429 with Retry-After in seconds, when looked up, then fails as rate-limited with the wait in ms', async () => {
    yunite.failNext('429', 1, '7');

    const error = await failureOf(client().lookupEpicAccount(player));

    expect(error).toBeInstanceOf(YuniteRateLimitedError);
    expect(error).toMatchObject({ code: 'yunite_rate_limited', retryAfterMs: 7_000 });
  });

  it('given Yunite answers 429 without Retry-After, when looked up, then the wait is unknown', async () => {
    yunite.failNext('429', 1, null);

    const error = await failureOf(client().lookupEpicAccount(player));

    expect(error).toMatchObject({ code: 'yunite_rate_limited', retryAfterMs: null });
  });

  it('given Yunite answers 500, when looked up, then fails as unavailable with the status', async () => {
    yunite.failNext('500');

    const error = await failureOf(client().lookupEpicAccount(player));

    expect(error).toBeInstanceOf(YuniteUnavailableError);
    expect(error).toMatchObject({ code: 'yunite_unavailable', httpStatus: 500 });
  });

  it('given Yunite drops the connection, when looked up, then fails as unavailable', async () => {
    yunite.failNext('drop');

    const error = await failureOf(client().lookupEpicAccount(player));

    expect(error).toBeInstanceOf(YuniteUnavailableError);
    expect(error).toMatchObject({ code: 'yunite_unavailable', httpStatus: null });
  });

  it('given Yunite answers 200 with cut-off JSON, when looked up, then fails as unavailable', async () => {
    yunite.failNext('malformed');

    const error = await failureOf(client().lookupEpicAccount(player));

    expect(error).toBeInstanceOf(YuniteUnavailableError);
    expect(error.message).toContain('not JSON');
  });

  it('given a wrong API key, when looked up, then fails as unauthorized without naming the key', async () => {
    const error = await failureOf(client({ apiKey: 'not-the-right-token' }).lookupEpicAccount(player));

    expect(error).toBeInstanceOf(YuniteAuthError);
    expect(error).toMatchObject({ code: 'yunite_unauthorized', httpStatus: 401 });
    expect(error.message).not.toContain('not-the-right-token');
  });

  it('given a guild the key is not for, when looked up, then fails as unauthorized', async () => {
    const error = await failureOf(client({ guildId: '409999999999999999' }).lookupEpicAccount(player));

    expect(error).toBeInstanceOf(YuniteAuthError);
    expect(error).toMatchObject({ code: 'yunite_unauthorized', httpStatus: 403 });
  });

  it('given a base URL without the /api prefix, when looked up, then fails as unavailable with 404', async () => {
    const error = await failureOf(client({ baseUrl: yunite.baseUrl.replace(/\/api$/, '') }).lookupEpicAccount(player));

    expect(error).toBeInstanceOf(YuniteUnavailableError);
    expect(error).toMatchObject({ code: 'yunite_unavailable', httpStatus: 404 });
  });

  it('given one failure, when looked up again, then the next answer is normal', async () => {
    yunite.link(player, epicId, 'MonkeSlayer');
    yunite.failNext('500');

    await failureOf(client().lookupEpicAccount(player));
    await expect(client().lookupEpicAccount(player)).resolves.toMatchObject({ kind: 'linked' });
    expect(yunite.requests()).toHaveLength(2);
  });
});

describe('YuniteClient against a server that breaks the contract', () => {
  const linkOf = (epicID: string): unknown => ({ discord: { id: player }, epic: { epicID, epicName: 'p' } });

  it.each([
    ['does not mention the asked id', { users: [], notLinked: [], notFound: [] }],
    ['links the asked id to two Epic accounts', { users: [linkOf(epicId), linkOf('0'.repeat(32))], notLinked: [], notFound: [] }],
    ['says the asked id is linked and not linked', { users: [linkOf(epicId)], notLinked: [player], notFound: [] }],
    ['says the asked id is linked and not in the guild', { users: [linkOf(epicId)], notLinked: [], notFound: [player] }],
  ])('given an answer that %s, when looked up, then fails as unavailable rather than picking one', async (_case, answer) => {
    const { createServer } = await import('node:http');
    const server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      const client = new YuniteClient({ baseUrl: `http://127.0.0.1:${port}/api`, apiKey, guildId, timeoutMs: 2_000 });

      await expect(client.lookupEpicAccount(player)).rejects.toMatchObject({ code: 'yunite_unavailable' });
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('yuniteConfigFromEnv', () => {
  it('is off when neither the key nor the guild is set', () => {
    expect(yuniteConfigFromEnv({})).toBeNull();
    expect(yuniteConfigFromEnv({ YUNITE_API_KEY: ' ', YUNITE_GUILD_ID: '' })).toBeNull();
  });

  it('refuses one of the key and the guild without the other, never quoting the key', () => {
    // Set alone (the other misspelt), it used to leave Yunite off without a word.
    expect(() => yuniteConfigFromEnv({ YUNITE_API_KEY: apiKey })).toThrow(
      new ConfigError('YUNITE_API_KEY is set but YUNITE_GUILD_ID is not: Yunite needs both (set YUNITE_GUILD_ID, or unset YUNITE_API_KEY)'),
    );
    expect(() => yuniteConfigFromEnv({ YUNITE_GUILD_ID: guildId, YUNITE_GUIDL_ID: guildId })).toThrow(
      new ConfigError('YUNITE_GUILD_ID is set but YUNITE_API_KEY is not: Yunite needs both (set YUNITE_API_KEY, or unset YUNITE_GUILD_ID)'),
    );
    expect(() => yuniteConfigFromEnv({ YUNITE_API_KEY: ' ', YUNITE_GUILD_ID: guildId })).toThrow(/YUNITE_API_KEY is not/);
  });

  it('fills in the public base URL and a 5 s timeout by default', () => {
    expect(yuniteConfigFromEnv({ YUNITE_API_KEY: apiKey, YUNITE_GUILD_ID: guildId })).toEqual({
      baseUrl: 'https://yunite.xyz/api',
      apiKey,
      guildId,
      timeoutMs: 5_000,
    });
  });

  it('takes the base URL and timeout from the environment', () => {
    expect(
      yuniteConfigFromEnv({
        YUNITE_API_KEY: apiKey,
        YUNITE_GUILD_ID: guildId,
        YUNITE_BASE_URL: 'http://127.0.0.1:9999/api',
        YUNITE_TIMEOUT_MS: '1500',
      }),
    ).toMatchObject({ baseUrl: 'http://127.0.0.1:9999/api', timeoutMs: 1_500 });
  });

  it.each(['0', '-5', '2.5', 'five', '999999999'])('refuses YUNITE_TIMEOUT_MS=%s, naming the variable', (value) => {
    expect(() => yuniteConfigFromEnv({ YUNITE_API_KEY: apiKey, YUNITE_GUILD_ID: guildId, YUNITE_TIMEOUT_MS: value })).toThrow(
      /YUNITE_TIMEOUT_MS/,
    );
  });

  it('refuses a guild id that is not a snowflake and a base URL that is not http(s), naming the variable', () => {
    expect(() => yuniteConfigFromEnv({ YUNITE_API_KEY: apiKey, YUNITE_GUILD_ID: 'my-guild' })).toThrow(/YUNITE_GUILD_ID/);
    expect(() => yuniteConfigFromEnv({ YUNITE_API_KEY: apiKey, YUNITE_GUILD_ID: guildId, YUNITE_BASE_URL: 'yunite.xyz' })).toThrow(
      /YUNITE_BASE_URL/,
    );
    expect(() =>
      yuniteConfigFromEnv({ YUNITE_API_KEY: apiKey, YUNITE_GUILD_ID: guildId, YUNITE_BASE_URL: 'ftp://yunite.xyz/api' }),
    ).toThrow(/YUNITE_BASE_URL/);
  });
});
