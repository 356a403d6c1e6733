/**
 * P4's reference: a bare fastify + pg server answering the four dashboard routes with the SQL their
 * handlers run (support/dashboard-sql.ts), and nothing else: no authentication, no validation, no
 * rate limits, no metrics, no NestJS. Its latency over the pg baseline's is what any HTTP service
 * in front of that SQL pays on this machine, the ledger's own share of P4's ratio being the rest.
 *
 * Environment: DATABASE_URL, PORT, POOL_SIZE (the size of each of the service's two pools).
 */
import Fastify from 'fastify';
import { Pool } from 'pg';
import { type Pools, QUERIES } from '../support/dashboard-sql';

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is required`);
  return value;
}

async function main(): Promise<void> {
  const connectionString = requiredEnv('DATABASE_URL');
  const max = Number(requiredEnv('POOL_SIZE'));
  const pools: Pools = {
    db: new Pool({ connectionString, max, application_name: 'bench-p4-bare' }),
    events: new Pool({ connectionString, max, application_name: 'bench-p4-bare-events' }),
  };
  const app = Fastify({ logger: false });
  for (const query of QUERIES) {
    // The route without its query string (the leaderboard's ?by=kills).
    const route = query.path(':userId').split('?')[0];
    app.get<{ Params: { userId?: string } }>(route, (request) => query.baseline(pools, request.params.userId ?? ''));
  }
  await app.listen({ port: Number(requiredEnv('PORT')), host: '127.0.0.1' });
  process.stdout.write('baseline listening\n');

  const stop = (): void => {
    void app
      .close()
      .then(() => Promise.all([pools.db.end(), pools.events.end()]))
      .then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`bare query server failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
