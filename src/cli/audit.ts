// `audit export`: the organisation's audit trail for a SIEM, in commit order.
import { EXPORT_FORMATS, MAX_EXPORT_PAGE, parseExportStart, toCefLine, toExportJson, toJsonLine, type ExportFormat } from '../domain/audit/audit-export.js';
import { VERSION } from '../version.js';
import { required, UsageError, type Command } from './command.js';

export const auditCommands: Command[] = [
  {
    name: 'audit export',
    usage: 'audit export --org DOMAIN [--since CURSOR|DATE] [--format jsonl|cef] [--limit N]   (events in commit order on stdout; the cursor to resume from on stderr)',
    options: { org: { type: 'string' }, since: { type: 'string' }, format: { type: 'string' }, limit: { type: 'string' } },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      const format = (typeof o.format === 'string' ? o.format : 'jsonl') as ExportFormat;
      if (!EXPORT_FORMATS.includes(format)) throw new UsageError(`--format must be one of ${EXPORT_FORMATS.join(', ')}`);
      let limit = Number.POSITIVE_INFINITY;
      if (typeof o.limit === 'string') {
        if (!/^\d{1,9}$/.test(o.limit) || Number(o.limit) < 1) throw new UsageError('--limit must be a positive whole number');
        limit = Number(o.limit);
      }
      let start = parseExportStart(typeof o.since === 'string' ? o.since : undefined);
      if (ctx.json) {
        // --json: one object with one page (at most --limit, default and maximum 1000 events).
        const page = await ctx.domain.audit.exportPage(actor, start, Math.min(limit, MAX_EXPORT_PAGE));
        return { json: { events: page.events.map(toExportJson), cursor: page.cursor, hasMore: page.hasMore }, text: '' };
      }
      // Streams page by page until caught up with what has committed (or --limit), then says where to resume.
      let count = 0;
      let cursor = '';
      for (;;) {
        const page = await ctx.domain.audit.exportPage(actor, start, Math.min(MAX_EXPORT_PAGE, limit - count));
        if (page.events.length > 0) {
          ctx.write(page.events.map((e) => (format === 'cef' ? toCefLine(e, VERSION) : toJsonLine(e))).join('\n') + '\n');
        }
        count += page.events.length;
        cursor = page.cursor;
        start = { cursor };
        if (!page.hasMore || count >= limit) break;
      }
      ctx.note(`${count} event(s) exported; resume with --since ${cursor}\n`);
      return { json: {}, text: '', streamed: true };
    },
  },
];
