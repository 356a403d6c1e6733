import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { handleCommand } from '../../platform/decider';
import { EVENT_STORE, type EventStore } from '../../platform/event-store/event-store.port';
import { userDecider } from '../user/user.decider';
import { USER_EVENT_SCHEMA_VERSION } from '../user/user.events';
import { toStreamName, userIdFromDiscordId } from '../user/user.stream';
import { RegisterUserCommand, type RegisterUserResult } from './register-user.command';

@CommandHandler(RegisterUserCommand)
export class RegisterUserHandler implements ICommandHandler<RegisterUserCommand, RegisterUserResult> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute(command: RegisterUserCommand): Promise<RegisterUserResult> {
    const userId = userIdFromDiscordId(command.discordUserId);
    const decision = await handleCommand(
      this.store,
      toStreamName(userId),
      userDecider,
      { type: 'RegisterUser', data: { userId, discordUserId: command.discordUserId, regionCode: command.regionCode, now: new Date() } },
      { metadata: command.metadata, schemaVersion: USER_EVENT_SCHEMA_VERSION },
    );
    if (decision.position !== null) return { userId, created: true, position: decision.position };
    // Already registered: the registration is the stream's first event.
    return { userId, created: false, position: decision.history[0].position };
  }
}
