import { join } from 'node:path';
import { freePort } from '../../src/platform/database/embedded-postgres';
import { type BenchChild, childEnv, eventually, startNodeChild } from './children';
import { messageOf } from '../../src/platform/errors/message-of';

export interface BaselineServer {
  readonly baseUrl: string;
  readonly process: BenchChild;
  stop(): Promise<void>;
}

/** The ledger event store's pool size (PostgresEventStore's default), which the baseline matches. */
export const LEDGER_EVENT_STORE_POOL_SIZE = 10;

/**
 * A bare fastify + pg server of bench/baseline, compiled beside this file, in its own process like
 * the ledger, on `databaseUrl`: by default P1's ingestion baseline (its requests say how many rows
 * an observation writes, in a header), or P4's query reference (`bare-query-server`).
 */
export async function startBaselineServer(options: { databaseUrl: string; server?: 'bare-ingest-server' | 'bare-query-server' }): Promise<BaselineServer> {
  const port = await freePort();
  const script = join(__dirname, '..', 'baseline', `${options.server ?? 'bare-ingest-server'}.js`);
  const child = startNodeChild(
    [script],
    childEnv({
      DATABASE_URL: options.databaseUrl,
      PORT: String(port),
      POOL_SIZE: String(LEDGER_EVENT_STORE_POOL_SIZE),
      NODE_ENV: 'production',
    }),
  );
  const baseUrl = `http://127.0.0.1:${port}`;
  try {
    await eventually(
      'the baseline server to listen',
      async () => (child.output().includes('baseline listening') ? true : undefined),
      30_000,
      child,
      50,
    );
  } catch (error) {
    await child.stop();
    throw new Error(`the baseline server did not start: ${messageOf(error)}\n${child.output()}`);
  }
  return { baseUrl, process: child, stop: () => child.stop() };
}
