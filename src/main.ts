import 'reflect-metadata';
import { createHttpApp } from './platform/http/create-http-app';
import { serviceLogger } from './platform/logging/logger';
import { closeInTurn } from './platform/runtime/close-in-turn';
import { startInfrastructure } from './platform/runtime/infrastructure';
import { assertPortFree, portRefusal } from './platform/runtime/port-check';
import { onShutdownSignal } from './platform/runtime/shutdown';
import { startupFailureMessage } from './platform/runtime/startup-failure';
import { createProjector, projectionLagCheck } from './read-side';
import { loadServiceConfig, warnOfUnusedLiveVariables } from './service-config';
import { createIntegrations, payoutReadinessCheck, startWorkers } from './workers';

/** `npm start`: the API and (unless PROJECTOR_IN_PROCESS=false) the projector, in one process. */
async function main(): Promise<() => Promise<void>> {
  const config = loadServiceConfig();
  const logger = serviceLogger(config);
  warnOfUnusedLiveVariables(process.env, logger);
  await assertPortFree(config.port, config.host);
  const infrastructure = await startInfrastructure(config, logger);
  const projector = config.projector.inProcess ? createProjector(infrastructure, config, logger) : null;
  projector?.start();
  const integrations = createIntegrations(config, process.env, infrastructure.pool);
  const app = await createHttpApp({
    config,
    logger,
    pool: infrastructure.pool,
    eventStore: infrastructure.eventStore,
    readinessChecks: [...infrastructure.readinessChecks(), projectionLagCheck(infrastructure, config, projector), payoutReadinessCheck(integrations.banano)],
    lifetimeKillsSource: integrations.lifetimeKillsSource,
    yunite: integrations.yunite,
    banano: integrations.banano,
  });
  await app.listen({ port: config.port, host: config.host }).catch((error: unknown) => {
    throw portRefusal(error, config.port, config.host) ?? error;
  });
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
  const workers = startWorkers(app, infrastructure.pool, integrations, config, process.env, logger);
  logger.info(
    { url, projector: projector === null ? 'separate process' : 'in process', workers: workers.names },
    'Pay2Slay Ledger is listening',
  );
  process.stdout.write(`Pay2Slay Ledger listening on ${url}\n`);
  return async () => {
    logger.info('shutting down');
    await closeInTurn(
      () => workers.stop(),
      () => app.close(),
      () => projector?.stop(),
      () => infrastructure.close(),
    );
  };
}

const started = main();
onShutdownSignal(started, (signal) => process.stdout.write(`${signal}: stopping\n`));
started.catch((error: unknown) => {
  process.stderr.write(startupFailureMessage('Pay2Slay Ledger', error));
  process.exit(1);
});
