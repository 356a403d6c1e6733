import { loadConfig } from './platform/config/config';
import { serviceLogger } from './platform/logging/logger';
import { startInfrastructure } from './platform/runtime/infrastructure';
import { startupFailureMessage } from './platform/runtime/startup-failure';
import { escapeControlCharacters } from './platform/text/control-characters';

/**
 * `npm run migrate`: applies pending migrations (start-up does too) and exits. It takes no
 * arguments: one given (`--dry-run`, a migration number) would look obeyed while every pending
 * migration was applied, so it is refused before anything connects.
 */
async function main(): Promise<void> {
  const [argument] = process.argv.slice(2);
  if (argument !== undefined) {
    process.stderr.write(`error: npm run migrate takes no arguments (got ${escapeControlCharacters(argument)}); it applies every pending migration\n`);
    process.exit(1);
  }
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
