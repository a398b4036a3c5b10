// Cross-tenant lookups by credential hash go through credential_hashes (a
// Citus reference table): the organisation first, then the credential's own
// row by (organization_id, hash). Triggers keep the table in step with
// api_keys and sessions in the same transaction.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSecret } from '../../src/domain/secrets.js';
import { buildMember, buildOrg } from '../factories/index.js';
import { createTestDb, type TestDb } from '../setup/test-db.js';

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb();
});
afterAll(async () => {
  await t.close();
});

async function entry(hash: Buffer): Promise<{ organization_id: string; kind: string } | undefined> {
  return t.database.db.sql.maybeOne(`select organization_id, kind from credential_hashes where hash = $1`, [hash]);
}

describe('credential_hashes', () => {
  it('holds every API key from its creation, and the key is found through it', async () => {
    const org = await buildOrg(t.domain);
    const { key } = await t.domain.apiKeys.create(org.actor, { name: 'app', role: 'reader' });
    expect(await entry(hashSecret(key))).toEqual({ organization_id: org.id, kind: 'api_key' });
    expect((await t.domain.apiKeys.authenticate(key)).organizationId).toBe(org.id);
    // Without its entry the key is not found: the lookup starts from the table.
    await t.database.db.sql.run(`delete from credential_hashes where hash = $1`, [hashSecret(key)]);
    await expect(t.domain.apiKeys.authenticate(key)).rejects.toThrow();
  });

  it('holds every session while it lives, and forgets it when it ends', async () => {
    const org = await buildOrg(t.domain);
    const m = await buildMember(t.domain, org.actor);
    const s = await t.domain.sessions.start(org.id, m.id);
    expect(await entry(hashSecret(s.token))).toEqual({ organization_id: org.id, kind: 'session' });
    expect((await t.domain.sessions.authenticate(s.token)).id).toBe(m.id);
    await t.domain.sessions.end(s.token);
    expect(await entry(hashSecret(s.token))).toBeUndefined();
    await expect(t.domain.sessions.authenticate(s.token)).rejects.toThrow();
  });

  it('forgets the sessions of a deactivated member and every credential of a deleted organisation', async () => {
    const org = await buildOrg(t.domain);
    const m = await buildMember(t.domain, org.actor);
    const s = await t.domain.sessions.start(org.id, m.id);
    await t.domain.members.update(org.actor, m.id, { active: false });
    expect(await entry(hashSecret(s.token))).toBeUndefined();
    const { key } = await t.domain.apiKeys.create(org.actor, { name: 'app', role: 'reader' });
    await t.database.db.sql.run(`delete from organizations where organization_id = $1`, [org.id]);
    expect(await entry(hashSecret(key))).toBeUndefined();
  });
});
