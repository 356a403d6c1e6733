import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../src/platform/config/project-root';
import { isAlive, readPid } from '../src/platform/database/embedded-postgres';
import { Client } from 'pg';
import { sql } from 'slonik';
import { loadConfig } from '../src/platform/config/config';
import { createLogger } from '../src/platform/logging/logger';
import { startInfrastructure } from '../src/platform/runtime/infrastructure';
import { childEnv, eventually, startCapturing, stopLeftPostmaster, waitForExit } from './support/processes';
import { createTestDatabase } from './support/test-database';

/**
 * Closing the infrastructure stops the embedded PostgreSQL even when a step before it fails: the
 * event store or the pool refusing to end must not leave the postmaster running on the data
 * directory after the process has gone, and the failure is still reported. The embedded
 * PostgreSQL cannot be loaded inside jest (an ES module), so the built code runs in a child
 * process.
 */
describe('closing the infrastructure', () => {
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'ledger-close-'));
  });

  afterEach(async () => {
    await stopLeftPostmaster(dataDir);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('stops the embedded PostgreSQL when ending the event store fails, and still reports that failure', async () => {
    const script = [
      `const { loadConfig } = require('./dist/src/platform/config/config');`,
      `const { createLogger } = require('./dist/src/platform/logging/logger');`,
      `const { startInfrastructure } = require('./dist/src/platform/runtime/infrastructure');`,
      `(async () => {`,
      `  const infrastructure = await startInfrastructure(loadConfig(process.env), createLogger('silent'));`,
      `  console.log('started');`,
      // The pool's own end fails, as one did once after the server had cut its connections (not
      // reproducible on demand): the rest of the pool is real and is ended first.
      `  const end = infrastructure.pool.end.bind(infrastructure.pool);`,
      `  infrastructure.pool.end = async () => { await end(); throw new Error('the pool could not end'); };`,
      `  const closed = await infrastructure.close().then(() => 'closed', (error) => error.message);`,
      `  console.log('close: ' + closed);`,
      `  process.exit(0);`,
      `})();`,
    ].join('\n');
    const { child, output } = startCapturing(process.execPath, ['-e', script], { cwd: projectRoot(), env: childEnv({ LEDGER_DATA_DIR: dataDir }) });
    const exit = await waitForExit(child, 90_000);
    const pidFile = join(dataDir, 'pg', 'postmaster.pid');
    const postmaster = await readPid(pidFile);

    expect({
      exit: exit.code,
      output: output().trim().split('\n'),
      postmasterRunning: postmaster !== null && isAlive(postmaster),
      pidFile: existsSync(pidFile),
    }).toEqual({
      exit: 0,
      output: ['started', 'close: the pool could not end'],
      postmasterRunning: false,
      pidFile: false,
    });
  }, 120_000);

  it('ends when the server terminates a connection whose query is still running as the pool ends', async () => {
    // A failover, a restart or an administrator ends a backend while the process stops (as the
    // server does to a projector batch left idle too long): that connection is gone, which is what
    // ending the pool wanted, and the shutdown goes on to exit 0.
    const database = await createTestDatabase();
    const admin = new Client({ connectionString: database.url });
    await admin.connect();
    try {
      const infrastructure = await startInfrastructure(loadConfig({ DATABASE_URL: database.url }), createLogger('silent'));
      const running = infrastructure.pool.query(sql.unsafe`SELECT pg_sleep(20) AS running_as_the_pool_ends`).then(
        () => 'finished',
        (error: unknown) => (error instanceof Error ? error.message : String(error)),
      );
      const backend = await eventually(
        'the query running',
        async () => (await admin.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE query LIKE '%running_as_the_pool_ends%' AND pid <> pg_backend_pid()`)).rows[0]?.pid,
        10_000,
        20,
      );
      const closing = infrastructure.close().then(
        () => 'closed',
        (error: unknown) => (error instanceof Error ? error.message : String(error)),
      );
      await admin.query('SELECT pg_terminate_backend($1)', [backend]);

      expect({ closed: await closing, query: await running }).toEqual({ closed: 'closed', query: expect.stringMatching(/terminat/i) });
    } finally {
      await admin.end();
      await database.drop();
    }
  });
});

