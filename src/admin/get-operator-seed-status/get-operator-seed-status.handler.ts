import { Inject } from '@nestjs/common';
import { type IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { LEDGER_CONFIG, type LedgerConfig } from '../../platform/config/config';
import { DomainError } from '../../platform/errors/domain-error';
import { FileOperatorSeedSource, OperatorSeedUnreadableError } from '../../payouts/operator/operator-seed';
import { SECURE_CONFIG_STORE } from '../../security/secure-config/secure-config.tokens';
import { type SecureConfigStore } from '../../security/secure-config/secure-config.store';
import { operatorSeedStatus, type OperatorSeedStatus } from '../../security/secure-config/stored-operator-seed';
import { GetOperatorSeedStatusQuery } from './get-operator-seed-status.query';

/**
 * The seed payouts use, without the seed: the stored one's address and key id, or, while none is
 * stored, the seed file's address (key id null). A seed file that cannot be read is 503
 * `operator_seed_unreadable`, as for payouts.
 */
@QueryHandler(GetOperatorSeedStatusQuery)
export class GetOperatorSeedStatusHandler implements IQueryHandler<GetOperatorSeedStatusQuery, OperatorSeedStatus> {
  private readonly seedFile: FileOperatorSeedSource | null;

  constructor(
    @Inject(SECURE_CONFIG_STORE) private readonly store: SecureConfigStore,
    @Inject(LEDGER_CONFIG) config: LedgerConfig,
  ) {
    const path = config.banano.operatorSeedFile;
    this.seedFile = path === null ? null : new FileOperatorSeedSource(path);
  }

  async execute(): Promise<OperatorSeedStatus> {
    try {
      return await operatorSeedStatus(this.store, this.seedFile);
    } catch (error) {
      if (!(error instanceof OperatorSeedUnreadableError)) throw error;
      throw new DomainError(error.code, error.message, 503);
    }
  }
}
