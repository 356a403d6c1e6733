import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';
import { serviceLogger } from './platform/logging/logger';
import { closeInTurn } from './platform/runtime/close-in-turn';
import { startInfrastructure } from './platform/runtime/infrastructure';
import { onShutdownSignal } from './platform/runtime/shutdown';
import { startupFailureMessage } from './platform/runtime/startup-failure';
import { createProjector } from './read-side';
import { loadServiceConfig, warnOfUnusedLiveVariables } from './service-config';
import { createIntegrations, startWorkers } from './workers';

/**
 * `npm run start:payouts`: the paying side without the HTTP API: settlement on its schedule, the
 * payout executor, and (unless PROJECTOR_IN_PROCESS=false) the projector. Any number of these and
 * of the API may run at once: advisory locks keep one settlement and one executor at a time (one
 * operator account is configured), and the operator stream's expected revision guards every
 * signed block.
 */
async function main(): Promise<() => Promise<void>> {
  const config = loadServiceConfig();
  const logger = serviceLogger(config);
  warnOfUnusedLiveVariables(process.env, logger);
  const infrastructure = await startInfrastructure(config, logger);
  const projector = config.projector.inProcess ? createProjector(infrastructure, config, logger) : null;
  projector?.start();
  const integrations = createIntegrations(config, process.env, infrastructure.pool);
  const app = await NestFactory.createApplicationContext(
    AppModule.register({
      config,
      logger,
      pool: infrastructure.pool,
      eventStore: infrastructure.eventStore,
      readinessChecks: [],
      lifetimeKillsSource: integrations.lifetimeKillsSource,
      yunite: integrations.yunite,
      banano: integrations.banano,
    }),
    { logger: ['error', 'warn'], abortOnError: false },
  );
  const workers = startWorkers(app, infrastructure.pool, integrations, config, process.env, logger);
  logger.info({ workers: workers.names }, 'payout workers running');
  process.stdout.write(`Pay2Slay Ledger payout workers running: ${workers.names.join(', ')}\n`);
  return async () => {
    // The executor finishes the payout step it is in before it stops.
    await closeInTurn(
      () => workers.stop(),
      () => app.close(),
      () => projector?.stop(),
      () => infrastructure.close(),
    );
  };
}

const started = main();
onShutdownSignal(started, (signal) => process.stdout.write(`${signal}: stopping the payout workers\n`));
started.catch((error: unknown) => {
  process.stderr.write(startupFailureMessage('The payout workers', error));
  process.exit(1);
});
