import { Controller, Get, Inject, Query } from '@nestjs/common';
import { type DatabasePool, sql } from 'slonik';
import { z } from 'zod';
import { LEDGER_CONFIG, type LedgerConfig } from '../../platform/config/config';
import { DATABASE_POOL } from '../../platform/database/database';
import { DomainError } from '../../platform/errors/domain-error';
import { EVENT_STORE, type EventStore } from '../../platform/event-store/event-store.port';
import { decodeCursor, encodeCursor, minPositionOf, type Page, PAGE_LIMIT_DEFAULT } from '../../platform/http/paging';
import { awaitReadModels } from '../../platform/read-models/checkpoints';
import { RequiresScope } from '../../security/access';
import { ListAdminAuditQueryDto } from './list-admin-audit.dto';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiPageResponse, ApiProblems } from '../../platform/http/openapi';
import { AdminAuditEntryResponse } from '../admin.responses';

const auditRow = z.object({
  event_id: z.string(),
  position: z.bigint(),
  action: z.string(),
  actor: z.string(),
  request_id: z.string(),
  client_ip: z.string().nullable(),
  target_type: z.string(),
  target_id: z.string(),
  summary: z.string(),
  event_type: z.string(),
  stream_name: z.string(),
  occurred_at: z.date(),
});

export interface AdminAuditEntry {
  readonly eventId: string;
  /** The event's position, for `GET /v1/users/:userId/history` and the event store. */
  readonly position: string;
  readonly action: string;
  readonly actor: string;
  readonly requestId: string;
  readonly clientIp: string | null;
  readonly target: { readonly type: string; readonly id: string };
  readonly summary: string;
  readonly eventType: string;
  readonly streamName: string;
  readonly occurredAt: string;
}

/** Every admin action, newest first (SPEC §4.6), from the admin_audit read model. */
@ApiTags('admin')
@RequiresScope('admin')
@Controller('v1/admin/audit')
export class ListAdminAuditController {
  constructor(
    @Inject(DATABASE_POOL) private readonly pool: DatabasePool,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  @ApiOperation({
    summary: 'The admin audit: every admin action, newest first',
    description:
      'The `admin_audit` read model: every event an admin key appended whose type is an admin action (settlement runs, payout retries and cancels, flag clears, re-verifications, ' +
      'config changes, operator seed changes, donation rebuilds). Filters combine with AND.',
  })
  @ApiPageResponse(AdminAuditEntryResponse, 'A page of admin actions')
  @ApiProblems(422, ['invalid_since', 'invalid_until'])
  @Get()
  async list(@Query() query: ListAdminAuditQueryDto): Promise<Page<AdminAuditEntry>> {
    // since is inclusive and until exclusive, so since = until is an empty range; an until before
    // since is a caller's mistake (swapped bounds, a zone lost), told rather than answered empty.
    if (query.since !== undefined && query.until !== undefined && Date.parse(query.until) < Date.parse(query.since)) {
      throw new DomainError('invalid_until', `until (${query.until}) is before since (${query.since})`, 422);
    }
    const limit = query.limit ?? PAGE_LIMIT_DEFAULT;
    // The filters are part of the list a cursor pages: with others it would start from a wrong place.
    const { action, actor, targetType, targetId, since, until } = query;
    const scope = `admin-audit:${JSON.stringify([action, actor, targetType, targetId, since, until])}`;
    const after = decodeCursor(query.cursor, scope, ['p'] as const);
    await awaitReadModels(this.pool, this.store, ['admin_audit'], minPositionOf(query), this.config.http.minPositionWaitMs);
    // The DTO let only instants from 1970 to 9999 through as since and until (parseInstant).
    const conditions = [
      sql.fragment`true`,
      ...(query.action === undefined ? [] : [sql.fragment`action = ${query.action}`]),
      ...(query.actor === undefined ? [] : [sql.fragment`actor = ${query.actor}`]),
      ...(query.targetType === undefined ? [] : [sql.fragment`target_type = ${query.targetType}`]),
      ...(query.targetId === undefined ? [] : [sql.fragment`target_id = ${query.targetId}`]),
      ...(query.since === undefined ? [] : [sql.fragment`occurred_at >= ${new Date(query.since).toISOString()}::timestamptz`]),
      ...(query.until === undefined ? [] : [sql.fragment`occurred_at < ${new Date(query.until).toISOString()}::timestamptz`]),
      ...(after === null ? [] : [sql.fragment`position < ${after.p}::bigint`]),
    ];
    const rows = await this.pool.any(sql.type(auditRow)`
      SELECT event_id, position, action, actor, request_id, client_ip, target_type, target_id, summary, event_type, stream_name, occurred_at
        FROM admin_audit WHERE ${sql.join(conditions, sql.fragment` AND `)}
       ORDER BY position DESC LIMIT ${limit + 1}`);
    const page = rows.slice(0, limit);
    return {
      items: page.map((row) => ({
        eventId: row.event_id,
        position: row.position.toString(),
        action: row.action,
        actor: row.actor,
        requestId: row.request_id,
        clientIp: row.client_ip,
        target: { type: row.target_type, id: row.target_id },
        summary: row.summary,
        eventType: row.event_type,
        streamName: row.stream_name,
        occurredAt: row.occurred_at.toISOString(),
      })),
      nextCursor: rows.length > limit ? encodeCursor(scope, { p: page[page.length - 1].position.toString() }) : null,
    };
  }
}
