import { IsBoolean, IsOptional } from 'class-validator';

export class RunSettlementDto {
  /** true: answer the plan and append nothing. */
  @IsOptional()
  @IsBoolean({ message: 'preview must be true or false', context: { code: 'invalid_preview' } })
  readonly preview?: boolean;
}
