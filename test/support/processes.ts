import { type ChildProcess, spawn, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/platform/config/project-root';
import { freePort, isAlive, readPid } from '../../src/platform/database/embedded-postgres';

/** Stops a postmaster a killed or refused service left on `dataDir`, so no test leaves a PostgreSQL behind. */
export async function stopLeftPostmaster(dataDir: string): Promise<void> {
  const pidFile = join(dataDir, 'pg', 'postmaster.pid');
  const pid = await readPid(pidFile);
  if (pid !== null && existsSync(pidFile) && isAlive(pid)) process.kill(pid, 'SIGINT');
}

/** Starts a compiled entry point (`npm test` builds first) as a child process. */
export function startBuiltEntry(entry: string, env: NodeJS.ProcessEnv, args: readonly string[] = []): { child: ChildProcess; output: () => string } {
  const file = join(projectRoot(), 'dist', 'src', entry);
  if (!existsSync(file)) throw new Error(`${file} is missing: run the tests with npm test, which builds first`);
  return startCapturing(process.execPath, [file, ...args], { env });
}

/** Starts a child process whose stdout and stderr are kept, together, for `output()`. */
export function startCapturing(
  command: string,
  args: readonly string[],
  options: Omit<SpawnOptions, 'stdio'>,
): { child: ChildProcess; output: () => string } {
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  return { child, output: () => output };
}

export function waitForExit(child: ChildProcess, timeoutMs = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`process ${child.pid} did not exit within ${timeoutMs} ms`)), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** The environment of a child service: this one's, without the settings a test must choose. */
export function childEnv(overrides: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['DATABASE_URL', 'EVENTSTORE_CONNECTION_STRING', 'PORT', 'LEDGER_DATA_DIR', 'TEST_ADMIN_DATABASE_URL']) delete env[name];
  return { ...env, LOG_LEVEL: 'warn', ...overrides };
}

/** A started service (`dist/src/main.js`) that answers /health. */
export interface StartedService {
  readonly baseUrl: string;
  readonly child: ChildProcess;
  output(): string;
  /** Signals the service and resolves with its exit code once it has exited. */
  stop(signal: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts the service on a free port with `overrides` over `childEnv`, and waits until it answers
 * /health; a service that does not is killed, and the error carries its output.
 */
export async function startService(overrides: Record<string, string>, readyTimeoutMs = 90_000): Promise<StartedService> {
  const port = await freePort();
  const service = startBuiltEntry('main.js', childEnv({ ...overrides, PORT: String(port) }));
  const baseUrl = `http://127.0.0.1:${port}`;
  try {
    await eventually('the service to answer /health', async () => ((await fetch(`${baseUrl}/health`)).ok ? true : undefined), readyTimeoutMs, 100);
  } catch (error) {
    service.child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}\n${service.output()}`);
  }
  return {
    baseUrl,
    ...service,
    stop: async (signal) => {
      service.child.kill(signal);
      return (await waitForExit(service.child)).code;
    },
  };
}

/** SIGKILLs each process group (a child started with `detached: true` leads one), gone ones aside. */
export function killGroups(groups: readonly number[]): void {
  for (const group of groups) {
    try {
      process.kill(-group, 'SIGKILL');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }
}
