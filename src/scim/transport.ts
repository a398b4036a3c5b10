// The SCIM edge's transport on bare node:http: which route a request URL
// names (the route table: four resource paths, the searches and the
// discovery documents), and how an answer is written (SCIM JSON, errors,
// refusals of a body read in part, streamed lists).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Actor, Domain } from '../domain/index.js';
import type { RequestScope } from '../http/request-context.js';
import { discardBody } from './body.js';
import { scimError, type ScimErrorResponse } from './errors.js';

export const CONTENT_TYPE = 'application/scim+json; charset=utf-8';
export const SCIM_BASE_PATH = '/scim/v2';
const SCIM_URL = /^\/scim\/v2(?=[/?]|$)/i;
/** The scheme and authority of an absolute-form request target (`GET http://host/scim/v2/Users`). */
const ABSOLUTE_FORM = /^[a-z][a-z\d+.-]*:\/\/[^/?]*/i;
/** What is left of a partly read, refused body is read off up to this much; beyond it the connection closes. */
const DISCARD_MAX_BYTES = 64 * 1024 * 1024;

/** A request target as origin-form (path and query). */
function originForm(url: string): string {
  return url.charCodeAt(0) === 47 /* / */ ? url : url.replace(ABSOLUTE_FORM, '');
}

/** Whether a request URL is the SCIM edge's (`/scim/v2`, any case, as Express's mount matched it). */
export function isScimUrl(url: string): boolean {
  return SCIM_URL.test(originForm(url));
}

export type Resource = 'user' | 'group';

/** One SCIM request as the handlers see it. */
export interface Call {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly scope: RequestScope;
  /** The `:id` segment, decoded. */
  readonly id: string | undefined;
  /** The query string (without `?`). */
  readonly search: string;
  body: unknown;
  actor?: Actor;
  /** The query string's parameters, once read (./query.ts). */
  query?: Map<string, string | string[]>;
}

export type Handler = (call: Call, actor: Actor) => Promise<void>;

export interface Method {
  /** The audit action of the request (and of its refusal). */
  readonly action: string;
  readonly fn: Handler;
}

/** A path and the methods it has (HEAD is GET without the body). */
export interface Route {
  /** The metrics label (a pattern, never a raw path). */
  readonly label: string;
  readonly resource?: Resource;
  readonly methods: Readonly<Record<string, Method>>;
  /** Discovery documents: no token needed. */
  readonly open?: (call: Call) => Promise<void>;
}

/** The routes under one first path segment (lower-cased): the collection, `/:id`, and `/.search`. */
export type RouteTable = ReadonlyMap<string, readonly [Route, Route?, Route?]>;

/** Where a request URL leads: a route (with its decoded `:id`), or the error to answer. */
export type Resolved = { route: Route; id: string | undefined; search: string } | { error: ScimErrorResponse };

export function resolve(table: RouteTable, method: string | undefined, rawUrl: string): Resolved {
  const url = originForm(rawUrl);
  const q = url.indexOf('?');
  const path = (q < 0 ? url : url.slice(0, q)).replace(SCIM_URL, '');
  const search = q < 0 ? '' : url.slice(q + 1);
  // The segments under /scim/v2; one trailing slash is allowed (as Express's non-strict routing did).
  const segments = (path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path).split('/');
  const routes = segments[0] === '' && (segments.length === 2 || segments.length === 3) ? table.get(segments[1]!.toLowerCase()) : undefined;
  const isSearch = segments.length === 3 && segments[2] === '.search' && routes?.[2] !== undefined;
  const route = isSearch ? routes![2] : routes?.[segments.length - 2];
  if (!route || (segments.length === 3 && segments[2] === '')) return { error: scimError(404, `No SCIM endpoint ${method} ${path || '/'}`) };
  let id: string | undefined;
  if (segments.length === 3 && !isSearch) {
    try {
      id = decodeURIComponent(segments[2]!);
    } catch {
      return { error: scimError(400, `The path segment ${segments[2]} is not valid percent-encoding`, 'invalidSyntax') };
    }
  }
  return { route, id, search };
}

/** The Allow header of each route (a 405 answers with it). */
export function allowHeaders(table: RouteTable): Map<Route, string> {
  return new Map([...table.values()].flat().map((r) => [r!, r!.open ? 'GET' : Object.keys(r!.methods).join(', ')]));
}

/** Writes SCIM JSON straight to Node's response: SCIM sets its own ETags (resource versions). */
export function send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  if (body === undefined) {
    res.writeHead(status, headers).end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'Content-Type': CONTENT_TYPE, 'Content-Length': String(Buffer.byteLength(text)) }).end(text);
}

export function sendError(res: ServerResponse, e: ScimErrorResponse): void {
  send(res, e.status, e.body, e.headers);
}

/**
 * Answers a request whose body was read in part (over the limit, not
 * decodable): Node reads off only a body nobody began to read, so the rest is
 * read off here first, and a client that writes its whole body before it
 * reads gets the answer; a body past DISCARD_MAX_BYTES closes the connection instead.
 */
export async function refuse(call: Call, e: ScimErrorResponse): Promise<void> {
  if (!(await discardBody(call.req, DISCARD_MAX_BYTES))) call.res.setHeader('Connection', 'close');
  sendError(call.res, e);
}

/** Writes a chunk of a streamed answer; waits when the client reads slowly, fails when it went away. */
export function write(res: ServerResponse, chunk: string): Promise<void> {
  if (res.destroyed) return Promise.reject(new Error('the client went away'));
  if (res.write(chunk)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const drained = () => {
      res.off('close', closed);
      resolve();
    };
    const closed = () => {
      res.off('drain', drained);
      reject(new Error('the client went away'));
    };
    res.once('drain', drained).once('close', closed);
  });
}

/** What the handlers of every room share: the domain, and the absolute base URL of the edge (for `location` and `$ref`). */
export interface EdgeContext {
  readonly domain: Domain;
  readonly base: string;
}
