import 'reflect-metadata';
import { loadConfig } from './platform/config/config';
import { serviceLogger } from './platform/logging/logger';
import { closeInTurn } from './platform/runtime/close-in-turn';
import { startInfrastructure } from './platform/runtime/infrastructure';
import { onShutdownSignal } from './platform/runtime/shutdown';
import { startupFailureMessage } from './platform/runtime/startup-failure';
import { createProjector } from './read-side';

/**
 * `npm run start:projector`: the projector alone, for running the read side apart from the API
 * (start the API with PROJECTOR_IN_PROCESS=false). Several may run: each batch checks that its
 * checkpoint did not move, so two projectors never apply the same events twice.
 */
async function main(): Promise<() => Promise<void>> {
  const config = loadConfig();
  const logger = serviceLogger(config);
  const infrastructure = await startInfrastructure(config, logger);
  const projector = createProjector(infrastructure, config, logger);
  projector.start();
  logger.info({ projections: projector.status().map((status) => status.name) }, 'projector running');
  process.stdout.write('Pay2Slay Ledger projector running\n');
  return async () => {
    await closeInTurn(
      () => projector.stop(),
      () => infrastructure.close(),
    );
  };
}

const started = main();
onShutdownSignal(started, (signal) => process.stdout.write(`${signal}: stopping the projector\n`));
started.catch((error: unknown) => {
  process.stderr.write(startupFailureMessage('The projector', error));
  process.exit(1);
});
