// Looking ahead into a connection's selection, so a page can bring the
// relations its nodes will ask for in its own statement (primed into the
// loaders, which then answer without SQL).
import { Kind, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';
import type { GraphqlContext } from '../context.js';
import type { MemberPageRelations } from '../../domain/member/member.service.js';

/** Whether `edges { node { <field> } }` is selected (through fragments too). */
export function nodeSelects(info: GraphQLResolveInfo, field: string): boolean {
  const edges = info.fieldNodes.flatMap((n) => fieldsNamed(info, n.selectionSet, 'edges'));
  const nodes = edges.flatMap((e) => fieldsNamed(info, e, 'node'));
  return nodes.some((n) => fieldsNamed(info, n, field).length > 0);
}

/**
 * Whether the connection's own `totalCount` is selected (through fragments
 * too): every connection passes it to the domain as `count`, so a page that
 * is not asked for its count does not count every match.
 */
export function selectsTotalCount(info: GraphQLResolveInfo): boolean {
  return info.fieldNodes.some((n) => fieldsNamed(info, n.selectionSet, 'totalCount').length > 0);
}

function fieldsNamed(info: GraphQLResolveInfo, set: SelectionSetNode | undefined, name: string, seen = new Set<string>()): (SelectionSetNode | undefined)[] {
  if (!set) return [];
  const out: (SelectionSetNode | undefined)[] = [];
  for (const s of set.selections) {
    if (s.kind === Kind.FIELD && s.name.value === name) out.push(s.selectionSet);
    else if (s.kind === Kind.INLINE_FRAGMENT) out.push(...fieldsNamed(info, s.selectionSet, name, seen));
    else if (s.kind === Kind.FRAGMENT_SPREAD && !seen.has(s.name.value)) {
      seen.add(s.name.value);
      out.push(...fieldsNamed(info, info.fragments[s.name.value]?.selectionSet, name, seen));
    }
  }
  return out;
}

export function primeRelations(ctx: GraphqlContext, rel: MemberPageRelations | undefined): void {
  if (!rel) return;
  for (const [id, groups] of rel.groups ?? []) ctx.loaders.groupsOfMember.prime(id, groups);
  for (const [id, shares] of rel.shares ?? []) ctx.loaders.sharesOfMember.prime(id, shares);
  for (const l of rel.locks) ctx.loaders.lock.prime(l.id, l);
  for (const p of rel.places) ctx.loaders.place.prime(p.id, p);
}
