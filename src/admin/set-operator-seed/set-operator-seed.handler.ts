import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
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
  ) {}

  async execute(command: SetOperatorSeedCommand): Promise<void> {
    await storeOperatorSeed({ store: this.store, key: this.masterKey, seed: command.seed, metadata: command.metadata, now: new Date() });
  }
}
