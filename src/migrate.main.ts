import { loadConfig } from './platform/config/config';
import { serviceLogger } from './platform/logging/logger';
import { startInfrastructure } from './platform/runtime/infrastructure';
import { startupFailureMessage } from './platform/runtime/startup-failure';

/** `npm run migrate`: applies pending migrations (start-up does too) and exits. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = serviceLogger(config);
  const infrastructure = await startInfrastructure(config, logger);
  await infrastructure.close();
  process.stdout.write('Migrations are up to date\n');
}

main().catch((error: unknown) => {
  process.stderr.write(startupFailureMessage('Migration', error));
  process.exit(1);
});
