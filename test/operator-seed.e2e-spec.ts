import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { sql } from 'slonik';
import { ConfigError, loadConfig } from '../src/platform/config/config';
import { createDatabasePool } from '../src/platform/database/database';
import { PostgresEventStore } from '../src/platform/event-store/postgres-event-store';
import { createHttpApp } from '../src/platform/http/create-http-app';
import { accountFromSeed } from '../src/payouts/banano/state-block';
import { BANANO_GATEWAY, type BananoGateway } from '../src/payouts/banano/banano-gateway';
import { ApiKeys } from '../src/security/api-keys';
import { MasterKey } from '../src/security/secure-config/master-key';
import { rotateSecureConfig } from '../src/security/secure-config/rotate-master-key';
import { SECURE_CONFIG_STREAM } from '../src/security/secure-config/secure-config.events';
import { SecureConfigStore } from '../src/security/secure-config/secure-config.store';
import { call } from './support/scenario';
import { createTestDatabase } from './support/test-database';
import { startTestApp, type TestApp } from './support/test-app';

interface RawAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
}

/** PUT /v1/admin/operator-seed with `body` as it is (a 204 has no JSON to parse). */
async function putSeed(app: TestApp, body: string, headers: Record<string, string> = {}): Promise<RawAnswer> {
  const response = await fetch(`${app.baseUrl}/v1/admin/operator-seed`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${app.apiKey}`, 'content-type': 'application/json', ...headers },
    body,
  });
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', text: await response.text() };
}

const newSeed = async (): Promise<{ seed: string; address: string }> => {
  const seed = randomBytes(32).toString('hex').toUpperCase();
  return { seed, address: (await accountFromSeed(seed, 0)).address };
};

/** The operator seed over HTTP (SPEC §4.6, §5): stored encrypted, shown only as its address. */
describe('PUT /v1/admin/operator-seed and GET /v1/admin/operator-seed/status', () => {
  async function withApp<T>(env: Record<string, string>, body: (app: TestApp) => Promise<T>): Promise<T> {
    const app = await startTestApp({ SETTLEMENT_INTERVAL_SECONDS: '0', ...env });
    try {
      return await body(app);
    } finally {
      await app.close();
    }
  }

  const eventCount = async (app: TestApp): Promise<number> => Number(await app.pool.oneFirst(sql.unsafe`SELECT count(*)::int FROM events`));
  const rowCount = async (app: TestApp): Promise<number> => Number(await app.pool.oneFirst(sql.unsafe`SELECT count(*)::int FROM secure_config`));

  it('refuses anything but 64 hexadecimal characters with 422 invalid_seed, storing, appending and echoing nothing', async () => {
    await withApp({}, async (app) => {
      const hex = randomBytes(32).toString('hex');
      const cases: Array<[string, unknown]> = [
        ['63 characters', hex.slice(1)],
        ['65 characters', `${hex}a`],
        ['a non-hex character', `${hex.slice(1)}g`],
        ['a 0x prefix', `0x${hex.slice(2)}`],
        ['surrounding spaces', ` ${hex} `],
        ['an inner space', `${hex.slice(0, 32)} ${hex.slice(33)}`],
        ['the empty string', ''],
        ['a number', 12345],
        ['null', null],
        ['an array', [hex]],
        ['an object', { seed: hex }],
        ['a boolean', true],
      ];
      const events = await eventCount(app);
      const answers: Array<[string, number, unknown]> = [];
      for (const [name, seed] of cases) {
        const answer = await putSeed(app, JSON.stringify({ seed }));
        const problem = JSON.parse(answer.text) as Record<string, unknown>;
        answers.push([name, answer.status, problem.code]);
        expect(answer.contentType).toMatch(/^application\/problem\+json/);
        if (typeof seed === 'string' && seed.length > 8) expect(answer.text.toLowerCase()).not.toContain(seed.trim().slice(2, 40).toLowerCase());
      }
      const missing = await putSeed(app, '{}');
      const unknownProperty = await putSeed(app, JSON.stringify({ seed: hex, note: 'x' }));
      const notAnObject = await putSeed(app, JSON.stringify(hex));
      const malformed = await putSeed(app, `{"seed": "${hex}"`);
      // The seed in the wrong place: as a property's name, in the path (a route there is none of,
      // whose 404 quoted the path), and inherited-key names too.
      const asPropertyName = await putSeed(app, JSON.stringify({ [hex]: true }));
      const asNestedName = await putSeed(app, JSON.stringify({ seed: hex.slice(1), [`${hex}${hex}`]: { [hex.toUpperCase()]: 1 } }));
      const inPath = await fetch(`${app.baseUrl}/v1/admin/operator-seed/${hex}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${app.apiKey}`, 'content-type': 'application/json' },
        body: '{}',
      });
      const inPathText = await inPath.text();

      expect(answers).toEqual(cases.map(([name]) => [name, 422, 'invalid_seed']));
      expect([missing.status, (JSON.parse(missing.text) as { code: string }).code]).toEqual([422, 'invalid_seed']);
      expect([unknownProperty.status, (JSON.parse(unknownProperty.text) as { code: string }).code]).toEqual([422, 'unknown_property']);
      expect([notAnObject.status, (JSON.parse(notAnObject.text) as { code: string }).code]).toEqual([422, 'invalid_request_body']);
      expect([malformed.status, (JSON.parse(malformed.text) as { code: string }).code]).toEqual([400, 'malformed_json']);
      expect([asPropertyName.status, (JSON.parse(asPropertyName.text) as { code: string }).code]).toEqual([422, 'unknown_property']);
      expect([inPath.status, (JSON.parse(inPathText) as { code: string }).code]).toEqual([404, 'route_not_found']);
      for (const text of [unknownProperty.text, notAnObject.text, malformed.text, asPropertyName.text, asNestedName.text, inPathText]) {
        expect(text.toLowerCase()).not.toContain(hex.slice(0, 32));
      }
      expect(await eventCount(app)).toBe(events);
      expect(await rowCount(app)).toBe(0);
      expect((await call(app, 'GET', '/v1/admin/operator-seed/status')).body).toEqual({ configured: false, address: null, keyId: null });
      // The status takes no query parameter: one given is refused, not silently ignored.
      const withParameter = await call(app, 'GET', '/v1/admin/operator-seed/status?minPosition=1');
      expect([withParameter.status, withParameter.body.code]).toEqual([422, 'unknown_property']);
    });
  });

  it('stores a seed: 204 without a body; the status shows its address and key id, never the seed; the row holds no plaintext', async () => {
    await withApp({}, async (app) => {
      const { seed, address } = await newSeed();
      const before = await call(app, 'GET', '/v1/admin/operator-seed/status');

      const stored = await putSeed(app, JSON.stringify({ seed: seed.toLowerCase() }), { 'x-request-id': 'seed-request-1' });
      const status = await call(app, 'GET', '/v1/admin/operator-seed/status');

      expect(before).toMatchObject({ status: 200, body: { configured: false, address: null, keyId: null } });
      expect(stored).toEqual({ status: 204, contentType: expect.any(String) as string, text: '' });
      expect(status.status).toBe(200);
      expect(status.body).toEqual({ configured: true, address, keyId: expect.stringMatching(/^[0-9a-f]{16}$/) as string });
      expect(JSON.stringify(status.body).toUpperCase()).not.toContain(seed);
      const row = await app.pool.one(sql.unsafe`SELECT t::text AS text, ciphertext, auth_tag, nonce FROM secure_config t`);
      for (const value of Object.values(row)) {
        const bytes = Buffer.isBuffer(value) ? value : Buffer.from(String(value));
        for (const form of [Buffer.from(seed, 'hex'), Buffer.from(seed), Buffer.from(seed.toLowerCase())]) expect(bytes.includes(form)).toBe(false);
      }
    });
  });

  it('records SecureConfigChanged set with the admin key, the request id and the client IP, without the seed; the same seed again appends nothing', async () => {
    await withApp({}, async (app) => {
      const { seed, address } = await newSeed();
      await putSeed(app, JSON.stringify({ seed }), { 'x-request-id': 'seed-request-1' });
      const events = await eventCount(app);

      const again = await putSeed(app, JSON.stringify({ seed: seed.toLowerCase() }), { 'x-request-id': 'seed-request-2' });

      expect(again.status).toBe(204);
      expect(await eventCount(app)).toBe(events);
      const recorded = await app.store.readStream(SECURE_CONFIG_STREAM);
      expect(recorded).toHaveLength(1);
      expect(recorded[0].type).toBe('SecureConfigChanged');
      expect(recorded[0].data).toEqual({ name: 'operator_seed', keyId: expect.stringMatching(/^[0-9a-f]{16}$/) as string, address, action: 'set', changedAt: expect.any(String) as string });
      expect(recorded[0].metadata).toEqual({
        correlationId: 'seed-request-1',
        causationId: null,
        actor: { kind: 'admin', name: 'test-all' },
        clientIp: '127.0.0.1',
        schemaVersion: 1,
      });
      const stored = await app.pool.anyFirst(sql.unsafe`SELECT e::text FROM events e`);
      for (const text of stored) expect(String(text).toUpperCase()).not.toContain(seed);
    });
  });

  it('takes effect without a restart: the seed source of the live gateway gives each new seed as soon as it is stored', async () => {
    await withApp({ BANANO_RPC_URL: 'http://127.0.0.1:9' }, async (app) => {
      const gateway = app.app.get<BananoGateway | null>(BANANO_GATEWAY);
      if (gateway === null) throw new Error('BANANO_RPC_URL makes a live gateway');
      const first = await newSeed();
      const second = await newSeed();
      const before = await gateway.seeds.operatorSeed();

      await putSeed(app, JSON.stringify({ seed: first.seed }));
      const afterFirst = await gateway.seeds.operatorSeed();
      await putSeed(app, JSON.stringify({ seed: second.seed }));
      const afterSecond = await gateway.seeds.operatorSeed();

      expect([before, afterFirst, afterSecond]).toEqual([null, first.seed, second.seed]);
      expect((await call(app, 'GET', '/v1/admin/operator-seed/status')).body).toMatchObject({ configured: true, address: second.address });
    });
  });

  it('without a master key (DATABASE_URL set, not production) answers 503 master_key_not_configured, and the status still answers', async () => {
    await withApp({ LEDGER_MASTER_KEY: '' }, async (app) => {
      const { seed } = await newSeed();
      const events = await eventCount(app);

      const refused = await putSeed(app, JSON.stringify({ seed }));
      const status = await call(app, 'GET', '/v1/admin/operator-seed/status');

      expect(refused.status).toBe(503);
      expect(refused.contentType).toMatch(/^application\/problem\+json/);
      expect(JSON.parse(refused.text)).toMatchObject({ code: 'master_key_not_configured' });
      expect(refused.text.toUpperCase()).not.toContain(seed);
      expect(status).toMatchObject({ status: 200, body: { configured: false, address: null, keyId: null } });
      expect(await eventCount(app)).toBe(events);
      expect(await rowCount(app)).toBe(0);
    });
  });

  it('on an instance still on a master key that a rotation retired, answers 409 master_key_retired and stores and appends nothing', async () => {
    const oldKey = randomBytes(32).toString('base64');
    await withApp({ LEDGER_MASTER_KEY: oldKey }, async (app) => {
      await putSeed(app, JSON.stringify({ seed: (await newSeed()).seed }));
      // The CLI rotates the table while this instance keeps running with the old key.
      const newKey = MasterKey.fromBase64(randomBytes(32).toString('base64'), 'test');
      await rotateSecureConfig(new SecureConfigStore(app.pool, app.store), { oldKey: MasterKey.fromBase64(oldKey, 'test'), newKey });
      const events = await eventCount(app);
      const { seed } = await newSeed();

      const refused = await putSeed(app, JSON.stringify({ seed }));

      expect(refused.status).toBe(409);
      expect(refused.contentType).toMatch(/^application\/problem\+json/);
      expect(JSON.parse(refused.text)).toMatchObject({ code: 'master_key_retired' });
      expect(refused.text.toUpperCase()).not.toContain(seed);
      expect(await eventCount(app)).toBe(events);
      expect((await call(app, 'GET', '/v1/admin/operator-seed/status')).body).toMatchObject({ configured: true, keyId: newKey.keyId });
    });
  });

  it('is for admin keys only: a commands:write or queries:read key gets 403 and stores nothing', async () => {
    await withApp({}, async (app) => {
      const { seed } = await newSeed();
      const keys = new ApiKeys(app.pool);
      const writer = (await keys.create({ name: 'writer', scopes: ['commands:write', 'queries:read'] })).key;

      const put = await putSeed(app, JSON.stringify({ seed }), { authorization: `Bearer ${writer}` });
      const status = await call(app, 'GET', '/v1/admin/operator-seed/status', undefined, { authorization: `Bearer ${writer}` });

      expect([put.status, (JSON.parse(put.text) as { code: string }).code]).toEqual([403, 'insufficient_scope']);
      expect([status.status, status.body.code]).toEqual([403, 'insufficient_scope']);
      expect(await rowCount(app)).toBe(0);
    });
  });

  /**
   * The application as `npm start` composes it, on a test database but with the configuration of
   * the embedded defaults (no DATABASE_URL) and a logger whose lines are kept for inspection.
   */
  async function withComposedApp(env: Record<string, string>, body: (app: { baseUrl: string; key: string; lines: string[] }) => Promise<void>): Promise<void> {
    const database = await createTestDatabase();
    const pool = await createDatabasePool(database.url);
    const store = new PostgresEventStore(database.url);
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    const logger = pino({ level: 'debug' }, sink);
    try {
      const app = await createHttpApp({ config: loadConfig(env), logger, pool, eventStore: store, readinessChecks: [] });
      try {
        await app.listen({ port: 0, host: '127.0.0.1' });
        const address = app.getHttpServer().address();
        if (typeof address !== 'object' || address === null) throw new Error('not listening');
        const { key } = await new ApiKeys(pool).create({ name: 'ops', scopes: ['admin'] });
        await body({ baseUrl: `http://127.0.0.1:${address.port}`, key, lines });
      } finally {
        await app.close();
      }
    } finally {
      await store.close();
      await pool.end();
      await database.drop();
    }
  }

  it('on the embedded defaults (npm start, dry-run) generates the master key file, stores a seed and shows only its address, logging neither', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'ledger-data-'));
    try {
      const { seed, address } = await newSeed();
      await withComposedApp({ LEDGER_DATA_DIR: dataDir, LOG_LEVEL: 'debug' }, async ({ baseUrl, key, lines }) => {
        const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
        const put = await fetch(`${baseUrl}/v1/admin/operator-seed`, { method: 'PUT', headers, body: JSON.stringify({ seed }) });
        const bad = await fetch(`${baseUrl}/v1/admin/operator-seed`, { method: 'PUT', headers, body: JSON.stringify({ seed: `${seed}0` }) });
        const status = (await (await fetch(`${baseUrl}/v1/admin/operator-seed/status`, { headers })).json()) as Record<string, unknown>;
        const masterKey = (await readFile(join(dataDir, 'master.key'), 'utf8')).trim();

        expect([put.status, bad.status]).toEqual([204, 422]);
        expect(status).toEqual({ configured: true, address, keyId: expect.stringMatching(/^[0-9a-f]{16}$/) as string });
        expect((await stat(join(dataDir, 'master.key'))).mode & 0o777).toBe(0o600);
        const generated = lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => String(line.msg).includes('a master key was generated'));
        expect(generated).toMatchObject({ level: 40, keyId: status.keyId, path: join(dataDir, 'master.key') });
        for (const line of lines) {
          expect(line.toUpperCase()).not.toContain(seed);
          expect(line).not.toContain(masterKey);
        }
      });
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('with NODE_ENV=production and no LEDGER_MASTER_KEY, refuses to start with a ConfigError that says what to do', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'ledger-data-'));
    try {
      let refused: unknown = null;
      await withComposedApp({ LEDGER_DATA_DIR: dataDir, NODE_ENV: 'production' }, async () => {
        throw new Error('the application started');
      }).catch((error: unknown) => {
        refused = error;
      });
      expect(refused).toBeInstanceOf(ConfigError);
      expect((refused as Error).message).toContain('LEDGER_MASTER_KEY is not set. With NODE_ENV=production the service does not start without it');
      expect((refused as Error).message).toContain('openssl rand -base64 32');
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
