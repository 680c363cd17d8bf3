import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Length } from 'class-validator';
import { ID_MAX_LENGTH } from './payment';

/** POST /admin/sync: everything, or one organization. */
export class SynchronizeStoreDto {
  @ApiPropertyOptional({ minLength: 1, maxLength: ID_MAX_LENGTH, description: 'Only this organization; all when absent.' })
  @IsOptional()
  @IsString()
  @Length(1, ID_MAX_LENGTH)
  organizationId?: string;
}
