import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An HTTP stand-in for the Fortnite stats API (fortnite-api.com, BR stats v2 by account id), on
 * 127.0.0.1 with a random port. It speaks the same route, status codes and JSON shapes as the
 * real service, so the client is tested over real HTTP rather than against a mocked `fetch`.
 *
 *   GET /v2/stats/br/v2/:accountId   Authorization: <apiKey>
 *   200 {status, data: {account, battlePass, image, stats: {all: {overall: {...kills...}}}}}
 *   401 missing or wrong key · 403 private stats · 404 unknown account · 429 · 500
 */
export type FortniteStatsFailureMode = 'timeout' | '429' | '500' | 'drop' | 'malformed';

export interface FortniteStatsDoubleOptions {
  /** The key the double accepts in `Authorization`. */
  apiKey?: string;
  /** The Retry-After header sent with a 429; null sends none. */
  retryAfter?: string | null;
}

export interface FortniteStatsDouble {
  readonly baseUrl: string;
  readonly apiKey: string;
  /** Makes the account known with this lifetime kill count (any JSON number, to test bad values). */
  setKills(accountId: string, kills: number): void;
  /** Makes the account known and its stats private: it answers 403. */
  setPrivate(accountId: string): void;
  /**
   * Makes the account's 200 answers carry this as `data.account` instead of its own `{id, name}`,
   * as an upstream that mixes accounts up (a proxy or a cache) would; undefined leaves it out.
   */
  setAnsweredAccount(accountId: string, account: unknown): void;
  /** The next `count` stats requests fail this way, in order, before normal answers resume. */
  failNext(mode: FortniteStatsFailureMode, count?: number): void;
  setRetryAfter(value: string | null): void;
  /** Every stats request received, answered or not, in arrival order. */
  requests(): Array<{ accountId: string; at: number }>;
  close(): Promise<void>;
}

interface Account {
  /** The id as the account was made known, which the API answers with whatever case was asked. */
  id: string;
  kills: number;
  private: boolean;
}

const statsPath = /^\/v2\/stats\/br\/v2\/([^/?]+)$/;

export const defaultFortniteStatsApiKey = 'test-fortnite-stats-key';

export async function startFortniteStatsDouble(options: FortniteStatsDoubleOptions = {}): Promise<FortniteStatsDouble> {
  const apiKey = options.apiKey ?? defaultFortniteStatsApiKey;
  let retryAfter = options.retryAfter === undefined ? '1' : options.retryAfter;
  const accounts = new Map<string, Account>();
  const answeredAccounts = new Map<string, unknown>();
  const failures: FortniteStatsFailureMode[] = [];
  const received: Array<{ accountId: string; at: number }> = [];

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const match = statsPath.exec(path);
    if (req.method !== 'GET' || match === null) {
      send(res, 404, { status: 404, error: 'not found' });
      return;
    }
    const accountId = decodeURIComponent(match[1] ?? '');
    received.push({ accountId, at: Date.now() });

    // The real API checks the key before anything else, so a failure injected for "the next
    // request" is consumed only by a request that got past authentication.
    if (req.headers.authorization !== apiKey) {
      send(res, 401, { status: 401, error: 'missing or invalid api key' });
      return;
    }

    const failure = failures.shift();
    switch (failure) {
      case 'timeout':
        // Never answer; the client's timeout has to end the exchange. close() destroys the socket.
        return;
      case 'drop':
        req.socket.destroy();
        return;
      case '500':
        send(res, 500, { status: 500, error: 'internal server error' });
        return;
      case '429':
        send(res, 429, { status: 429, error: 'too many requests' }, retryAfter === null ? {} : { 'retry-after': retryAfter });
        return;
      case 'malformed':
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
        res.end('{"status":200,"data":{"account":');
        return;
      case undefined:
        break;
      default: {
        const unknown: never = failure;
        throw new Error(`unknown failure mode ${String(unknown)}`);
      }
    }

    const account = accounts.get(accountId.toLowerCase());
    if (account === undefined) {
      send(res, 404, { status: 404, error: 'the requested account does not exist' });
      return;
    }
    if (account.private) {
      send(res, 403, { status: 403, error: "the requested account's stats are not public" });
      return;
    }
    const body = statsBody(account.id, account.kills);
    const key = accountId.toLowerCase();
    if (answeredAccounts.has(key)) body.data.account = answeredAccounts.get(key);
    send(res, 200, body);
  };

  const server = createServer(handle);
  // Node's default keep-alive timeout would keep idle client sockets open past the test.
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    apiKey,
    setKills(accountId, kills) {
      const account = accounts.get(accountId.toLowerCase());
      accounts.set(accountId.toLowerCase(), { id: account?.id ?? accountId, kills, private: account?.private ?? false });
    },
    setPrivate(accountId) {
      const account = accounts.get(accountId.toLowerCase());
      accounts.set(accountId.toLowerCase(), { id: account?.id ?? accountId, kills: account?.kills ?? 0, private: true });
    },
    setAnsweredAccount(accountId, account) {
      answeredAccounts.set(accountId.toLowerCase(), account);
    },
    failNext(mode, count = 1) {
      if (!Number.isSafeInteger(count) || count < 1 || count > 10_000) throw new Error('count must be 1 to 10000');
      for (let i = 0; i < count; i += 1) failures.push(mode);
    },
    setRetryAfter(value) {
      retryAfter = value;
    },
    requests: () => received.map((request) => ({ ...request })),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error === undefined ? resolve() : reject(error)));
        // Requests held open by 'timeout' and idle keep-alive sockets would keep close() waiting.
        server.closeAllConnections();
      }),
  };
}

/**
 * The shape fortnite-api.com answers with; the ledger reads `overall.kills`, and `account.id` to
 * check that the count is of the account it asked about.
 */
function statsBody(accountId: string, kills: number): { status: number; data: Record<string, unknown> } {
  const block = {
    score: 0,
    scorePerMin: 0,
    scorePerMatch: 0,
    wins: 0,
    top3: 0,
    top5: 0,
    top6: 0,
    top10: 0,
    top12: 0,
    top25: 0,
    kills,
    killsPerMin: 0,
    killsPerMatch: 0,
    deaths: 0,
    kd: 0,
    matches: 0,
    winRate: 0,
    minutesPlayed: 0,
    playersOutlived: 0,
    lastModified: '2024-01-01T00:00:00Z',
  };
  return {
    status: 200,
    data: {
      account: { id: accountId, name: `player-${accountId.slice(0, 8)}` },
      battlePass: { level: 1, progress: 0 },
      image: null,
      stats: {
        all: { overall: block, solo: null, duo: null, trio: null, squad: null, ltm: null },
        keyboardMouse: null,
        gamepad: null,
        touch: null,
      },
    },
  };
}
