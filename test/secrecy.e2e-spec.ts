import { randomBytes } from 'node:crypto';
import { freePort } from '../src/platform/database/embedded-postgres';
import { PostgresEventStore } from '../src/platform/event-store/postgres-event-store';
import { type RecordedEvent } from '../src/platform/event-store/event-store.port';
import { parseBan } from '../src/platform/money';
import { type BananoNodeDouble, startBananoNodeDouble } from './doubles/banano-node.double';
import { captured } from './support/captured-log';
import { childEnv, eventually, startBuiltEntry, waitForExit } from './support/processes';
import { donateFrom, newBananoAccount } from './support/scenario';
import { createTestDatabase, type TestDatabase } from './support/test-database';
import { startTestApp } from './support/test-app';

const ban = (text: string): bigint => parseBan(text) as bigint;

/** What the service and the CLI said, and what it answered: every place a secret must never be. */
interface Haystacks {
  readonly logs: string[];
  readonly responses: string[];
  readonly events: string[];
}

/**
 * SPEC §4.6: the operator seed, the master key and API keys never appear in a log line, a response,
 * an event or an error message. The whole paying flow runs against the built service (live, on the
 * Banano node double, logging at debug), the CLI makes the key and rotates the master key, and then
 * every log line, every response (headers and body) and every stored event is searched for each
 * secret, in every spelling it could take. The metrics and the OpenAPI document are scraped too.
 */
describe('secrets never leave the service', () => {
  let node: BananoNodeDouble;
  let database: TestDatabase;
  const haystacks: Haystacks = { logs: [], responses: [], events: [] };

  beforeAll(async () => {
    node = await startBananoNodeDouble();
    database = await createTestDatabase();
  });

  afterAll(async () => {
    await node?.close();
    await database?.drop();
  });

  async function cli(args: readonly string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
    const run = startBuiltEntry('cli.main.js', childEnv({ DATABASE_URL: database.url, LOG_LEVEL: 'debug', ...env }), args);
    const { code } = await waitForExit(run.child, 60_000);
    return { code, output: run.output() };
  }

  it('runs the whole flow, live, and finds no seed, private key, master key or API key anywhere', async () => {
    const operator = await newBananoAccount();
    await node.fundAndOpen(operator.privateKey, ban('1000'));
    const masterKey = randomBytes(32);
    const newMasterKey = randomBytes(32);
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;

    const keyMade = await cli(['api-keys', 'create', '--name', 'secrecy-admin', '--scopes', 'admin,commands:write,queries:read'], {});
    expect(keyMade.code).toBe(0);
    const apiKey = keyMade.output.trim().split('\n').at(-1) ?? '';
    expect(apiKey).toMatch(/^p2s_/);
    // The one place a key may appear is the line that hands it over; the rest of that output is searched.
    haystacks.logs.push(keyMade.output.trim().split('\n').slice(0, -1).join('\n'));

    const service = startBuiltEntry(
      'main.js',
      childEnv({
        DATABASE_URL: database.url,
        PORT: String(port),
        LOG_LEVEL: 'debug',
        BANANO_RPC_URL: node.url,
        BANANO_RPC_TIMEOUT_MS: '2000',
        LEDGER_MASTER_KEY: masterKey.toString('base64'),
        SETTLEMENT_INTERVAL_SECONDS: '0',
        PAYOUT_EXECUTOR_INTERVAL_MS: '100',
        PAYOUT_RETRY_BACKOFF_SECONDS: '0',
        TREASURY_INGEST_INTERVAL_MS: '1000',
      }),
    );
    try {
      await eventually('the service to answer /health', async () => ((await fetch(`${baseUrl}/health`)).ok ? true : undefined), 90_000, 100);

      /** One request; its status line, headers and body go into the haystack. */
      const send = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> => {
        const response = await fetch(`${baseUrl}${path}`, {
          method,
          headers: { authorization: `Bearer ${apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
        });
        const text = await response.text();
        haystacks.responses.push(`${response.status} ${JSON.stringify([...response.headers.entries()])}\n${text}`);
        const json = (response.headers.get('content-type') ?? '').includes('json');
        return { status: response.status, body: text === '' || !json ? {} : (JSON.parse(text) as Record<string, unknown>) };
      };

      // The seed, and near-misses of it that the service must refuse without echoing.
      expect((await send('PUT', '/v1/admin/operator-seed', { seed: operator.seed })).status).toBe(204);
      for (const wrong of [`${operator.seed}0`, `${operator.seed.slice(0, 63)}G`, ` ${operator.seed.toLowerCase()} x`, `{"seed":"${operator.seed}"`]) {
        const refused = await send('PUT', '/v1/admin/operator-seed', wrong.startsWith('{') ? wrong : { seed: wrong });
        expect(refused.status).toBeGreaterThanOrEqual(400);
        expect(refused.status).toBeLessThan(500);
      }
      const status = await send('GET', '/v1/admin/operator-seed/status');
      expect(status.body).toMatchObject({ configured: true, address: operator.address });

      // A player earns, a donor donates, a settlement pays on chain with the stored seed.
      const wallet = await newBananoAccount();
      const registered = await send('POST', '/v1/users', { discordUserId: '810000000000000001' });
      const userId = registered.body.userId as string;
      await send('PUT', `/v1/users/${userId}/epic-account`, { epicAccountId: 'f'.repeat(32), lifetimeKills: 0 });
      await send('PUT', `/v1/users/${userId}/wallet`, { address: wallet.address });
      const kills = await send('POST', `/v1/users/${userId}/kills`, { lifetimeKills: 40, observedAt: new Date(Date.now() - 120_000).toISOString() });
      expect(kills.status).toBe(202);
      const donor = await newBananoAccount();
      await donateFrom(node, donor, operator.address, ban('25'));
      await eventually('the donation to be counted', async () => {
        const donations = await send('GET', '/v1/donations');
        return donations.body.totalDonatedRaw === ban('25').toString() ? true : undefined;
      }, 30_000, 250);
      await send('GET', `/v1/users/${userId}?minPosition=${kills.body.position as string}`);
      const run = await send('POST', '/v1/admin/settlements', {});
      expect(run.body).toMatchObject({ payoutsRequested: 1 });
      const [payout] = run.body.payouts as Array<{ payoutId: string }>;
      const sent = await eventually('the payout to be sent on chain', async () => {
        const answer = await send('GET', `/v1/payouts/${payout.payoutId}`);
        return answer.body.status === 'sent' ? answer.body : undefined;
      }, 30_000, 200);
      expect(sent.blockHash).toMatch(/^[0-9A-F]{64}$/);
      const paths = ['/v1/admin/stats', '/v1/admin/audit', '/v1/admin/reconciliation', `/v1/users/${userId}/history`, `/v1/users/${userId}/payouts`];
      for (const path of [...paths, `/v1/users/${userId}?asOf=${new Date().toISOString()}`, '/ready', '/metrics', '/docs-json']) {
        expect((await send('GET', path)).status).toBeLessThan(500);
      }

      // The master key rotated beside the running service, which still holds the old one: its
      // errors about a seed it can no longer open must name key ids only.
      const rotated = await cli(['secure-config', 'rotate'], { LEDGER_MASTER_KEY: masterKey.toString('base64'), LEDGER_NEW_MASTER_KEY: newMasterKey.toString('base64') });
      haystacks.logs.push(rotated.output);
      expect(rotated.code).toBe(0);
      const statusAfter = await cli(['secure-config', 'status'], { LEDGER_MASTER_KEY: newMasterKey.toString('base64') });
      haystacks.logs.push(statusAfter.output);
      expect(statusAfter.output).toContain(operator.address);
      expect((await send('GET', '/ready')).status).toBe(503);
      expect((await send('POST', '/v1/admin/settlements', {})).body).toMatchObject({ code: 'operator_seed_unreadable' });
    } finally {
      service.child.kill('SIGTERM');
      await waitForExit(service.child).catch(() => service.child.kill('SIGKILL'));
      haystacks.logs.push(service.output());
    }

    const store = new PostgresEventStore(database.url);
    try {
      let from: bigint | null = null;
      for (;;) {
        const page: RecordedEvent[] = await store.readAll({ fromPosition: from, maxCount: 1_000 });
        if (page.length === 0) break;
        haystacks.events.push(...page.map((event) => JSON.stringify({ stream: event.streamName, type: event.type, data: event.data, metadata: event.metadata })));
        from = page[page.length - 1].position;
      }
    } finally {
      await store.close();
    }

    // The haystacks are real: the flow logged, answered and recorded plenty, the secure-config change included.
    const logLines = haystacks.logs.join('\n').split('\n').filter((line) => line.trim() !== '');
    expect(logLines.length).toBeGreaterThan(20);
    expect(haystacks.responses.length).toBeGreaterThan(20);
    expect(haystacks.responses.some((response) => response.includes('ledger_commands_total'))).toBe(true);
    expect(haystacks.events.some((event) => event.includes('"SecureConfigChanged"') && event.includes('"rotated"'))).toBe(true);
    expect(haystacks.events.some((event) => event.includes('"PayoutSent"'))).toBe(true);

    const secrets: Record<string, string[]> = {
      'operator seed': [operator.seed.toUpperCase(), operator.seed.toLowerCase(), Buffer.from(operator.seed, 'hex').toString('base64')],
      'operator private key': [operator.privateKey.toUpperCase(), operator.privateKey.toLowerCase()],
      'master key': [masterKey.toString('base64'), masterKey.toString('hex'), masterKey.toString('base64url')],
      'new master key': [newMasterKey.toString('base64'), newMasterKey.toString('hex'), newMasterKey.toString('base64url')],
      'API key': [apiKey, apiKey.slice('p2s_'.length)],
    };
    const found: string[] = [];
    for (const [where, texts] of Object.entries(haystacks)) {
      const all = (texts as string[]).join('\n');
      for (const [secret, spellings] of Object.entries(secrets)) {
        if (spellings.some((spelling) => all.includes(spelling))) found.push(`${secret} in ${where}`);
      }
    }
    expect(found).toEqual([]);
  }, 240_000);
});

/**
 * /ready is public, and a readiness check that throws does so with its driver's message, which
 * names internal hosts, ports, databases and users. The answer says which check failed and that it
 * threw or hung; the message goes to the log, without whatever else the error object carries.
 */
describe('/ready, when a check throws or hangs', () => {
  it('answers 503 naming the check, not what its error said, and logs the message', async () => {
    const log = captured();
    const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:5432'), { connectionString: 'postgres://ledger:hunter2@10.0.0.5:5432/ledger_internal' });
    const app = await startTestApp({ LOG_LEVEL: 'warn' }, {
      logDestination: log.stream,
      readinessChecks: [
        { name: 'database', check: () => Promise.reject(refused) },
        { name: 'eventStore', check: () => Promise.reject(new Error('password authentication failed for user "ledger_internal"')) },
        { name: 'projections', check: () => new Promise(() => undefined) },
        { name: 'payouts', check: async () => ({ ok: true, detail: { mode: 'dry-run' } }) },
      ],
    });
    try {
      const response = await fetch(`${app.baseUrl}/ready`);
      const text = await response.text();

      expect(response.status).toBe(503);
      expect(JSON.parse(text)).toEqual({
        status: 'not_ready',
        checks: {
          database: { ok: false, detail: { reason: 'check_failed' } },
          eventStore: { ok: false, detail: { reason: 'check_failed' } },
          projections: { ok: false, detail: { reason: 'check_timed_out', timeoutMs: 2000 } },
          payouts: { ok: true, detail: { mode: 'dry-run' } },
        },
      });
      for (const revealing of ['10.0.0.5', '5432', 'ECONNREFUSED', 'ledger_internal', 'password']) expect(text).not.toContain(revealing);
      expect(log.lines().filter((line) => line.check !== undefined)).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ level: 40, msg: 'readiness check failed', check: 'database', error: 'connect ECONNREFUSED 10.0.0.5:5432' }),
          expect.objectContaining({ level: 40, msg: 'readiness check failed', check: 'eventStore', error: 'password authentication failed for user "ledger_internal"' }),
          expect.objectContaining({ level: 40, msg: 'readiness check did not answer in time', check: 'projections', timeoutMs: 2000 }),
        ]),
      );
      expect(log.text()).not.toContain('hunter2');
    } finally {
      await app.close();
    }
  });
});

describe('an operator seed file named after the seed', () => {
  it('is never quoted: not in the status answer, a settlement problem or the log', async () => {
    // A path the configuration takes (the seed as a directory name, say a secrets mount's), which
    // every message about the file used to quote.
    const seed = randomBytes(32).toString('hex').toUpperCase();
    const log = captured();
    const app = await startTestApp(
      { LOG_LEVEL: 'debug', SETTLEMENT_INTERVAL_SECONDS: '0', BANANO_RPC_URL: 'http://127.0.0.1:9', BANANO_OPERATOR_SEED_FILE: `/nonexistent/${seed}/seed` },
      { logDestination: log.stream },
    );
    try {
      const status = await fetch(`${app.baseUrl}/v1/admin/operator-seed/status`, { headers: { authorization: `Bearer ${app.apiKey}` } });
      const settlement = await fetch(`${app.baseUrl}/v1/admin/settlements`, {
        method: 'POST',
        headers: { authorization: `Bearer ${app.apiKey}`, 'content-type': 'application/json' },
        body: '{}',
      });
      const answers = [await status.text(), await settlement.text()];

      expect([status.status, settlement.status]).toEqual([503, 503]);
      expect(answers.map((text) => (JSON.parse(text) as { code: string }).code)).toEqual(['operator_seed_unreadable', 'operator_seed_unreadable']);
      expect(answers[0]).toContain('BANANO_OPERATOR_SEED_FILE');
      for (const text of [...answers, log.text()]) expect(text.toUpperCase()).not.toContain(seed);
    } finally {
      await app.close();
    }
  });
});
