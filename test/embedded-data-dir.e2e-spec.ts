import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { projectRoot } from '../src/platform/config/project-root';
import { freePort, readPid } from '../src/platform/database/embedded-postgres';
import { childEnv, eventually, startBuiltEntry, type StartedService, startService, stopLeftPostmaster, waitForExit } from './support/processes';

/**
 * The embedded data directory's ownership (owner.pid) and first initialisation, against what a
 * machine does to them: two starts at once, a crash that leaves a recorded pid to an unrelated
 * process, and a first start killed while initdb runs.
 */
describe('the embedded data directory', () => {
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'ledger-data-dir-'));
  });

  afterEach(async () => {
    await stopLeftPostmaster(dataDir);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('has one owner when two services start on it at once; the other is refused and a CLI beside the first leaves its PostgreSQL running', async () => {
    // Widens the window between reading owner.pid and writing it (a slow disk, a busy machine) by
    // answering each read of it 1.5 s late, in both services.
    const preload = join(dataDir, '..', `slow-owner-read-${process.pid}.js`);
    await writeFile(
      preload,
      "const fsp = require('node:fs/promises'); const readFile = fsp.readFile;\n" +
        "fsp.readFile = async (...args) => { try { return await readFile(...args); } finally { if (String(args[0]).endsWith('owner.pid')) await new Promise((r) => setTimeout(r, 1500)); } };\n",
    );
    const first = await startService({ LEDGER_DATA_DIR: dataDir });
    expect(await first.stop('SIGTERM')).toBe(0);
    const ports = [await freePort(), await freePort()];
    const children = ports.map((port) => startBuiltEntry('main.js', childEnv({ LEDGER_DATA_DIR: dataDir, PORT: String(port), NODE_OPTIONS: `--require ${preload}` })));
    try {
      const winner = await eventually(
        'one of the two to answer /health',
        async () => {
          for (const [index, port] of ports.entries()) if ((await fetch(`http://127.0.0.1:${port}/health`).catch(() => null))?.ok) return index;
          return undefined;
        },
        90_000,
        200,
      );
      const loser = children[1 - winner];
      const exit = await waitForExit(loser.child, 90_000);
      const owner = await readPid(join(dataDir, 'owner.pid'));
      const cli = startBuiltEntry('cli.main.js', childEnv({ LEDGER_DATA_DIR: dataDir }), ['api-keys', 'list']);
      const cliExit = await waitForExit(cli.child, 90_000);
      const ready = await fetch(`http://127.0.0.1:${ports[winner]}/ready`).then((response) => response.status);

      expect({ exit, refusal: loser.output().trim().split('\n')[0], owner, cliExit: cliExit.code, ready }).toEqual({
        exit: { code: 1, signal: null },
        refusal: expect.stringMatching(/^Pay2Slay Ledger cannot start: Another process \(pid \d+\) is using the embedded database/),
        owner: children[winner].child.pid,
        cliExit: 0,
        ready: 200,
      });
    } finally {
      for (const child of children) if (child.child.exitCode === null) child.child.kill('SIGTERM');
      await Promise.all(children.map((child) => waitForExit(child.child, 60_000).catch(() => child.child.kill('SIGKILL'))));
      await rm(preload, { force: true });
    }
  }, 300_000);

  it('starts after a crash that left owner.pid naming a pid now taken by an unrelated process', async () => {
    let other: ReturnType<typeof spawn> | undefined;
    let service: StartedService | undefined;
    try {
      service = await startService({ LEDGER_DATA_DIR: dataDir });
      expect(await service.stop('SIGKILL')).toBe(null);
      // The dead owner's record, its number since given to a process started after it.
      other = spawn('sleep', ['300'], { stdio: 'ignore' });
      const record = await readFile(join(dataDir, 'owner.pid'), 'utf8');
      await writeFile(join(dataDir, 'owner.pid'), record.replace(/^\d+/, String(other.pid)));
      service = await startService({ LEDGER_DATA_DIR: dataDir }, 90_000);
      expect(await service.stop('SIGTERM')).toBe(0);
      service = undefined;
    } finally {
      await service?.stop('SIGTERM').catch(() => undefined);
      other?.kill('SIGKILL');
    }
  }, 300_000);

  /** `npm start` and `npm run cli` in a second terminal at once, as the README's Quick start has them. */
  it('lets a CLI command started while the service brings up its PostgreSQL wait for it, and use it', async () => {
    const port = await freePort();
    // The service looks for a cluster left running (postmaster.pid) once it owns the directory:
    // each such read answers 3 s late, so the command always comes while the cluster is not up yet.
    const preload = join(dataDir, '..', `slow-postmaster-read-${process.pid}.js`);
    await writeFile(
      preload,
      "const fsp = require('node:fs/promises'); const readFile = fsp.readFile;\n" +
        "fsp.readFile = async (...args) => { try { return await readFile(...args); } finally { if (String(args[0]).endsWith('postmaster.pid')) await new Promise((r) => setTimeout(r, 3000)); } };\n",
    );
    const service = startBuiltEntry('main.js', childEnv({ LEDGER_DATA_DIR: dataDir, PORT: String(port), NODE_OPTIONS: `--require ${preload}` }));
    try {
      // The service owns the directory, and its cluster is seconds away.
      await eventually('the service to own the data directory', async () => ((await readPid(join(dataDir, 'owner.pid'))) === service.child.pid ? true : undefined), 60_000, 5);
      expect(existsSync(join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);
      const cli = startBuiltEntry('cli.main.js', childEnv({ LEDGER_DATA_DIR: dataDir }), ['api-keys', 'list']);
      const cliExit = await waitForExit(cli.child, 120_000);
      await eventually('the service to answer /health', async () => ((await fetch(`http://127.0.0.1:${port}/health`).catch(() => null))?.ok === true ? true : undefined), 90_000, 200);

      expect({ cliExit: cliExit.code, cli: cli.output().trim().split('\n').slice(-1)[0], owner: await readPid(join(dataDir, 'owner.pid')), service: service.child.exitCode }).toEqual({
        cliExit: 0,
        cli: 'No API keys.',
        owner: service.child.pid,
        service: null,
      });
      expect(cli.output()).toContain(`waiting for the service (pid ${String(service.child.pid)}) to start the embedded PostgreSQL`);
    } finally {
      service.child.kill('SIGTERM');
      expect((await waitForExit(service.child, 60_000)).code).toBe(0);
      await rm(preload, { force: true });
    }
  }, 300_000);

  it('keeps a CLI command waiting until the service’s PostgreSQL is ready, and stops it at once on Ctrl-C', async () => {
    // owner.pid names a live service (a stand-in process, without a start time) whose cluster never
    // comes up: its postmaster.pid, written as a postmaster starts, says `starting`, not `ready`, and
    // nothing takes connections on its port. Taken at its word, the command was refused a connection.
    const standIn = spawn('sleep', ['300'], { stdio: 'ignore' });
    try {
      const pid = standIn.pid as number;
      await writeFile(join(dataDir, 'owner.pid'), `${pid}\n\nservice\n`);
      await mkdir(join(dataDir, 'pg'));
      await writeFile(join(dataDir, 'pg', 'postmaster.pid'), [pid, join(dataDir, 'pg'), '1796686341', await freePort(), '/tmp', '127.0.0.1', '0 0', 'starting', ''].join('\n'));
      const cli = startBuiltEntry('cli.main.js', childEnv({ LEDGER_DATA_DIR: dataDir }), ['api-keys', 'list']);
      await eventually('the command to wait', async () => (cli.output().includes(`waiting for the service (pid ${pid})`) ? true : undefined), 60_000, 50);
      await sleep(1_000);
      expect(cli.child.exitCode).toBeNull();
      const signalledAt = Date.now();
      cli.child.kill('SIGINT');
      const exit = await waitForExit(cli.child, 60_000);
      expect({ exit, withinMs: Date.now() - signalledAt < 10_000, owner: await readFile(join(dataDir, 'owner.pid'), 'utf8') }).toEqual({
        exit: { code: 130, signal: null },
        withinMs: true,
        owner: `${pid}\n\nservice\n`,
      });
    } finally {
      standIn.kill('SIGKILL');
      await waitForExit(standIn);
    }
  }, 120_000);

  it('starts a service once a CLI command that owned the data directory has ended, rather than refuse it', async () => {
    const tail = startBuiltEntry('cli.main.js', childEnv({ LEDGER_DATA_DIR: dataDir }), ['events', 'tail']);
    const port = await freePort();
    let service: ReturnType<typeof startBuiltEntry> | undefined;
    try {
      await eventually('the tail to follow', async () => (tail.output().includes('Following the event store') ? true : undefined), 90_000, 50);
      expect(await readPid(join(dataDir, 'owner.pid'))).toBe(tail.child.pid);
      service = startBuiltEntry('main.js', childEnv({ LEDGER_DATA_DIR: dataDir, PORT: String(port) }));
      const started = service;
      await eventually('the service to wait', async () => (started.output().includes(`waiting for the npm run cli command (pid ${String(tail.child.pid)})`) ? true : undefined), 60_000, 50);
      expect(started.child.exitCode).toBeNull();

      tail.child.kill('SIGINT');
      expect((await waitForExit(tail.child, 60_000)).code).toBe(0);
      await eventually('the service to answer /health', async () => ((await fetch(`http://127.0.0.1:${port}/health`).catch(() => null))?.ok === true ? true : undefined), 90_000, 200);
      expect(await readPid(join(dataDir, 'owner.pid'))).toBe(started.child.pid);
    } finally {
      if (tail.child.exitCode === null) tail.child.kill('SIGKILL');
      if (service !== undefined) {
        service.child.kill('SIGTERM');
        expect((await waitForExit(service.child, 60_000)).code).toBe(0);
      }
    }
  }, 300_000);

  it('starts after a first start was killed while initdb ran', async () => {
    const first = spawn(process.execPath, [join(projectRoot(), 'dist', 'src', 'main.js')], {
      env: childEnv({ LEDGER_DATA_DIR: dataDir, PORT: '0' }),
      stdio: 'ignore',
      detached: true,
    });
    // initdb writes PG_VERSION first of all: killed then, the cluster is far from made.
    const deadline = Date.now() + 60_000;
    const started = (): boolean => existsSync(join(dataDir, 'pg.init', 'PG_VERSION')) || existsSync(join(dataDir, 'pg', 'PG_VERSION'));
    while (!started() && Date.now() < deadline) await sleep(5);
    process.kill(-(first.pid as number), 'SIGKILL');
    await waitForExit(first);
    expect(existsSync(join(dataDir, 'pg', 'global', 'pg_control')) || !existsSync(join(dataDir, 'pg'))).toBe(true);

    const service = await startService({ LEDGER_DATA_DIR: dataDir }, 90_000);
    expect(await service.stop('SIGTERM')).toBe(0);
  }, 300_000);
});
