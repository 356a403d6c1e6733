import { Module } from '@nestjs/common';
import { RewardsModule } from '../rewards/rewards.module';
import { GetUserHistoryController } from './get-user-history/get-user-history.controller';
import { GetUserHistoryHandler } from './get-user-history/get-user-history.handler';
import { GetUserController } from './get-user/get-user.controller';
import { GetUserHandler } from './get-user/get-user.handler';
import { LinkEpicAccountController } from './link-epic-account/link-epic-account.controller';
import { LinkEpicAccountHandler } from './link-epic-account/link-epic-account.handler';
import { LinkWalletController } from './link-wallet/link-wallet.controller';
import { LinkWalletHandler } from './link-wallet/link-wallet.handler';
import { RegisterUserController } from './register-user/register-user.controller';
import { RegisterUserHandler } from './register-user/register-user.handler';
import { VerifyUserController } from './verify-user/verify-user.controller';
import { VerifyUserHandler } from './verify-user/verify-user.handler';
import { VerifyWalletController } from './verify-wallet/verify-wallet.controller';
import { VerifyWalletHandler } from './verify-wallet/verify-wallet.handler';

@Module({
  imports: [RewardsModule],
  controllers: [
    RegisterUserController,
    GetUserController,
    GetUserHistoryController,
    LinkEpicAccountController,
    LinkWalletController,
    VerifyWalletController,
    VerifyUserController,
  ],
  providers: [RegisterUserHandler, GetUserHandler, GetUserHistoryHandler, LinkEpicAccountHandler, LinkWalletHandler, VerifyWalletHandler, VerifyUserHandler],
})
export class IdentityModule {}
