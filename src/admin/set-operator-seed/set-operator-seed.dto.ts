import { ApiProperty } from '@nestjs/swagger';
import { IsDefined, IsString, Matches, MaxLength } from 'class-validator';
import { SEED_SHAPE } from '../../security/secure-config/stored-operator-seed';

/**
 * `{seed}`: exactly 64 hexadecimal characters (32 bytes), either case. Anything else is 422
 * `invalid_seed`, and the problem never echoes what was sent.
 */
export class SetOperatorSeedDto {
  // No example, on purpose: a seed copied from documentation is a seed everyone knows.
  @ApiProperty({ description: 'The operator wallet\'s seed: exactly 64 hexadecimal characters (32 bytes), either case. Stored encrypted; never logged, returned or echoed in an error.' })
  @IsDefined({ message: 'seed is required', context: { code: 'invalid_seed' } })
  @IsString({ message: 'seed must be a string of 64 hexadecimal characters', context: { code: 'invalid_seed' } })
  @MaxLength(64, { message: 'seed must be exactly 64 hexadecimal characters', context: { code: 'invalid_seed' } })
  @Matches(SEED_SHAPE, { message: 'seed must be exactly 64 hexadecimal characters', context: { code: 'invalid_seed' } })
  readonly seed!: string;
}
