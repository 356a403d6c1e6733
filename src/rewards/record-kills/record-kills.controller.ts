import { Body, Controller, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { UserIdParams } from '../../identity/get-user/get-user.dto';
import { type CommandMetadata } from '../../platform/decider';
import { isDatabaseUnavailable } from '../../platform/database/database-unavailable';
import { DomainError } from '../../platform/errors/domain-error';
import { toProblem } from '../../platform/errors/problem';
import { EventStoreUnavailableError } from '../../platform/event-store/event-store.port';
import { CommandContext } from '../../platform/http/command-metadata.decorator';
import { LOGGER, type Logger } from '../../platform/logging/logger';
import { type Observation, RecordKillsCommand, type RecordKillsResult } from './record-kills.command';
import { RecordKillsBatchDto, RecordKillsDto } from './record-kills.dto';
import { RequiresScope } from '../../security/access';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblems, ApiSuccess } from '../../platform/http/openapi';
import { RecordKillsBatchResponse, RecordKillsResponse } from '../rewards.responses';
import { type CurrentRate, RateFactorsSource } from '../economics/rate-factors.source';

/**
 * Users of one batch processed at once; each user's own observations stay in order. Their appends
 * meet in the event store's queue and go out together, a few statements for a whole batch.
 */
const BATCH_USERS_CONCURRENCY = 128;

export type BatchItemResult =
  | ({ readonly index: number; readonly userId: string; readonly status: 'recorded' } & RecordKillsResult)
  | {
      readonly index: number;
      readonly userId: string;
      readonly status: 'rejected';
      readonly error: { readonly status: number; readonly code: string; readonly detail: string };
    };

@ApiTags('kills')
@RequiresScope('commands:write')
@Controller()
export class RecordKillsController {
  constructor(
    private readonly commandBus: CommandBus,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly rates: RateFactorsSource,
  ) {}

  /** 202: the observation is recorded; its accrual (or null) is in the answer. */
  @ApiOperation({
    summary: 'Record a player\'s lifetime kill count',
    description:
      'Appends KillsObserved, and AccrualRecorded for the new kills above the accrued high-water mark: at most one accrual per user and minute ' +
      '(kills of a second observation in the same minute accrue with the next one), at the per-kill rate in force. ' +
      'A count below the high-water mark raises `kills_decreased`; abuse heuristics may raise other flags.',
  })
  @ApiSuccess(202, 'Recorded; the accrual, or null when nothing accrued', RecordKillsResponse)
  @ApiProblems(404, ['user_not_found'])
  @ApiProblems(409, ['concurrency_conflict'])
  @ApiProblems(422, ['epic_account_not_linked', 'observed_at_in_future', 'observed_at_before_previous'])
  @ApiProblems(503, ['event_store_unavailable'])
  @Post('v1/users/:userId/kills')
  @HttpCode(202)
  record(@Param() params: UserIdParams, @Body() body: RecordKillsDto, @CommandContext() metadata: CommandMetadata): Promise<RecordKillsResult> {
    return this.commandBus.execute(new RecordKillsCommand(toObservation(params.userId, body), metadata));
  }

  /**
   * Up to 1,000 observations. A malformed item refuses the whole batch (422, nothing recorded);
   * a well-formed item the rules reject is reported in its own result, and the others go on.
   */
  @ApiOperation({
    summary: 'Record up to 1,000 kill observations',
    description:
      'A malformed item refuses the whole batch (422) and records nothing. An item the rules refuse (`user_not_found`, `observed_at_before_previous`, …, even `event_store_unavailable` or `database_unavailable`) ' +
      'is reported in its own result, and the others are recorded. One user\'s observations are applied in batch order.',
  })
  @ApiSuccess(200, 'One result per observation, in order', RecordKillsBatchResponse)
  @Post('v1/kills/batch')
  @HttpCode(200)
  async recordBatch(@Body() body: RecordKillsBatchDto, @CommandContext() metadata: CommandMetadata): Promise<{ results: BatchItemResult[] }> {
    const byUser = new Map<string, number[]>();
    body.observations.forEach((observation, index) => {
      const userId = observation.userId.toLowerCase();
      byUser.set(userId, [...(byUser.get(userId) ?? []), index]);
    });
    const results: BatchItemResult[] = new Array(body.observations.length);
    const queues = [...byUser.values()];
    // A batch is recorded at one moment: the rate factors in force are read once for all its items.
    // When the event store or the database is down, each item finds that out for itself and
    // reports it in its result.
    const rate = await this.rates.current().catch((error: unknown) => {
      if (error instanceof EventStoreUnavailableError || isDatabaseUnavailable(error)) return undefined;
      throw error;
    });
    const worker = async (): Promise<void> => {
      for (let queue = queues.shift(); queue !== undefined; queue = queues.shift()) {
        for (const index of queue) results[index] = await this.recordItem(index, body.observations[index], metadata, rate);
      }
    };
    await Promise.all(Array.from({ length: Math.min(BATCH_USERS_CONCURRENCY, queues.length) }, worker));
    return { results };
  }

  private async recordItem(index: number, item: RecordKillsDto & { userId: string }, metadata: CommandMetadata, rate: CurrentRate | undefined): Promise<BatchItemResult> {
    const observation = toObservation(item.userId, item);
    try {
      const result: RecordKillsResult = await this.commandBus.execute(new RecordKillsCommand(observation, metadata, rate));
      return { index, userId: observation.userId, status: 'recorded', ...result };
    } catch (error) {
      if (!(error instanceof DomainError) && !(error instanceof EventStoreUnavailableError) && !isDatabaseUnavailable(error)) throw error;
      const problem = toProblem(error);
      this.logger.debug({ index, code: problem.code }, 'batch observation rejected');
      return { index, userId: observation.userId, status: 'rejected', error: { status: problem.status, code: problem.code, detail: problem.detail } };
    }
  }
}

function toObservation(userId: string, body: RecordKillsDto): Observation {
  return {
    userId: userId.toLowerCase(),
    lifetimeKills: BigInt(body.lifetimeKills),
    observedAt: body.observedAt === undefined ? null : new Date(body.observedAt),
  };
}
