import { Module } from '@nestjs/common';
import { GetUserController } from './get-user/get-user.controller';
import { GetUserHandler } from './get-user/get-user.handler';
import { RegisterUserController } from './register-user/register-user.controller';
import { RegisterUserHandler } from './register-user/register-user.handler';

@Module({
  controllers: [RegisterUserController, GetUserController],
  providers: [RegisterUserHandler, GetUserHandler],
})
export class IdentityModule {}
