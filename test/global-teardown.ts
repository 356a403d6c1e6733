import { rm } from 'node:fs/promises';
import type { RunningEmbeddedPostgres } from '../src/platform/database/embedded-postgres';

export default async function globalTeardown(): Promise<void> {
  const embedded = (globalThis as { __embeddedPostgres?: { postgres: RunningEmbeddedPostgres; dataDir: string } })
    .__embeddedPostgres;
  if (embedded === undefined) return;
  await embedded.postgres.stop();
  await rm(embedded.dataDir, { recursive: true, force: true });
}
