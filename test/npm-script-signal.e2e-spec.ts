import { type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../src/platform/config/project-root';
import { freePort, isAlive, readPid } from '../src/platform/database/embedded-postgres';
import { childEnv, eventually, killGroups, startCapturing, waitForExit } from './support/processes';

// A process manager that runs `npm start` (systemd, pm2, a container whose command is npm) stops
// it with SIGTERM sent to npm alone. npm passes the signal on to its script's process only: when
// that is a shell waiting on node, the shell dies and the service is left running, holding the
// port and its embedded PostgreSQL, so the manager's restart finds both taken. The start scripts
// and `cli` therefore `exec` node, and the signal reaches the process itself.
describe('an npm script, stopped with SIGTERM sent to npm', () => {
  const dataDirs: string[] = [];
  const groups: number[] = [];

  afterAll(async () => {
    // npm leads a process group of its own (detached below); whatever outlived a failed test goes with it.
    killGroups(groups);
    await Promise.all(dataDirs.map((dataDir) => rm(dataDir, { recursive: true, force: true })));
  });

  async function newDataDir(): Promise<string> {
    const dataDir = await mkdtemp(join(tmpdir(), 'ledger-npm-script-'));
    dataDirs.push(dataDir);
    return dataDir;
  }

  /**
   * `npm run <script> --ignore-scripts [args]`, in a process group of its own, once `running` says
   * it is under way; answers npm, its output, and the pid of the embedded PostgreSQL it started.
   * --ignore-scripts skips the pre-script's build: `npm test` has built already, and other suites
   * run from dist meanwhile.
   */
  async function npmRun(
    script: string,
    args: readonly string[],
    env: Record<string, string>,
    running: (output: string) => boolean,
  ): Promise<{ npm: ChildProcess; output: () => string; postgresPid: number }> {
    const { child: npm, output } = startCapturing('npm', ['run', script, '--ignore-scripts', ...args], { cwd: projectRoot(), env: childEnv(env), detached: true });
    if (npm.pid !== undefined) groups.push(npm.pid);
    try {
      await eventually(`npm run ${script} to be running`, async () => (running(output()) ? true : undefined), 90_000, 100);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${output()}`);
    }
    const postgresPid = await readPid(join(env.LEDGER_DATA_DIR, 'pg', 'postmaster.pid'));
    if (postgresPid === null) throw new Error(`no postmaster.pid in ${env.LEDGER_DATA_DIR}/pg\n${output()}`);
    expect(isAlive(postgresPid)).toBe(true);
    return { npm, output, postgresPid };
  }

  // Starting an embedded PostgreSQL on a new data directory takes a while on a busy machine.
  // `events tail` stops on the signal as on Ctrl-C, with exit 0. Following, it says so on stderr
  // once its handlers are in place, and it prints nothing as it stops.
  it.each([
    { command: 'start', running: 'Pay2Slay Ledger listening on', stopping: 'SIGTERM: stopping\n' },
    { command: 'start:projector', running: 'Pay2Slay Ledger projector running', stopping: 'SIGTERM: stopping the projector' },
    { command: 'start:payouts', running: 'Pay2Slay Ledger payout workers running', stopping: 'SIGTERM: stopping the payout workers' },
    { command: 'cli -- events tail', running: 'Following the event store ', stopping: null },
  ])('npm run $command stops, and its embedded PostgreSQL with it', async ({ command, running, stopping }) => {
    const [script, ...args] = command.split(' ');
    const port = await freePort();
    const { npm, output, postgresPid } = await npmRun(script, args, { LEDGER_DATA_DIR: await newDataDir(), PORT: String(port) }, (text) => text.includes(running));
    if (script === 'start') expect((await fetch(`http://127.0.0.1:${port}/health`)).ok).toBe(true);

    npm.kill('SIGTERM');
    // npm answers its script's exit: 0, a stop asked for, not a failure.
    expect(await waitForExit(npm)).toEqual({ code: 0, signal: null });

    await eventually('the embedded PostgreSQL to stop', async () => (isAlive(postgresPid) ? undefined : true), 30_000, 100);
    // Stopped on the signal, by the service's own shutdown.
    if (stopping !== null) expect(output()).toContain(stopping);
    if (script === 'start') await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
  }, 150_000);

  // A one-shot command does not take the signal: it stops at once, as a killed process, but shuts
  // down the embedded PostgreSQL it started first. It is held here in an RPC to a node that accepts
  // and never answers, so the signal surely arrives mid-command.
  it('npm run cli -- reconcile stops mid-command, and its embedded PostgreSQL with it', async () => {
    const dataDir = await newDataDir();
    const seedFile = join(dataDir, 'operator.seed');
    await writeFile(seedFile, randomBytes(32).toString('hex').toUpperCase(), { mode: 0o600 });
    let requests = 0;
    const silentNode = createServer(() => {
      requests += 1;
    });
    await new Promise<void>((resolve) => silentNode.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silentNode.address() as AddressInfo;
      const env = { LEDGER_DATA_DIR: dataDir, BANANO_RPC_URL: `http://127.0.0.1:${port}`, BANANO_RPC_TIMEOUT_MS: '300000', BANANO_OPERATOR_SEED_FILE: seedFile };
      const { npm, output, postgresPid } = await npmRun('cli', ['--', 'reconcile'], env, () => requests > 0);

      npm.kill('SIGTERM');

      // 128 + 15, as a process killed by the signal; npm passes it on.
      expect(await waitForExit(npm)).toEqual({ code: 143, signal: null });
      expect(isAlive(postgresPid)).toBe(false);
      expect(existsSync(join(dataDir, 'owner.pid'))).toBe(false);
      expect(output()).toContain('SIGTERM: stopped\n');
      // Cut short by the signal, the command reports no error of its own.
      expect(output()).not.toContain('error: ');
    } finally {
      silentNode.closeAllConnections();
      await new Promise((resolve) => silentNode.close(resolve));
    }
  }, 150_000);
});
