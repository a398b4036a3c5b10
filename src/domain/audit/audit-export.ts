// The audit export for SIEMs (Splunk, Sentinel, Elastic): the organisation's
// audit trail in commit order, page by page, with a cursor to resume from.
// Two formats: JSON lines (one object per event) and ArcSight CEF.
import { requireAdmin, type Actor } from '../actor.js';
import type { Db } from '../db.js';
import { Invalid } from '../errors.js';
import { comparePositions, decodeStreamCursor, encodeStreamCursor, readAuditStream, STREAM_START, type StreamEvent, type StreamPosition } from './audit-stream.js';

export type ExportFormat = 'jsonl' | 'cef';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['jsonl', 'cef'];
export const MAX_EXPORT_PAGE = 1000;

export interface ExportPage {
  readonly events: StreamEvent[];
  /** Resume from here (the position of the last event, or the one given when none came). */
  readonly cursor: string;
  /** True when the page was full: more events are ready now. */
  readonly hasMore: boolean;
}

/** `--since` as the export takes it: a cursor it handed out, or an ISO 8601 date or date-time. */
export type ExportStart = { readonly cursor: string } | { readonly date: Date } | null;

const ISO_DATE = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

export function parseExportStart(since: string | null | undefined, field = 'since'): ExportStart {
  if (since === undefined || since === null || since === '') return null;
  if (ISO_DATE.test(since)) {
    const date = new Date(since);
    if (Number.isNaN(date.getTime())) throw new Invalid('invalid_date', `${field} is not a valid date`, field);
    return { date };
  }
  decodeStreamCursor(since, field);
  return { cursor: since };
}

export async function exportAuditPage(db: Db, actor: Actor, start: ExportStart, first = MAX_EXPORT_PAGE): Promise<ExportPage> {
  requireAdmin(actor);
  if (!Number.isInteger(first) || first < 1 || first > MAX_EXPORT_PAGE) {
    throw new Invalid('invalid_page_size', `first must be between 1 and ${MAX_EXPORT_PAGE}`, 'first');
  }
  const from: StreamPosition = start && 'cursor' in start ? decodeStreamCursor(start.cursor) : STREAM_START;
  const since = start && 'date' in start ? start.date : null;
  const { events, fence } = await readAuditStream(db.sql, actor.organizationId, from, first, { since });
  const last = events.at(-1);
  // Nothing new: resume from the fence (everything before it was read), so a
  // date-started export never starts over from the beginning.
  const resume = last ? last.position : comparePositions(fence, from) > 0 ? fence : from;
  return { events, cursor: encodeStreamCursor(resume), hasMore: events.length === first };
}

// ---- formats --------------------------------------------------------------

/** The JSON object of one event (one line of `--format jsonl`). */
export function toExportJson(e: StreamEvent): Record<string, unknown> {
  const changes = e.detail && typeof e.detail === 'object' && 'changes' in e.detail ? e.detail.changes : null;
  return {
    cursor: encodeStreamCursor(e.position),
    id: e.id,
    time: e.at.toISOString(),
    actor: { kind: e.actorKind, id: e.actorId, label: e.actorLabel },
    action: e.action,
    outcome: e.outcome,
    resource: { type: e.resourceType, id: e.resourceId, label: e.resourceLabel },
    reason: e.reason,
    changes: changes ?? null,
    detail: e.detail,
    requestId: e.requestId,
    clientAddress: e.clientAddress,
  };
}

export function toJsonLine(e: StreamEvent): string {
  return JSON.stringify(toExportJson(e));
}

/** CEF header fields escape `\` and `|`, and hold no line breaks. */
function cefHeader(v: string): string {
  return v.replace(/[\\|]/g, '\\$&').replace(/[\r\n]+/g, ' ');
}

/** CEF extension values escape `\` and `=`, and write line breaks as \n and \r. */
function cefValue(v: string): string {
  return v.replace(/[\\=]/g, '\\$&').replace(/\r/g, '\\r').replace(/\n/g, '\\n');
}

const IPV4 = /^(\d{1,3}\.){3}\d{1,3}$/;
const IPV6 = /^[0-9a-f:]+(:\d{1,3}(\.\d{1,3}){3})?$/i;
const MAX_CEF_MESSAGE = 1023;

/**
 * One event as an ArcSight CEF line:
 * `CEF:0|Gatehouse|Gatehouse|VERSION|action|name|severity|extensions`.
 * Severity 3 for a success, 6 for a refused sign-in or request (5 otherwise failed).
 */
export function toCefLine(e: StreamEvent, productVersion: string): string {
  const severity = e.outcome === 'success' ? 3 : e.action === 'saml.login' || e.actorKind === 'scim' ? 6 : 5;
  const name = `${e.action} ${e.outcome}${e.resourceLabel ? ` ${e.resourceLabel}` : ''}`.slice(0, 512);
  const ext: [string, string | null][] = [
    ['rt', String(e.at.getTime())],
    ['externalId', e.id],
    ['act', e.action],
    ['outcome', e.outcome],
    ['suser', e.actorLabel],
    ['suid', e.actorId],
    ['cs1Label', 'actorKind'],
    ['cs1', e.actorKind],
    ['cs2Label', 'resourceType'],
    ['cs2', e.resourceType],
    ['duid', e.resourceId],
    ['duser', e.resourceLabel],
    ['reason', e.reason],
    ['cs3Label', 'requestId'],
    ['cs3', e.requestId],
    ['cs4Label', 'cursor'],
    ['cs4', encodeStreamCursor(e.position)],
  ];
  const address = e.clientAddress ?? '';
  if (IPV4.test(address) || (address.includes(':') && IPV6.test(address))) ext.push(['src', address]);
  const changes = e.detail && typeof e.detail === 'object' && 'changes' in e.detail ? e.detail.changes : undefined;
  if (changes !== undefined) ext.push(['msg', JSON.stringify(changes).slice(0, MAX_CEF_MESSAGE)]);
  const extension = ext
    .filter((kv): kv is [string, string] => kv[1] !== null && kv[1] !== '')
    .map(([k, v]) => `${k}=${cefValue(v)}`)
    .join(' ');
  return `CEF:0|Gatehouse|Gatehouse|${cefHeader(productVersion)}|${cefHeader(e.action)}|${cefHeader(name)}|${severity}|${extension}`;
}
