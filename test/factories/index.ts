// Test data factories: each creates what it needs (an organisation when none
// is given), with unique names, so tests never collide.
import crypto from 'node:crypto';
import { systemActor, type Actor, type Domain } from '../../src/domain/index.js';
import type { MemberInput } from '../../src/domain/member/member.model.js';

let seq = 0;
export function unique(prefix: string): string {
  return `${prefix}${++seq}${crypto.randomBytes(3).toString('hex')}`;
}

export async function buildOrg(domain: Domain, name?: string): Promise<{ id: string; domain: string; actor: Actor }> {
  const slug = unique('org');
  const org = await domain.organizations.create({ name: name ?? slug, domain: slug });
  return { id: org.id, domain: org.domain, actor: systemActor(org.id, 'test') };
}

export async function buildMember(domain: Domain, actor: Actor, overrides: Partial<MemberInput> = {}) {
  return domain.members.create(actor, { userName: `${unique('user')}@example.com`, displayName: 'Test User', ...overrides });
}

export async function buildGroup(domain: Domain, actor: Actor, memberIds: string[] = [], displayName?: string) {
  return domain.groups.create(actor, { displayName: displayName ?? unique('group'), memberIds });
}

export async function buildLock(domain: Domain, actor: Actor, placeId?: string) {
  const pid = placeId ?? (await domain.places.createPlace(actor, { name: unique('place') })).id;
  const lock = await domain.places.createLock(actor, { placeId: pid, name: unique('door') });
  return lock;
}
