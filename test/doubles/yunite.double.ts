import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * An HTTP stand-in for Yunite's "Get user links" endpoint (API v3), built from
 * https://yunite.xyz/docs/developers/registrationdata and
 * https://yunite.xyz/docs/developers/authentication:
 *
 *   POST /api/v3/guild/{guildId}/registration/links   (baseUrl ends in /api, like the real one)
 *   Y-Api-Token: <token>         missing or unknown → 401; valid but not for this guild → 403
 *   { "type": "DISCORD", "userIds": [...] }           anything else → 400
 *   any other route or method → 404 ("Route not found")
 *
 * Linked members come back in `users`, members without a link in `notLinked`, and ids the guild
 * has never seen in `notFound`. Only `DISCORD` lookups are modelled; an `EPIC` one answers 400
 * from this double (the real API supports it; the ledger never asks it).
 */

export type YuniteFailureMode = 'timeout' | '429' | '500' | 'drop' | 'malformed';

export interface YuniteDoubleRequest {
  discordIds: string[];
  at: number;
}

export interface YuniteDouble {
  /** Ends in `/api`, like `https://yunite.xyz/api`. */
  readonly baseUrl: string;
  /** Makes the Discord user a guild member linked to this Epic account. */
  link(discordId: string, epicId: string, epicName?: string): void;
  /** Makes the Discord user a guild member with no Epic link (answered in `notLinked`). */
  unlink(discordId: string): void;
  /**
   * The next `count` requests fail this way, whatever they ask: `timeout` never answers, `429`
   * answers with `Retry-After: retryAfter` (`null` leaves the header out), `500` is an internal
   * error, `drop` closes the socket without a word, `malformed` is a 200 with cut-off JSON.
   */
  failNext(mode: YuniteFailureMode, count?: number, retryAfter?: string | null): void;
  /** Every request that reached the links route, oldest first, whether or not it succeeded. */
  requests(): YuniteDoubleRequest[];
  close(): Promise<void>;
}

interface Member {
  epic: { epicId: string; epicName: string | undefined; linkedAt: string } | null;
}

interface Failure {
  mode: YuniteFailureMode;
  retryAfter: string | null;
}

/** The real API bounds request bodies too; this is generous for a list of ids. */
const requestBytesMax = 1_048_576;
const linksRoute = /^\/api\/v3\/guild\/([^/]+)\/registration\/links$/;

export async function startYuniteDouble(options: { apiKey: string; guildId: string }): Promise<YuniteDouble> {
  const members = new Map<string, Member>();
  const failures: Failure[] = [];
  const recorded: YuniteDoubleRequest[] = [];

  const server = createServer((request, response) => {
    void handle(request, response).catch(() => {
      if (!response.headersSent) sendJson(response, 500, { error: 'Internal Server Error' });
      else response.destroy();
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    const match = linksRoute.exec(path);
    if (request.method !== 'POST' || match === null) {
      await drain(request);
      sendJson(response, 404, { error: 'Route not found' });
      return;
    }
    const raw = await readBody(request);
    if (raw === null) {
      sendJson(response, 413, { error: 'Payload too large' });
      return;
    }
    const body = parseLinksRequest(raw);
    recorded.push({ discordIds: body?.type === 'DISCORD' ? [...body.userIds] : [], at: Date.now() });

    const failure = failures.shift();
    if (failure !== undefined) {
      fail(failure, response);
      return;
    }
    const token = request.headers['y-api-token'];
    if (typeof token !== 'string' || token !== options.apiKey) {
      sendJson(response, 401, { error: 'Unauthorized' });
      return;
    }
    if (decodeURIComponent(match[1] ?? '') !== options.guildId) {
      sendJson(response, 403, { error: 'Forbidden' });
      return;
    }
    if (body === null) {
      sendJson(response, 400, { error: 'Bad request: expected {"type": "DISCORD" | "EPIC", "userIds": [string]}' });
      return;
    }
    if (body.type !== 'DISCORD') {
      sendJson(response, 400, { error: 'This test double answers DISCORD lookups only' });
      return;
    }
    sendJson(response, 200, answer(body.userIds));
  }

  function answer(discordIds: readonly string[]): Record<string, unknown> {
    const users: Array<Record<string, unknown>> = [];
    const notLinked: string[] = [];
    const notFound: string[] = [];
    for (const id of discordIds) {
      const member = members.get(id);
      if (member === undefined) notFound.push(id);
      else if (member.epic === null) notLinked.push(id);
      else {
        users.push({
          discord: { id, name: `player-${id.slice(-4)}`, avatar: `https://cdn.discordapp.com/embed/avatars/${Number(id.slice(-1)) % 5}.png` },
          // A link made without a name has none in the answer, so the client's handling of a
          // missing `epicName` gets exercised.
          epic: member.epic.epicName === undefined ? { epicID: member.epic.epicId } : { epicID: member.epic.epicId, epicName: member.epic.epicName },
          dateVerified: member.epic.linkedAt,
          chosenPlatform: 'PC',
          chosenPeripheral: 'KEYBOARD_MOUSE',
        });
      }
    }
    return { users, notLinked, notFound };
  }

  function fail(failure: Failure, response: ServerResponse): void {
    switch (failure.mode) {
      case 'timeout':
        // Never answered: the client's own timeout has to end it, or close() does.
        return;
      case '429': {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (failure.retryAfter !== null) headers['retry-after'] = failure.retryAfter;
        response.writeHead(429, headers).end(JSON.stringify({ error: 'Too Many Requests' }));
        return;
      }
      case '500':
        sendJson(response, 500, { error: 'Internal Server Error' });
        return;
      case 'drop':
        response.socket?.destroy();
        return;
      case 'malformed':
        response.writeHead(200, { 'content-type': 'application/json' }).end('{"users": [{"discord": {"id": "1');
        return;
      default: {
        const unknownMode: never = failure.mode;
        throw new Error(`unknown failure mode ${String(unknownMode)}`);
      }
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}/api`,
    link(discordId, epicId, epicName) {
      members.set(discordId, { epic: { epicId, epicName, linkedAt: new Date().toISOString() } });
    },
    unlink(discordId) {
      members.set(discordId, { epic: null });
    },
    failNext(mode, count = 1, retryAfter = '1') {
      for (let index = 0; index < count; index += 1) failures.push({ mode, retryAfter });
    },
    requests() {
      return recorded.map((entry) => ({ discordIds: [...entry.discordIds], at: entry.at }));
    },
    async close() {
      // Held `timeout` requests and keep-alive sockets would otherwise keep close() waiting.
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error === undefined ? resolve() : reject(error))));
    },
  };
}

function parseLinksRequest(raw: string): { type: string; userIds: string[] } | null {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return null;
  }
  if (json === null || typeof json !== 'object') return null;
  const { type, userIds } = json as { type?: unknown; userIds?: unknown };
  if (type !== 'DISCORD' && type !== 'EPIC') return null;
  if (!Array.isArray(userIds) || !userIds.every((id): id is string => typeof id === 'string')) return null;
  return { type, userIds };
}

async function readBody(request: IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  let totalBytes = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    totalBytes += buffer.byteLength;
    if (totalBytes > requestBytesMax) return null;
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function drain(request: IncomingMessage): Promise<void> {
  for await (const chunk of request) void chunk;
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
