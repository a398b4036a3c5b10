// The SCIM Group handlers: /Groups, /Groups/:id and POST /Groups/.search.
// Members are streamed group by group, page by page: never a whole
// membership in memory.
import type { ServerResponse } from 'node:http';
import type { Actor } from '../domain/index.js';
import type { Group } from '../domain/group/group.model.js';
import { groupChangeFromPatch, parsePatchBody } from './patch.js';
import { etag, listResponse, project, type Projection, toScimGroup, toScimMemberRef, wantsAttribute } from './presenters.js';
import { listQuery, projection, searchParams, urlParams, type Params } from './query.js';
import { summarise, summariseOps } from './rejections.js';
import { groupInputFromBody, LIST_RESPONSE_URN, type Doc } from './schemas.js';
import { CONTENT_TYPE, send, SCIM_BASE_PATH, write, type Call, type EdgeContext, type Route } from './transport.js';

/** Members read per statement while a group is streamed. */
const MEMBER_PAGE = 5000;

/** The collection, one group, and the search. */
export function groupRoutes({ domain, base }: EdgeContext): [Route, Route, Route] {
  /** GET /Groups and POST /Groups/.search. */
  async function list(call: Call, actor: Actor, params: Params): Promise<void> {
    const q = listQuery(params);
    const { attributes, excluded } = projection(params);
    const page = await domain.groups.search(actor, q);
    const withMembers = wantsAttribute('members', attributes, excluded);
    const { res } = call;
    if (!withMembers || page.groups.length === 0) {
      const resources = page.groups.map((g) => project(toScimGroup(g, base), attributes, excluded));
      send(res, 200, listResponse(resources, page.totalResults, q.startIndex));
      return;
    }
    res.writeHead(200, { 'Content-Type': CONTENT_TYPE });
    await write(
      res,
      `{"schemas":${JSON.stringify([LIST_RESPONSE_URN])},"totalResults":${page.totalResults},"startIndex":${q.startIndex},"itemsPerPage":${page.groups.length},"Resources":[`,
    );
    for (const [i, g] of page.groups.entries()) {
      if (i > 0) await write(res, ',');
      await stream(res, actor, g, attributes, excluded);
    }
    res.end(']}');
  }

  /** One group as JSON, its members read and written MEMBER_PAGE at a time. */
  async function stream(res: ServerResponse, actor: Actor, g: Group, attributes: Projection[] | undefined, excluded: Projection[] | undefined): Promise<void> {
    const head = JSON.stringify(project(toScimGroup(g, base), attributes, excluded));
    let after: string | undefined;
    let first = true;
    for (;;) {
      const page = await domain.groups.members(actor, g.id, { afterId: after, limit: MEMBER_PAGE });
      if (first && page.length === 0) {
        // An empty group leaves `members` out, as clients expect of an unassigned attribute.
        await write(res, head);
        return;
      }
      if (first) await write(res, `${head.slice(0, -1)},"members":[`);
      if (page.length > 0) {
        const chunk = page.map((m) => JSON.stringify(toScimMemberRef(m, base))).join(',');
        await write(res, first ? chunk : `,${chunk}`);
        first = false;
      }
      if (page.length < MEMBER_PAGE) break;
      after = page[page.length - 1]!.id;
    }
    await write(res, ']}');
  }

  const groups: Route = {
    label: `${SCIM_BASE_PATH}/Groups`,
    resource: 'group',
    methods: {
      GET: { action: 'scim.group.list', fn: (call, actor) => list(call, actor, urlParams(call)) },
      POST: {
        action: 'scim.group.create',
        async fn(call, actor) {
          const input = groupInputFromBody(call.body);
          const g = await domain.groups.create(actor, input, { action: 'scim.group.create', detail: { request: summarise(call.body) } });
          send(call.res, 201, withMemberIds(toScimGroup(g, base), input.memberIds), { Location: `${base}/Groups/${g.id}`, ETag: etag(g.version) });
        },
      },
    },
  };
  const group: Route = {
    label: `${SCIM_BASE_PATH}/Groups/:id`,
    resource: 'group',
    methods: {
      GET: {
        action: 'scim.group.get',
        async fn(call, actor) {
          const { attributes, excluded } = projection(urlParams(call));
          const g = await domain.groups.get(actor, call.id!);
          const { res } = call;
          if (!wantsAttribute('members', attributes, excluded)) {
            send(res, 200, project(toScimGroup(g, base), attributes, excluded), { ETag: etag(g.version) });
            return;
          }
          res.writeHead(200, { 'Content-Type': CONTENT_TYPE, ETag: etag(g.version) });
          await stream(res, actor, g, attributes, excluded);
          res.end();
        },
      },
      PUT: {
        action: 'scim.group.replace',
        async fn(call, actor) {
          const input = groupInputFromBody(call.body);
          const g = await domain.groups.update(
            actor,
            call.id!,
            { displayName: input.displayName, externalId: input.externalId, replaceMembers: input.memberIds },
            { action: 'scim.group.replace', detail: { request: summarise(call.body) } },
          );
          send(call.res, 200, withMemberIds(toScimGroup(g, base), input.memberIds), { ETag: etag(g.version) });
        },
      },
      PATCH: {
        action: 'scim.group.patch',
        async fn(call, actor) {
          const ops = parsePatchBody(call.body);
          const change = groupChangeFromPatch(ops);
          const g = await domain.groups.update(actor, call.id!, change, { action: 'scim.group.patch', detail: { operations: summariseOps(ops) } });
          // Entra prefers 204 for groups: the member list is not sent back.
          send(call.res, 204, undefined, { ETag: etag(g.version) });
        },
      },
      DELETE: {
        action: 'scim.group.delete',
        async fn(call, actor) {
          await domain.groups.delete(actor, call.id!, { action: 'scim.group.delete' });
          send(call.res, 204);
        },
      },
    },
  };
  const search: Route = {
    label: `${SCIM_BASE_PATH}/Groups/.search`,
    resource: 'group',
    methods: { POST: { action: 'scim.group.search', fn: (call, actor) => list(call, actor, searchParams(call.body)) } },
  };
  return [groups, group, search];
}

function withMemberIds(doc: Doc, ids: readonly string[]): Doc {
  return ids.length === 0 ? doc : { ...doc, members: ids.map((id) => ({ value: id })) };
}
