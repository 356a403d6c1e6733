import { ApiProperty } from '@nestjs/swagger';
import { IsDefined, IsString, MaxLength, Validate, ValidatorConstraint, type ValidatorConstraintInterface } from 'class-validator';
import { isValidBananoAddress } from '../../platform/banano/banano-address';
import { EXAMPLE, type OpenApiDescribedConstraint } from '../../platform/http/openapi';

@ValidatorConstraint({ name: 'isBananoAddress' })
export class IsBananoAddressConstraint implements ValidatorConstraintInterface {
  /** What OpenAPI can say of the rule: the shape isValidBananoAddress checks before the checksum. */
  static readonly openApi: OpenApiDescribedConstraint['openApi'] = { type: 'string', pattern: '^ban_[13][13456789abcdefghijkmnopqrstuwxyz]{59}$', minLength: 64 };

  validate(value: unknown): boolean {
    return typeof value === 'string' && isValidBananoAddress(value);
  }

  defaultMessage(): string {
    return 'address must be a Banano address: ban_ and 60 characters of the Banano alphabet with a valid checksum';
  }
}

const ADDRESS_CODE = { context: { code: 'invalid_banano_address' } };

export class LinkWalletDto {
  @ApiProperty({
    description: 'A Banano address: `ban_` and 60 characters of the Banano alphabet with a valid Blake2b checksum. It becomes the user\'s only primary wallet.',
    example: EXAMPLE.address,
  })
  @IsDefined({ message: 'address is required', context: { code: 'address_required' } })
  @IsString({ message: 'address must be a string', ...ADDRESS_CODE })
  @MaxLength(64, { message: 'address must be 64 characters', ...ADDRESS_CODE })
  @Validate(IsBananoAddressConstraint, ADDRESS_CODE)
  readonly address!: string;
}
