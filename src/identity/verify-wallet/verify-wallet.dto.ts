import { ApiProperty } from '@nestjs/swagger';
import { IsDefined, IsString, MaxLength, MinLength, Validate } from 'class-validator';
import { EXAMPLE } from '../../platform/http/openapi';
import { IsBananoAddressConstraint } from '../link-wallet/link-wallet.dto';

export class VerifyWalletDto {
  @ApiProperty({ description: 'The user\'s linked primary wallet.', example: EXAMPLE.address })
  @IsDefined({ message: 'address is required', context: { code: 'address_required' } })
  @IsString({ message: 'address must be a string', context: { code: 'invalid_banano_address' } })
  @MaxLength(64, { message: 'address must be 64 characters', context: { code: 'invalid_banano_address' } })
  @Validate(IsBananoAddressConstraint, { context: { code: 'invalid_banano_address' } })
  readonly address!: string;

  /** The signed text; it must contain the user id (see README). */
  @ApiProperty({
    description: 'The signed text. It must contain the user id, so a signature made for one user cannot be replayed for another.',
    example: `Pay2Slay: ${EXAMPLE.address} belongs to user ${EXAMPLE.userId}`,
  })
  @IsDefined({ message: 'message is required', context: { code: 'message_required' } })
  @IsString({ message: 'message must be a string', context: { code: 'invalid_wallet_message' } })
  @MinLength(1, { message: 'message must not be empty', context: { code: 'invalid_wallet_message' } })
  @MaxLength(512, { message: 'message must be at most 512 characters', context: { code: 'invalid_wallet_message' } })
  readonly message!: string;

  /** bananojs signMessage output: 128 hexadecimal characters. */
  @ApiProperty({ description: 'The message signed with the wallet\'s private key (bananojs `signMessage`): 128 hexadecimal characters.', example: 'AB'.repeat(64) })
  @IsDefined({ message: 'signature is required', context: { code: 'signature_required' } })
  @IsString({ message: 'signature must be a string', context: { code: 'invalid_wallet_signature' } })
  @MaxLength(128, { message: 'signature must be 128 hexadecimal characters', context: { code: 'invalid_wallet_signature' } })
  readonly signature!: string;
}
