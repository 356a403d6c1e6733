import { type ChildProcess, spawn } from 'node:child_process';

/** The output a child keeps for an error message: its last lines, not a whole run's logs. */
const OUTPUT_TAIL_CHARS_MAX = 16_384;
const STOP_TIMEOUT_MS = 30_000;

export interface BenchChild {
  readonly child: ChildProcess;
  readonly pid: number;
  /** The last lines the child wrote to stdout and stderr. */
  output(): string;
  /** SIGTERM, then SIGKILL after a grace period; resolves once it has exited. */
  stop(): Promise<void>;
}

/** Every child started and not yet stopped, so the runner can stop them after a failure or Ctrl-C. */
const running = new Set<BenchChild>();

/** Starts `node <args>` with `env`, keeping only the tail of its output. */
export function startNodeChild(args: readonly string[], env: NodeJS.ProcessEnv): BenchChild {
  const child = spawn(process.execPath, [...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const keep = (chunk: Buffer): void => {
    tail = (tail + chunk.toString()).slice(-OUTPUT_TAIL_CHARS_MAX);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  if (child.pid === undefined) throw new Error(`node ${args.join(' ')} did not start`);
  const pid = child.pid;
  const handle: BenchChild = {
    child,
    pid,
    output: () => tail,
    async stop() {
      running.delete(handle);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
  running.add(handle);
  child.once('exit', () => running.delete(handle));
  return handle;
}

/** Stops every child still running (the runner's clean-up). */
export async function stopAllChildren(): Promise<void> {
  await Promise.all([...running].map((handle) => handle.stop()));
}

/**
 * Polls `probe` until it answers a value other than undefined; fails after `timeoutMs`, or at once
 * when `child` has exited (it will never answer).
 */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, child?: BenchChild, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child !== undefined && (child.child.exitCode !== null || child.child.signalCode !== null)) {
      throw new Error(`process ${child.pid} exited (${child.child.exitCode ?? child.child.signalCode}) while waiting for ${what}`);
    }
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The environment of a child: this process's, without the settings each benchmark chooses itself. */
export function childEnv(overrides: Readonly<Record<string, string>>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['DATABASE_URL', 'EVENTSTORE_CONNECTION_STRING', 'PORT', 'LEDGER_DATA_DIR', 'NODE_OPTIONS']) delete env[name];
  return { ...env, ...overrides };
}
