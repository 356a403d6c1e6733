import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../src/platform/config/project-root';
import { freePort, isAlive, readPid } from '../src/platform/database/embedded-postgres';
import { childEnv, eventually, startCapturing, waitForExit } from './support/processes';

// A process manager that runs `npm start` (systemd, pm2, a container whose command is npm) stops
// it with SIGTERM sent to npm alone. npm passes the signal on to its script's process only: when
// that is a shell waiting on node, the shell dies and the service is left running, holding the
// port and its embedded PostgreSQL, so the manager's restart finds both taken. The start scripts
// therefore `exec` node, and the signal reaches the service itself.
describe('a start script, stopped with SIGTERM sent to npm', () => {
  const dataDirs: string[] = [];
  const groups: number[] = [];

  afterAll(async () => {
    // npm leads a process group of its own (detached below); whatever outlived a failed test goes with it.
    for (const group of groups) {
      try {
        process.kill(-group, 'SIGKILL');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
      }
    }
    await Promise.all(dataDirs.map((dataDir) => rm(dataDir, { recursive: true, force: true })));
  });

  // Starting an embedded PostgreSQL on a new data directory takes a while on a busy machine.
  it.each([
    { script: 'start', running: 'Pay2Slay Ledger listening on', stopping: 'SIGTERM: stopping\n' },
    { script: 'start:projector', running: 'Pay2Slay Ledger projector running', stopping: 'SIGTERM: stopping the projector' },
    { script: 'start:payouts', running: 'Pay2Slay Ledger payout workers running', stopping: 'SIGTERM: stopping the payout workers' },
  ])('npm run $script stops, and its embedded PostgreSQL with it', async ({ script, running, stopping }) => {
    const dataDir = await mkdtemp(join(tmpdir(), 'ledger-npm-start-'));
    dataDirs.push(dataDir);
    const port = await freePort();
    // --ignore-scripts skips the pre-script's build: `npm test` has built already, and other suites run from dist meanwhile.
    const { child: npm, output } = startCapturing('npm', ['run', script, '--ignore-scripts'], {
      cwd: projectRoot(),
      env: childEnv({ LEDGER_DATA_DIR: dataDir, PORT: String(port) }),
      detached: true,
    });
    if (npm.pid !== undefined) groups.push(npm.pid);
    try {
      await eventually(`npm run ${script} to be running`, async () => (output().includes(running) ? true : undefined), 90_000, 100);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${output()}`);
    }
    const postgresPid = await readPid(join(dataDir, 'pg', 'postmaster.pid'));
    if (postgresPid === null) throw new Error(`no postmaster.pid in ${dataDir}/pg\n${output()}`);
    expect(isAlive(postgresPid)).toBe(true);
    if (script === 'start') expect((await fetch(`http://127.0.0.1:${port}/health`)).ok).toBe(true);

    npm.kill('SIGTERM');
    await waitForExit(npm);

    await eventually('the embedded PostgreSQL to stop', async () => (isAlive(postgresPid) ? undefined : true), 30_000, 100);
    // Stopped on the signal, by the service's own shutdown.
    expect(output()).toContain(stopping);
    if (script === 'start') await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
  }, 150_000);
});
