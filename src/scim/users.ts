// The SCIM User handlers: /Users, /Users/:id and POST /Users/.search. Each
// parses, makes one domain call and presents the result.
import type { Actor } from '../domain/index.js';
import { memberDataFrom, type Member } from '../domain/member/member.model.js';
import { applyUserPatch, parsePatchBody } from './patch.js';
import { etag, listResponse, project, type Projection, toScimUser, userDoc } from './presenters.js';
import { listQuery, projection, searchParams, urlParams, type Params } from './query.js';
import { summarise, summariseOps } from './rejections.js';
import { memberInputFromBody, memberInputFromDoc, type Doc } from './schemas.js';
import { send, SCIM_BASE_PATH, type Call, type EdgeContext, type Route } from './transport.js';

/** The collection, one user, and the search. */
export function userRoutes({ domain, base }: EdgeContext): [Route, Route, Route] {
  /** GET /Users and POST /Users/.search: filter, sort, page, project; `groups` only when asked for. */
  async function list(call: Call, actor: Actor, params: Params): Promise<void> {
    const q = listQuery(params);
    const { attributes, excluded } = projection(params);
    const page = await domain.members.search(actor, q);
    const docs = await withGroups(actor, page.members, attributes);
    send(call.res, 200, listResponse(docs.map((d) => project(d, attributes, excluded)), page.totalResults, q.startIndex));
  }

  /**
   * The members as SCIM Users; `groups` (read-only, returned: request) is read
   * and added only when `attributes` names it, in one statement for the page.
   */
  async function withGroups(actor: Actor, members: readonly Member[], attributes: Projection[] | undefined): Promise<Doc[]> {
    const docs = members.map((m) => toScimUser(m, base));
    if (!attributes?.some((a) => a.top === 'groups') || members.length === 0) return docs;
    const byMember = new Map<string, Doc[]>();
    for (const { memberId, group } of await domain.groups.groupsOfMembers(actor, members.map((m) => m.id))) {
      const list = byMember.get(memberId) ?? [];
      list.push({ value: group.id, $ref: `${base}/Groups/${group.id}`, display: group.displayName, type: 'direct' });
      byMember.set(memberId, list);
    }
    return docs.map((d) => {
      const groups = byMember.get(String(d.id));
      return groups ? { ...d, groups } : d;
    });
  }

  /** One user as the request's attributes ask (PATCH answers with it too). */
  async function sendOne(call: Call, actor: Actor, m: Member, { attributes, excluded }: ReturnType<typeof projection>): Promise<void> {
    const [doc] = await withGroups(actor, [m], attributes);
    send(call.res, 200, project(doc!, attributes, excluded), { ETag: etag(m.version) });
  }

  const users: Route = {
    label: `${SCIM_BASE_PATH}/Users`,
    resource: 'user',
    methods: {
      GET: { action: 'scim.user.list', fn: (call, actor) => list(call, actor, urlParams(call)) },
      POST: {
        action: 'scim.user.create',
        async fn(call, actor) {
          const input = memberInputFromBody(call.body);
          const m = await domain.members.create(actor, input, { action: 'scim.user.create', detail: { request: summarise(call.body) } });
          send(call.res, 201, toScimUser(m, base), { Location: `${base}/Users/${m.id}`, ETag: etag(m.version) });
        },
      },
    },
  };
  const user: Route = {
    label: `${SCIM_BASE_PATH}/Users/:id`,
    resource: 'user',
    methods: {
      GET: {
        action: 'scim.user.get',
        async fn(call, actor) {
          const wanted = projection(urlParams(call));
          await sendOne(call, actor, await domain.members.get(actor, call.id!), wanted);
        },
      },
      PUT: {
        action: 'scim.user.replace',
        async fn(call, actor) {
          const input = memberInputFromBody(call.body);
          // A PUT without `active` keeps the stored value (never "default true": that would re-activate a leaver).
          const m = await domain.members.update(actor, call.id!, (current) => memberDataFrom({ ...input, active: input.active ?? current.active }), {
            action: 'scim.user.replace',
            detail: { request: summarise(call.body) },
          });
          send(call.res, 200, toScimUser(m, base), { ETag: etag(m.version) });
        },
      },
      PATCH: {
        action: 'scim.user.patch',
        async fn(call, actor) {
          const ops = parsePatchBody(call.body);
          const m = await domain.members.update(actor, call.id!, (current) => memberDataFrom(memberInputFromDoc(applyUserPatch(userDoc(current, base), ops))), {
            action: 'scim.user.patch',
            detail: { operations: summariseOps(ops) },
          });
          await sendOne(call, actor, m, projection(urlParams(call)));
        },
      },
      DELETE: {
        action: 'scim.user.delete',
        async fn(call, actor) {
          await domain.members.delete(actor, call.id!, { action: 'scim.user.delete' });
          send(call.res, 204);
        },
      },
    },
  };
  // RFC 7644 §3.4.3: a query in a POST body, for filters too long or too private for a URL.
  const search: Route = {
    label: `${SCIM_BASE_PATH}/Users/.search`,
    resource: 'user',
    methods: { POST: { action: 'scim.user.search', fn: (call, actor) => list(call, actor, searchParams(call.body)) } },
  };
  return [users, user, search];
}
