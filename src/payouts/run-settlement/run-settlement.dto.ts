import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsOptional } from 'class-validator';

export class RunSettlementDto {
  /** true: answer the plan and append nothing. */
  @ApiPropertyOptional({ description: 'true: answer the plan and append nothing (no payout is requested).', example: false })
  @IsOptional()
  @IsBoolean({ message: 'preview must be true or false', context: { code: 'invalid_preview' } })
  readonly preview?: boolean;
}
