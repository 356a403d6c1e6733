import { connect } from 'node:net';
import { ApiKeys } from '../src/security/api-keys';
import { captured } from './support/captured-log';
import { startTestApp, type TestApp } from './support/test-app';

const REQUEST_TIMEOUT_SECONDS = 2;

/**
 * A request that does not finish arriving within HTTP_REQUEST_TIMEOUT_SECONDS is answered 408
 * `request_timeout` (problem+json) and its connection is closed, whatever the client still sends:
 * a client sending its body a byte at a time cannot hold a connection for ever. It appends nothing.
 */
describe('a request that takes too long to arrive', () => {
  let app: TestApp;
  const log = captured();

  beforeAll(async () => {
    app = await startTestApp({ SETTLEMENT_INTERVAL_SECONDS: '0', HTTP_REQUEST_TIMEOUT_SECONDS: String(REQUEST_TIMEOUT_SECONDS), LOG_LEVEL: 'warn' }, { logDestination: log.stream });
  });

  afterAll(async () => {
    await app.close();
  });

  /**
   * Sends `head`, then one byte of `trickle` (if any) every 200 ms, until the server closes the
   * connection or `giveUpMs` passes, then hangs up; answers what came back, when the connection closed, and how much of
   * `trickle` was sent.
   */
  async function slowRequest(head: string, trickle: string, giveUpMs: number): Promise<{ response: string; closedAfterMs: number | null; bytesSent: number }> {
    const url = new URL(app.baseUrl);
    const socket = connect(Number(url.port), url.hostname);
    const started = Date.now();
    const chunks: Buffer[] = [];
    let bytesSent = 0;
    let closedAfterMs: number | null = null;
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(head);
    const timer = setInterval(() => {
      if (bytesSent < trickle.length && socket.writable) socket.write(trickle[bytesSent++]);
    }, 200);
    const gaveUp = new Promise<'gave up'>((resolve) => setTimeout(() => resolve('gave up'), giveUpMs));
    if ((await Promise.race([closed.then(() => 'closed' as const), gaveUp])) === 'closed') closedAfterMs = Date.now() - started;
    clearInterval(timer);
    socket.destroy();
    await closed;
    return { response: Buffer.concat(chunks).toString('utf8'), closedAfterMs, bytesSent };
  }

  it('answers 408 request_timeout and closes a body sent a byte at a time, appending nothing', async () => {
    const { key } = await new ApiKeys(app.pool).create({ name: 'slow-client', scopes: ['commands:write'] });
    const body = JSON.stringify({ discordUserId: '123456789012345678', padding: 'x'.repeat(200) });
    const head = [
      'POST /v1/users HTTP/1.1',
      `Host: ${new URL(app.baseUrl).host}`,
      `Authorization: Bearer ${key}`,
      'Content-Type: application/json',
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      '',
    ].join('\r\n');
    const headBefore = await app.store.headPosition();

    const { response, closedAfterMs, bytesSent } = await slowRequest(head, body, 15_000);

    // The body would have taken 200 ms a byte, about 45 s; the server stopped it after the limit
    // and before a quarter of the limit more plus the scheduling slack.
    expect(closedAfterMs).not.toBeNull();
    expect(closedAfterMs as number).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_SECONDS * 1_000 - 100);
    expect(bytesSent).toBeLessThan(Buffer.byteLength(body));
    expect(response).toMatch(/^HTTP\/1\.1 408 /);
    expect(response).toMatch(/content-type: application\/problem\+json/i);
    expect(response).toMatch(/connection: close/i);
    expect(JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4))).toMatchObject({ status: 408, code: 'request_timeout' });
    expect(response).not.toContain(key);
    expect(await app.store.headPosition()).toBe(headBefore);
  });

  it('answers 408 request_timeout when the headers themselves never finish', async () => {
    const { response, closedAfterMs } = await slowRequest(`GET /health HTTP/1.1\r\nHost: ${new URL(app.baseUrl).host}\r\n`, 'X-Slow: ' + 'y'.repeat(200), 15_000);

    expect(closedAfterMs).not.toBeNull();
    expect(response).toMatch(/^HTTP\/1\.1 408 /);
    expect(JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4))).toMatchObject({ status: 408, code: 'request_timeout' });
  });

  it('logs no error for a client that hangs up before its body is in, nor for a body of broken chunks', async () => {
    // The body is the client's: a hang-up mid-body (a phone losing its network) or chunks that do
    // not parse are no failure of the service, and never of the database. Node ends such a
    // request's body with an "aborted" error of code ECONNRESET, the code a dropped PostgreSQL
    // socket has too. Nothing is appended, and nothing is logged as an error.
    const { key } = await new ApiKeys(app.pool).create({ name: 'hang-up-client', scopes: ['commands:write', 'admin'] });
    const host = new URL(app.baseUrl).host;
    const headBefore = await app.store.headPosition();
    const linesBefore = log.lines().length;

    for (const path of ['/v1/users', '/v1/admin/config/payout']) {
      const method = path === '/v1/users' ? 'POST' : 'PUT';
      const partial = `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"discordUserId":`;
      expect((await slowRequest(partial, '', 500)).response).toBe('');
      const brokenChunks = `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`;
      expect((await slowRequest(brokenChunks, '', 5_000)).response).toMatch(/^HTTP\/1\.1 400 /);
    }
    // The aborted bodies are seen (and would be logged) a moment after the socket closes.
    await new Promise((resolve) => setTimeout(resolve, 300));

    const errors = log.lines().slice(linesBefore).filter((line) => (line.level as number) >= 50);
    expect(errors).toEqual([]);
    expect(await app.store.headPosition()).toBe(headBefore);
  });

  it('serves a request that arrives in time', async () => {
    const answer = await fetch(new URL('/health', app.baseUrl));
    expect(answer.status).toBe(200);
  });
});
