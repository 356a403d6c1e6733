import { Body, Controller, HttpCode, Post, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { type FastifyReply } from 'fastify';
import { type CommandMetadata } from '../../platform/decider';
import { CommandContext } from '../../platform/http/command-metadata.decorator';
import { RegisterUserCommand, type RegisterUserResult } from './register-user.command';
import { RegisterUserDto } from './register-user.dto';
import { RequiresScope } from '../../security/access';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblems, ApiSuccess } from '../../platform/http/openapi';
import { RegisterUserResponse } from '../identity.responses';

@ApiTags('users')
@RequiresScope('commands:write')
@Controller('v1/users')
export class RegisterUserController {
  constructor(private readonly commandBus: CommandBus) {}

  /** 201 for a new user; 200, appending nothing, for a Discord id already registered. */
  @ApiOperation({
    summary: 'Register a player by Discord id',
    description: 'The user id is a UUID v5 of the Discord id, so registering is idempotent: 201 for a new user; 200, with the same body and appending nothing, for a Discord id already registered.',
  })
  @ApiSuccess(201, 'Registered: UserRegistered appended', RegisterUserResponse)
  @ApiSuccess(200, 'Already registered: nothing appended', RegisterUserResponse)
  @ApiProblems(409, ['concurrency_conflict'])
  @ApiProblems(503, ['event_store_unavailable'])
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
