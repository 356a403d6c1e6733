import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, isAlive, readPid } from '../src/platform/database/embedded-postgres';
import { Client } from 'pg';
import { createTestDatabase } from './support/test-database';
import { childEnv, eventually, startBuiltEntry, type StartedService, startService, stopLeftPostmaster, waitForExit } from './support/processes';

/** The service on the embedded defaults in `dataDir`, once it answers /health. */
function serviceOn(dataDir: string): Promise<StartedService> {
  return startService({ LEDGER_DATA_DIR: dataDir });
}

// `npm start` with no configuration: the embedded PostgreSQL keeps its files under the data
// directory, so a stopped service, and a killed one, come back with everything.
describe('the service on the embedded defaults, restarted', () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'ledger-restart-'));
  });

  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  /** `npm run cli -- <args>` beside the service, on its embedded PostgreSQL. */
  async function cli(args: readonly string[]): Promise<{ code: number | null; output: string }> {
    const run = startBuiltEntry('cli.main.js', childEnv({ LEDGER_DATA_DIR: dataDir }), args);
    const { code } = await waitForExit(run.child, 60_000);
    return { code, output: run.output() };
  }

  // Three starts of the service (up to 90 s each) and eight runs of the CLI: about 15 s on a quiet
  // machine, but the default 60 s is less than what the waits above allow on a busy one.
  it('keeps registered users across a graceful stop and across SIGKILL', async () => {
    const first = await serviceOn(dataDir);
    // A key made with the CLI beside the running service: printed alone on the last line.
    const keyMade = await cli(['api-keys', 'create', '--name', 'restart-test', '--scopes', 'commands:write,queries:read']);
    expect(keyMade.code).toBe(0);
    const key = keyMade.output.trim().split('\n').at(-1) ?? '';
    expect(key).toMatch(/^p2s_[A-Za-z0-9_-]{43}$/);
    const auth = { authorization: `Bearer ${key}` };
    const created = await fetch(`${first.baseUrl}/v1/users`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ discordUserId: '600000000000000001', regionCode: 'EU' }),
    });
    const { userId, position } = (await created.json()) as { userId: string; position: string };
    expect(created.status).toBe(201);
    const before = await (await fetch(`${first.baseUrl}/v1/users/${userId}?minPosition=${position}`, { headers: auth })).json();
    expect((await fetch(`${first.baseUrl}/ready`)).status).toBe(200);

    // A second service on the same data directory is refused with a message, not a stack trace.
    const twin = startBuiltEntry('main.js', childEnv({ LEDGER_DATA_DIR: dataDir, PORT: String(await freePort()) }));
    expect((await waitForExit(twin.child, 60_000)).code).toBe(1);
    expect(twin.output().trim().split('\n')).toEqual([
      `Pay2Slay Ledger cannot start: Another process (pid ${first.child.pid}) is using the embedded database in ${dataDir}. ` +
        'Stop it first, or point DATABASE_URL at a PostgreSQL server.',
    ]);

    // The CLI beside the running service uses the service's PostgreSQL and leaves it running.
    expect(await cli(['reconcile', '--json'])).toMatchObject({ code: 0, output: expect.stringContaining('"inBalance": true') });
    expect((await fetch(`${first.baseUrl}/v1/users/${userId}`, { headers: auth })).status).toBe(200);
    expect(await first.stop('SIGTERM')).toBe(0);

    const second = await serviceOn(dataDir);
    const afterRestart = await fetch(`${second.baseUrl}/v1/users/${userId}`, { headers: auth });
    const again = await fetch(`${second.baseUrl}/v1/users`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ discordUserId: '600000000000000001' }),
    });
    expect(afterRestart.status).toBe(200);
    expect(await afterRestart.json()).toEqual(before);
    expect(again.status).toBe(200);
    await second.stop('SIGKILL');

    // The killed service left its PostgreSQL running on the data directory; the next start stops
    // that orphan, and PostgreSQL's crash recovery brings the same data back.
    const third = await serviceOn(dataDir);
    try {
      const afterKill = await fetch(`${third.baseUrl}/v1/users/${userId}`, { headers: auth });
      expect(afterKill.status).toBe(200);
      expect(await afterKill.json()).toEqual(before);

      // The key outlived the restarts; revoked with the CLI, it opens nothing from then on.
      expect(await cli(['api-keys', 'list'])).toMatchObject({ code: 0, output: expect.stringMatching(/restart-test\s+active\s+commands:write,queries:read/) });
      expect(await cli(['api-keys', 'revoke', 'restart-test'])).toMatchObject({ code: 0 });
      const afterRevoke = await fetch(`${third.baseUrl}/v1/users/${userId}`, { headers: auth });
      expect(afterRevoke.status).toBe(401);
      expect(await afterRevoke.json()).toMatchObject({ code: 'api_key_invalid' });
      expect(await cli(['api-keys', 'list'])).toMatchObject({ output: expect.stringMatching(/restart-test\s+revoked/) });
      expect(await cli(['api-keys', 'revoke', 'no-such-key'])).toMatchObject({ code: 1, output: expect.stringContaining('api_key_not_found') });
      // A leaked key in hand revokes itself, and is never printed back, found or not.
      const made = await cli(['api-keys', 'create', '--name', 'leaked', '--scopes', 'queries:read']);
      const leaked = made.output.trim().split('\n').at(-1) ?? '';
      const byKey = await cli(['api-keys', 'revoke', leaked]);
      expect(byKey).toMatchObject({ code: 0, output: expect.stringContaining('Revoked API key leaked') });
      expect((await fetch(`${third.baseUrl}/v1/users/${userId}`, { headers: { authorization: `Bearer ${leaked}` } })).status).toBe(401);
      const unknownKey = `p2s_${'A'.repeat(43)}`;
      const notFound = await cli(['api-keys', 'revoke', unknownKey]);
      expect(notFound).toMatchObject({ code: 1, output: expect.stringContaining('api_key_not_found') });
      for (const run of [byKey, notFound]) expect(run.output).not.toMatch(/p2s_[A-Za-z0-9_-]{8}/);
      expect(await cli(['api-keys', 'create', '--name', 'bad', '--scopes', 'root'])).toMatchObject({ code: 1, output: expect.stringContaining('invalid_api_key_scopes') });
      // A time without a zone would be read on this machine's clock: refused, as over HTTP.
      expect(await cli(['api-keys', 'create', '--name', 'bad', '--scopes', 'admin', '--expires-at', '2099-01-01T00:00:00'])).toMatchObject({
        code: 1,
        output: expect.stringContaining('invalid_api_key_expiry'),
      });
    } finally {
      expect(await third.stop('SIGINT')).toBe(0);
    }
  }, 300_000);
});

// A process manager that signals a whole process group (systemd's default, a container runtime),
// a crash or the OOM killer can end the embedded PostgreSQL before the service. The service then
// still stops on its signal, by its own shutdown, and gives its data directory up.
describe('a service whose embedded PostgreSQL exited first', () => {
  it('stops on SIGTERM and gives the data directory up', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'ledger-postgres-first-'));
    let service: Awaited<ReturnType<typeof serviceOn>> | undefined;
    try {
      service = await serviceOn(dataDir);
      const postmaster = await readPid(join(dataDir, 'pg', 'postmaster.pid'));
      if (postmaster === null) throw new Error(`no postmaster.pid in ${dataDir}/pg`);
      expect(await readPid(join(dataDir, 'owner.pid'))).toBe(service.child.pid);
      process.kill(postmaster, 'SIGINT');
      await eventually('the postmaster to exit', async () => (isAlive(postmaster) ? undefined : true), 30_000, 50);

      expect(await service.stop('SIGTERM')).toBe(0);
      expect(service.output()).toContain('SIGTERM: stopping\n');
      // Given up by the shutdown itself, not left behind for the next start to find dead.
      expect(existsSync(join(dataDir, 'owner.pid'))).toBe(false);
    } finally {
      await service?.stop('SIGTERM');
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 150_000);
});

// A restarted container hands out the same small pids again: the postmaster.pid of a PostgreSQL
// that was killed may name a process that now is something else. That process is not signalled;
// the stale file goes, and PostgreSQL starts.
describe('a service whose postmaster.pid names a pid taken by another process', () => {
  it('leaves that process alone and starts', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'ledger-stale-pid-'));
    const other = spawn('sleep', ['300'], { stdio: 'ignore' });
    let service: Awaited<ReturnType<typeof serviceOn>> | undefined;
    try {
      if (other.pid === undefined) throw new Error('sleep did not start');
      const pidFile = join(dataDir, 'pg', 'postmaster.pid');
      service = await serviceOn(dataDir);
      const lines = (await readFile(pidFile, 'utf8')).split('\n');
      expect(await service.stop('SIGTERM')).toBe(0);
      expect(existsSync(pidFile)).toBe(false);
      // The file as a killed PostgreSQL leaves it, its number since given to `other`.
      await writeFile(pidFile, [String(other.pid), ...lines.slice(1)].join('\n'));

      service = await serviceOn(dataDir);

      expect({ alive: isAlive(other.pid), code: other.exitCode, signal: other.signalCode }).toEqual({ alive: true, code: null, signal: null });
      expect(await readPid(pidFile)).not.toBe(other.pid);
      expect(await service.stop('SIGTERM')).toBe(0);
    } finally {
      await service?.stop('SIGTERM');
      other.kill('SIGKILL');
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 200_000);
});

describe('npm run migrate on the embedded defaults', () => {
  it('applies the migrations, stops its PostgreSQL and gives the data directory up; again, with nothing to apply', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'ledger-migrate-'));
    try {
      for (const run of [1, 2]) {
        const migrate = startBuiltEntry('migrate.main.js', childEnv({ LEDGER_DATA_DIR: dataDir }));
        expect({ run, exit: await waitForExit(migrate.child, 90_000) }).toEqual({ run, exit: { code: 0, signal: null } });
        expect(migrate.output()).toContain('Migrations are up to date\n');
        // PostgreSQL removes its pid file as it stops.
        expect(existsSync(join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);
        expect(existsSync(join(dataDir, 'owner.pid'))).toBe(false);
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 200_000);
});

describe('a service started with a misconfigured environment', () => {
  it('exits 1 before starting anything, naming every bad variable in one message without a stack trace', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'ledger-misconfigured-'));
    try {
      const service = startBuiltEntry(
        'main.js',
        childEnv({ LEDGER_DATA_DIR: dataDir, PORT: 'eighty', PAYOUT_DAILY_KILL_CAP: '-5', YUNITE_API_KEY: 'k', YUNITE_GUILD_ID: 'guild', NODE_ENV: 'production' }),
      );
      const { code } = await waitForExit(service.child, 30_000);
      const lines = service.output().trim().split('\n');

      expect(code).toBe(1);
      expect(lines[0]).toBe('Pay2Slay Ledger cannot start: the environment is misconfigured.');
      expect(lines.slice(1, -1).map((line) => /^ {2}- ([A-Z_]+) /.exec(line)?.[1])).toEqual(['PORT', 'PAYOUT_DAILY_KILL_CAP', 'YUNITE_GUILD_ID', 'LEDGER_MASTER_KEY']);
      expect(lines.at(-1)).toBe('See .env.example for every variable.');
      // Nothing was started: no embedded PostgreSQL was initialised in the data directory.
      expect(await readdir(dataDir)).toEqual([]);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it.each([
    // A misspelt BANANO_RPC_URL used to start a dry run, the node's credentials quietly unused.
    ['BANANO_RPC_AUTH without BANANO_RPC_URL', { BANANO_RPC_AUTH: 'Bearer hunter2', BANANO_RCP_URL: 'http://127.0.0.1:1' }, 'BANANO_RPC_AUTH'],
    // It was read as its module loaded, before main() could catch it: a stack trace.
    ['a LEDGER_FAILPOINTS it cannot read', { LEDGER_FAILPOINTS: 'payout@0' }, 'LEDGER_FAILPOINTS'],
    // The EventStoreDB client's parser threw a URIError: a stack trace.
    ['an EVENTSTORE_CONNECTION_STRING with a malformed escape', { EVENTSTORE_CONNECTION_STRING: 'esdb://admin:hunter2@127.0.0.1:1?connectionName=%zz' }, 'EVENTSTORE_CONNECTION_STRING'],
    // The client's parser reads any number as a port: the start-up went on to a connection that cannot be.
    ['an EVENTSTORE_CONNECTION_STRING with a port past 65535', { EVENTSTORE_CONNECTION_STRING: 'esdb://admin:hunter2@127.0.0.1:2113,127.0.0.1:99999?tls=false' }, 'EVENTSTORE_CONNECTION_STRING'],
    // URL takes port 0, to which no call could ever be made.
    ['a BANANO_RPC_URL on port 0', { BANANO_RPC_URL: 'http://127.0.0.1:0' }, 'BANANO_RPC_URL'],
    // The longest wait capped the first without a word: every retry waited the longest.
    ['a first payout retry wait above the longest', { PAYOUT_RETRY_BACKOFF_SECONDS: '600', PAYOUT_RETRY_BACKOFF_MAX_SECONDS: '60' }, 'PAYOUT_RETRY_BACKOFF_SECONDS'],
  ])('refuses %s before starting anything, in a line naming it, without a stack trace', async (_what, env, name) => {
    const dataDir = await mkdtemp(join(tmpdir(), 'ledger-misconfigured-'));
    try {
      const service = startBuiltEntry('main.js', childEnv({ LEDGER_DATA_DIR: dataDir, ...env }));
      const { code } = await waitForExit(service.child, 30_000);
      const lines = service.output().trim().split('\n');

      expect({ code, lines: lines.map((line) => line.replace(/ \(.*$/, ' …')) }).toEqual({
        code: 1,
        lines: ['Pay2Slay Ledger cannot start: the environment is misconfigured.', expect.stringMatching(new RegExp(`^  - ${name} `)) as string, 'See .env.example for every variable.'],
      });
      expect(service.output()).not.toContain('hunter2');
      expect(await readdir(dataDir)).toEqual([]);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  /** The service's first lines when it cannot start, leaving out Nest's and the master key's. */
  async function refusalOf(env: Record<string, string>): Promise<{ code: number | null; output: string[] }> {
    const service = startBuiltEntry('main.js', childEnv({ LOG_LEVEL: 'silent', ...env }));
    const { code } = await waitForExit(service.child, 90_000);
    return { code, output: service.output().trim().split('\n').filter((line) => !line.includes('[Nest]') && !line.includes('master key')) };
  }

  it.each([
    ['a DATABASE_URL that is no postgres:// URL', 'ledger:secret@db:5432/ledger', /^Pay2Slay Ledger cannot start: the environment is misconfigured\.$/],
    [
      'a DATABASE_URL whose server is not there',
      'postgres://ledger:secret@127.0.0.1:1/ledger',
      /^Pay2Slay Ledger cannot start: the PostgreSQL of DATABASE_URL \(127\.0\.0\.1:1\/ledger\) cannot be used: connect ECONNREFUSED 127\.0\.0\.1:1\. Check DATABASE_URL/,
    ],
  ])('refuses %s in a message naming the variable, without its password or a stack trace', async (_what, url, first) => {
    const { code, output } = await refusalOf({ DATABASE_URL: url, PORT: String(await freePort()) });
    expect(code).toBe(1);
    expect(output[0]).toMatch(first);
    expect(output.join('\n')).toMatch(/DATABASE_URL/);
    expect(output.join('\n')).not.toMatch(/secret|\n\s+at /);
  });

  it('refuses a PORT another process listens on, naming it, without a stack trace', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'ledger-port-taken-'));
    const port = await freePort();
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', resolve));
    try {
      const { code, output } = await refusalOf({ LEDGER_DATA_DIR: dataDir, PORT: String(port) });
      expect({ code, output }).toEqual({ code: 1, output: [`Pay2Slay Ledger cannot start: PORT ${port} on 127.0.0.1 is in use by another process. Stop it, or set PORT to a free one.`] });
    } finally {
      taken.close();
      await stopLeftPostmaster(dataDir);
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 120_000);

  it('refuses a PORT another process listens on before it migrates the database', async () => {
    // An upgrade started while the old release still serves on the port would otherwise migrate
    // the database under the old release, then fail on the port and leave the old one running on
    // a schema it was not written for.
    const database = await createTestDatabase({ migrate: false });
    const port = await freePort();
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', resolve));
    const admin = new Client({ connectionString: database.url });
    await admin.connect();
    try {
      const { code, output } = await refusalOf({ DATABASE_URL: database.url, PORT: String(port) });
      const migrations = await admin.query<{ found: string | null }>(`SELECT to_regclass('schema_migrations')::text AS found`);
      expect({ code, output, migrations: migrations.rows[0]?.found }).toEqual({
        code: 1,
        output: [`Pay2Slay Ledger cannot start: PORT ${port} on 127.0.0.1 is in use by another process. Stop it, or set PORT to a free one.`],
        migrations: null,
      });
    } finally {
      taken.close();
      await admin.end();
      await database.drop();
    }
  });
});
