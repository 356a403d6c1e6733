import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { isValidMessageSignature } from '../../platform/banano/banano-address';
import { EVENT_STORE, type EventStore } from '../../platform/event-store/event-store.port';
import { positionOf, runUserCommand } from '../user/run-user-command';
import { VerifyWalletCommand, type VerifyWalletResult } from './verify-wallet.command';

@CommandHandler(VerifyWalletCommand)
export class VerifyWalletHandler implements ICommandHandler<VerifyWalletCommand, VerifyWalletResult> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute(command: VerifyWalletCommand): Promise<VerifyWalletResult> {
    const signatureValid = isValidMessageSignature(command.address, command.message, command.signature);
    const decision = await runUserCommand(
      this.store,
      command.userId,
      {
        type: 'VerifyWallet',
        data: { address: command.address, message: command.message, signature: command.signature.toUpperCase(), signatureValid, now: new Date() },
      },
      command.metadata,
    );
    return { address: command.address, verified: true, position: positionOf(decision) };
  }
}
