import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { LOGGER, type Logger } from '../../platform/logging/logger';
import { type MasterKey } from '../../security/secure-config/master-key';
import { MASTER_KEY, SECURE_CONFIG_STORE } from '../../security/secure-config/secure-config.tokens';
import { type SecureConfigStore } from '../../security/secure-config/secure-config.store';
import { storeOperatorSeed } from '../../security/secure-config/stored-operator-seed';
import { SetOperatorSeedCommand } from './set-operator-seed.command';

/**
 * Encrypts the seed under this process's master key into secure_config and records
 * SecureConfigChanged `set` with the derived address; the seed already stored records nothing.
 * Payouts read the new seed on their next step: no restart.
 */
@CommandHandler(SetOperatorSeedCommand)
export class SetOperatorSeedHandler implements ICommandHandler<SetOperatorSeedCommand, void> {
  constructor(
    @Inject(SECURE_CONFIG_STORE) private readonly store: SecureConfigStore,
    @Inject(MASTER_KEY) private readonly masterKey: MasterKey | null,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** The seed is stored once its transaction commits; an event store down after that only delays its event. */
  async execute(command: SetOperatorSeedCommand): Promise<void> {
    const { address, eventsPending } = await storeOperatorSeed({ store: this.store, key: this.masterKey, seed: command.seed, metadata: command.metadata, now: new Date() });
    if (eventsPending !== null) {
      this.logger.warn({ address, error: eventsPending }, 'operator seed stored; its SecureConfigChanged waits in the outbox until the event store takes it');
    }
  }
}
