// The audit export (admin keys and console admins).
import { Arg, Ctx, Int, Query, Resolver } from 'type-graphql';
import type { GraphqlContext } from '../context.js';
import { AuditExportFormat, AuditExportPage } from '../types/events.type.js';
import { MAX_EXPORT_PAGE, parseExportStart, toCefLine, toExportJson, toJsonLine } from '../../domain/audit/audit-export.js';
import type { AuditOutcome } from '../types/scalars.js';
import { VERSION } from '../../version.js';

@Resolver()
export class EventsResolver {
  @Query(() => AuditExportPage, {
    description: `The audit trail in commit order for a SIEM, with a resumable cursor (admin keys only). \`since\`: a cursor from a previous page, or an ISO 8601 date; absent: from the beginning. At most ${MAX_EXPORT_PAGE} events per page.`,
  })
  async auditExport(
    @Ctx() ctx: GraphqlContext,
    @Arg('since', () => String, { nullable: true }) since?: string | null,
    @Arg('first', () => Int, { nullable: true, defaultValue: 100 }) first?: number,
    @Arg('format', () => AuditExportFormat, { nullable: true, defaultValue: AuditExportFormat.JSONL }) format?: AuditExportFormat,
  ): Promise<AuditExportPage> {
    const page = await ctx.domain.audit.exportPage(ctx.actor, parseExportStart(since), first ?? 100);
    return {
      events: page.events.map((e) => {
        const json = toExportJson(e);
        return {
          cursor: json.cursor as string,
          id: e.id,
          at: e.at,
          actorKind: e.actorKind,
          actorId: e.actorId,
          actorLabel: e.actorLabel,
          action: e.action,
          outcome: e.outcome as AuditOutcome,
          resourceType: e.resourceType,
          resourceId: e.resourceId,
          resourceLabel: e.resourceLabel,
          reason: e.reason,
          changes: (json.changes as Record<string, unknown> | null) ?? null,
          detail: e.detail,
          requestId: e.requestId,
          clientAddress: e.clientAddress,
          line: format === AuditExportFormat.CEF ? toCefLine(e, VERSION) : toJsonLine(e),
        };
      }),
      cursor: page.cursor,
      hasMore: page.hasMore,
      count: page.events.length,
    };
  }
}
