import { IsDefined, IsString, MaxLength, Validate, ValidatorConstraint, type ValidatorConstraintInterface } from 'class-validator';
import { isValidBananoAddress } from '../../platform/banano/banano-address';

@ValidatorConstraint({ name: 'isBananoAddress' })
export class IsBananoAddressConstraint implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return typeof value === 'string' && isValidBananoAddress(value);
  }

  defaultMessage(): string {
    return 'address must be a Banano address: ban_ and 60 characters of the Banano alphabet with a valid checksum';
  }
}

const ADDRESS_CODE = { context: { code: 'invalid_banano_address' } };

export class LinkWalletDto {
  @IsDefined({ message: 'address is required', context: { code: 'address_required' } })
  @IsString({ message: 'address must be a string', ...ADDRESS_CODE })
  @MaxLength(64, { message: 'address must be 64 characters', ...ADDRESS_CODE })
  @Validate(IsBananoAddressConstraint, ADDRESS_CODE)
  readonly address!: string;
}
