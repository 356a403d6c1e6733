import { Body, Controller, HttpCode, Post, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { type FastifyReply } from 'fastify';
import { type CommandMetadata } from '../../platform/decider';
import { CommandContext } from '../../platform/http/command-metadata.decorator';
import { RegisterUserCommand, type RegisterUserResult } from './register-user.command';
import { RegisterUserDto } from './register-user.dto';
import { RequiresScope } from '../../security/access';

@RequiresScope('commands:write')
@Controller('v1/users')
export class RegisterUserController {
  constructor(private readonly commandBus: CommandBus) {}

  /** 201 for a new user; 200, appending nothing, for a Discord id already registered. */
  @Post()
  @HttpCode(201)
  async register(
    @Body() body: RegisterUserDto,
    @CommandContext() metadata: CommandMetadata,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<{ userId: string; position: string }> {
    const result = await this.commandBus.execute<RegisterUserCommand, RegisterUserResult>(
      new RegisterUserCommand(body.discordUserId, body.regionCode ?? null, metadata),
    );
    if (!result.created) void reply.status(200);
    return { userId: result.userId, position: result.position.toString() };
  }
}
