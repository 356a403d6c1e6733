import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import { type FastifyRequest } from 'fastify';
import { catchError, from, type Observable } from 'rxjs';
import { DomainError } from '../errors/domain-error';
import { type EventStore } from '../event-store/event-store.port';
import { isPosition } from './paging';

/**
 * `?minPosition=` waits (bounded) for the read models, and answers 503 `read_model_behind` when
 * they have not caught up in time: a state that passes. A position beyond the last event stored
 * never passes, because no command returned it; that is bad input, 422 `invalid_min_position`,
 * not a 503 inviting the caller to retry forever.
 *
 * The head is compared only after the wait has run out. Compared before, it would refuse honest
 * callers: a command's event can be committed while the store's head still hides it behind an
 * older transaction in flight.
 */
@Injectable()
export class MinPositionInterceptor implements NestInterceptor {
  constructor(private readonly eventStore: EventStore) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    return next.handle().pipe(catchError((error: unknown) => from(this.refine(error, request))));
  }

  private async refine(error: unknown, request: FastifyRequest): Promise<never> {
    // `read_model_behind` is the code awaitReadModels (platform/read-models/checkpoints.ts) gives up with.
    if (!(error instanceof DomainError) || error.code !== 'read_model_behind') throw error;
    const minPosition = (request.query as Record<string, unknown> | undefined)?.minPosition;
    // Only a well-formed position gets this far: the query DTO validated it before the handler ran.
    if (!isPosition(minPosition)) throw error;
    const head = await this.eventStore.headPosition().catch(() => undefined);
    if (head === undefined || (head !== null && BigInt(minPosition) <= head)) throw error;
    throw new DomainError(
      'invalid_min_position',
      `minPosition ${minPosition} is beyond the last event stored (${head?.toString() ?? 'none yet'}): no command returned it`,
      422,
    );
  }
}
