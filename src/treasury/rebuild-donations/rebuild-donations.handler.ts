import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { type DatabasePool } from 'slonik';
import { LEDGER_CONFIG, type LedgerConfig } from '../../platform/config/config';
import { DATABASE_POOL } from '../../platform/database/database';
import { DomainError } from '../../platform/errors/domain-error';
import { EVENT_STORE, type EventStore } from '../../platform/event-store/event-store.port';
import { LOGGER, type Logger } from '../../platform/logging/logger';
import { BANANO_GATEWAY, type BananoGateway } from '../../payouts/banano/banano-gateway';
import { OPERATOR_ACCOUNTS, type OperatorAccounts } from '../../payouts/operator/operator-accounts';
import { DonationRebuilder } from './donation-rebuilder';
import { type DonationRebuildReport, RebuildDonationsCommand } from './rebuild-donations.command';

@CommandHandler(RebuildDonationsCommand)
export class RebuildDonationsHandler implements ICommandHandler<RebuildDonationsCommand, DonationRebuildReport> {
  /** Null in dry-run: there is no chain to read. */
  private readonly rebuilder: DonationRebuilder | null;

  constructor(
    @Inject(DATABASE_POOL) pool: DatabasePool,
    @Inject(EVENT_STORE) store: EventStore,
    @Inject(LEDGER_CONFIG) config: LedgerConfig,
    @Inject(BANANO_GATEWAY) banano: BananoGateway | null,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(OPERATOR_ACCOUNTS) accounts: OperatorAccounts,
  ) {
    this.rebuilder =
      banano === null
        ? null
        : new DonationRebuilder(
            pool,
            store,
            banano.rpc,
            banano.seeds,
            { fundingAddresses: config.treasury.fundingAddresses, milestones: config.economics.milestones },
            accounts,
          );
  }

  async execute(command: RebuildDonationsCommand): Promise<DonationRebuildReport> {
    if (this.rebuilder === null) {
      throw new DomainError('gateway_dry_run', 'Payouts run dry (no BANANO_RPC_URL): there is no chain to rebuild donations from; nothing was appended', 409);
    }
    const report = await this.rebuilder.rebuild(command.metadata);
    this.logger.info(
      { operatorAddress: report.operatorAddress, receivesFound: report.receivesFound, appended: report.appended, actor: command.metadata.actor },
      'donations rebuilt',
    );
    return report;
  }
}
