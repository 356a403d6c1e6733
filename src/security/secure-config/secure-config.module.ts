import { Inject, Injectable, Module, type OnApplicationBootstrap } from '@nestjs/common';
import { type DatabasePool } from 'slonik';
import { GetOperatorSeedStatusController } from '../../admin/get-operator-seed-status/get-operator-seed-status.controller';
import { GetOperatorSeedStatusHandler } from '../../admin/get-operator-seed-status/get-operator-seed-status.handler';
import { SetOperatorSeedController } from '../../admin/set-operator-seed/set-operator-seed.controller';
import { SetOperatorSeedHandler } from '../../admin/set-operator-seed/set-operator-seed.handler';
import { LEDGER_CONFIG, type LedgerConfig } from '../../platform/config/config';
import { DATABASE_POOL } from '../../platform/database/database';
import { EVENT_STORE, type EventStore } from '../../platform/event-store/event-store.port';
import { LOGGER, type Logger } from '../../platform/logging/logger';
import { type MasterKey } from './master-key';
import { isLooselyPermitted, resolveMasterKey } from './resolve-master-key';
import { SecureConfigStore } from './secure-config.store';
import { MASTER_KEY, SECURE_CONFIG_STORE } from './secure-config.tokens';
import { messageOf } from '../../platform/errors/message-of';

/**
 * Resolves the master key as the application starts, so a production start without one fails
 * there (a ConfigError), and says where the key came from: never the key itself.
 */
async function masterKeyAtStart(config: LedgerConfig, logger: Logger): Promise<MasterKey | null> {
  const { masterKey, origin, path } = await resolveMasterKey(config);
  switch (origin) {
    case 'environment':
      logger.info({ keyId: masterKey?.keyId }, 'secure_config: master key from LEDGER_MASTER_KEY');
      break;
    case 'generated':
      logger.warn(
        { keyId: masterKey?.keyId, path },
        'secure_config: LEDGER_MASTER_KEY is not set, so a master key was generated into the data directory (mode 0600); ' +
          'it is reused on every start. Back it up with the data, or set LEDGER_MASTER_KEY',
      );
      break;
    case 'data-dir-file':
      logger.info({ keyId: masterKey?.keyId, path }, 'secure_config: master key from the data directory');
      if (path !== null && (await isLooselyPermitted(path))) {
        logger.warn({ path }, 'secure_config: the master key file can be read by others than its owner; chmod 600 it');
      }
      break;
    case 'none':
      logger.warn('secure_config: LEDGER_MASTER_KEY is not set; the operator seed cannot be stored (PUT /v1/admin/operator-seed answers 503 master_key_not_configured)');
      break;
    default: {
      const unknownOrigin: never = origin;
      throw new Error(`unknown master key origin ${String(unknownOrigin)}`);
    }
  }
  return masterKey;
}

/** Appends SecureConfigChanged events a crash left in the outbox, once the application is up. */
@Injectable()
class SecureConfigOutboxOnStart implements OnApplicationBootstrap {
  constructor(
    @Inject(SECURE_CONFIG_STORE) private readonly store: SecureConfigStore,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    try {
      const appended = await this.store.appendPendingEvents();
      if (appended > 0) this.logger.info({ appended }, 'secure_config: appended the changes a crash left unrecorded');
    } catch (error) {
      // The next change or start-up tries again; the service need not wait for the event store.
      this.logger.warn({ error: messageOf(error) }, 'secure_config: recorded changes could not be appended yet');
    }
  }
}

/** The operator seed in secure_config (SPEC §4.6): its store, its master key and its admin routes. */
@Module({
  controllers: [SetOperatorSeedController, GetOperatorSeedStatusController],
  providers: [
    { provide: MASTER_KEY, inject: [LEDGER_CONFIG, LOGGER], useFactory: masterKeyAtStart },
    { provide: SECURE_CONFIG_STORE, inject: [DATABASE_POOL, EVENT_STORE], useFactory: (pool: DatabasePool, store: EventStore) => new SecureConfigStore(pool, store) },
    SetOperatorSeedHandler,
    GetOperatorSeedStatusHandler,
    SecureConfigOutboxOnStart,
  ],
  exports: [MASTER_KEY, SECURE_CONFIG_STORE],
})
export class SecureConfigModule {}
