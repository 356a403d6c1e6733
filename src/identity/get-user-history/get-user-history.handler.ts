import { Inject } from '@nestjs/common';
import { type IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { NotFoundError } from '../../platform/errors/domain-error';
import { EVENT_STORE, type EventStore } from '../../platform/event-store/event-store.port';
import { decodeCursor, encodeCursor, type Page } from '../../platform/http/paging';
import { toStreamName } from '../user/user.stream';
import { GetUserHistoryQuery, type HistoryItem } from './get-user-history.query';

/**
 * The audit trail: the user's events in stream order, read from the event store itself rather
 * than from a read model, so it shows exactly what was recorded.
 */
@QueryHandler(GetUserHistoryQuery)
export class GetUserHistoryHandler implements IQueryHandler<GetUserHistoryQuery, Page<HistoryItem>> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute(query: GetUserHistoryQuery): Promise<Page<HistoryItem>> {
    const scope = `history:${query.userId}`;
    const after = decodeCursor(query.cursor, scope, ['r'] as const);
    const fromRevision = after === null ? 0n : BigInt(after.r) + 1n;
    const events = await this.store.readStream(toStreamName(query.userId), { fromRevision, maxCount: query.limit + 1 });
    // An empty page after a cursor is the end of a user's history, or no user at all: the stream's
    // first event tells, as the accruals and payouts routes tell by the user's row.
    if (events.length === 0 && (after === null || (await this.store.readStream(toStreamName(query.userId), { maxCount: 1 })).length === 0)) {
      throw new NotFoundError('user_not_found', `No user ${query.userId}`);
    }
    const page = events.slice(0, query.limit);
    return {
      items: page.map((event) => ({
        position: event.position.toString(),
        revision: Number(event.revision),
        type: event.type,
        data: event.data,
        correlationId: event.metadata.correlationId,
        causationId: event.metadata.causationId,
        actor: { kind: event.metadata.actor.kind, name: event.metadata.actor.name },
        recordedAt: event.createdAt.toISOString(),
      })),
      nextCursor: events.length > query.limit ? encodeCursor(scope, { r: page[page.length - 1].revision.toString() }) : null,
    };
  }
}
