// SCIM tokens and API keys: shown once, stored as a hash, rotated and revoked at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from '../setup/test-db.js';
import { buildOrg } from '../factories/index.js';
import { hashSecret } from '../../src/domain/secrets.js';

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb();
});
afterAll(async () => {
  await t.close();
});

const unauthenticated = (code: string) => expect.objectContaining({ kind: 'unauthenticated', code });

describe('SCIM token', () => {
  it('enable issues a prefixed token; enabling again rotates it and the first stops working at once', async () => {
    const org = await buildOrg(t.domain);
    const first = await t.domain.organizations.enableScim(org.actor);
    expect(first.token).toMatch(/^gh_scim_[A-Za-z0-9_-]{43}$/);
    expect(await t.domain.organizations.authenticateScim(first.token)).toEqual({ kind: 'scim', organizationId: org.id, label: 'scim' });

    const second = await t.domain.organizations.enableScim(org.actor);
    expect(second.token).not.toBe(first.token);
    await expect(t.domain.organizations.authenticateScim(first.token)).rejects.toEqual(unauthenticated('invalid_token'));
    expect((await t.domain.organizations.authenticateScim(second.token)).organizationId).toBe(org.id);

    const status = await t.domain.organizations.scimStatus(org.actor);
    expect(status).toMatchObject({ enabled: true, tokenPrefix: second.token.slice(0, 14) });
    expect(status.tokenLastUsedAt).toBeInstanceOf(Date);

    const actions = (await t.domain.audit.list(org.actor, { actionPrefix: 'scim.' })).map((e) => e.action);
    expect(actions).toEqual(['scim.token.rotate', 'scim.enable']);
    // Only the hash is stored; the audit trail never holds the token.
    const stored = await t.domain.db.sql.one<{ scim_token_hash: Buffer }>(`select scim_token_hash from organizations where organization_id = $1`, [org.id]);
    expect(Buffer.compare(stored.scim_token_hash, hashSecret(second.token))).toBe(0);
    const audit = JSON.stringify(await t.domain.audit.list(org.actor, { limit: 500 }));
    expect(audit).not.toContain(first.token);
    expect(audit).not.toContain(second.token);
  });

  it('disable forgets the token; a wrong, foreign-prefixed or overlong token is refused', async () => {
    const org = await buildOrg(t.domain);
    const { token } = await t.domain.organizations.enableScim(org.actor);
    await t.domain.organizations.disableScim(org.actor);
    await expect(t.domain.organizations.authenticateScim(token)).rejects.toEqual(unauthenticated('invalid_token'));
    expect(await t.domain.organizations.scimStatus(org.actor)).toEqual({
      enabled: false,
      tokenPrefix: null,
      tokenCreatedAt: null,
      tokenLastUsedAt: null,
      previousTokenPrefix: null,
      previousTokenCreatedAt: null,
      previousTokenLastUsedAt: null,
      previousTokenExpiresAt: null,
    });
    // A flipped last character (same length, same prefix) goes through the hash path and fails.
    const again = await t.domain.organizations.enableScim(org.actor);
    const flipped = again.token.slice(0, -1) + (again.token.endsWith('A') ? 'B' : 'A');
    await expect(t.domain.organizations.authenticateScim(flipped)).rejects.toEqual(unauthenticated('invalid_token'));
    await expect(t.domain.organizations.authenticateScim('gh_key_' + again.token.slice(8))).rejects.toEqual(unauthenticated('invalid_token'));
    await expect(t.domain.organizations.authenticateScim(again.token + 'x'.repeat(200))).rejects.toEqual(unauthenticated('invalid_token'));
    await expect(t.domain.organizations.authenticateScim('')).rejects.toEqual(unauthenticated('invalid_token'));
    expect((await t.domain.organizations.authenticateScim(again.token)).organizationId).toBe(org.id);
  });
});

describe('API keys', () => {
  it('create shows the key once, authenticate resolves role and organisation, revoke stops it at once', async () => {
    const org = await buildOrg(t.domain);
    const { key, apiKey } = await t.domain.apiKeys.create(org.actor, { name: ' dashboard ', role: 'reader' });
    expect(key).toMatch(/^gh_key_[A-Za-z0-9_-]{43}$/);
    expect(apiKey).toMatchObject({ name: 'dashboard', role: 'reader', prefix: key.slice(0, 13), revokedAt: null, lastUsedAt: null });
    expect(JSON.stringify(await t.domain.apiKeys.list(org.actor))).not.toContain(key);

    expect(await t.domain.apiKeys.authenticate(key)).toEqual({ kind: 'api_key', organizationId: org.id, id: apiKey.id, label: 'dashboard', role: 'reader' });
    expect((await t.domain.apiKeys.list(org.actor))[0]!.lastUsedAt).toBeInstanceOf(Date);

    const revoked = await t.domain.apiKeys.revoke(org.actor, apiKey.id);
    expect(revoked.revokedAt).toBeInstanceOf(Date);
    await expect(t.domain.apiKeys.authenticate(key)).rejects.toEqual(unauthenticated('invalid_api_key'));
    // Revoking twice keeps the first revocation time.
    expect((await t.domain.apiKeys.revoke(org.actor, apiKey.id)).revokedAt).toEqual(revoked.revokedAt);

    const flipped = key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A');
    await expect(t.domain.apiKeys.authenticate(flipped)).rejects.toEqual(unauthenticated('invalid_api_key'));
    await expect(t.domain.apiKeys.authenticate('Bearer ' + key)).rejects.toEqual(unauthenticated('invalid_api_key'));
    const actions = (await t.domain.audit.list(org.actor, { actionPrefix: 'apikey.' })).map((e) => e.action);
    expect(actions).toEqual(['apikey.revoke', 'apikey.revoke', 'apikey.create']);
  });

  it('an admin key may create keys and enable SCIM; a SCIM token may not', async () => {
    const org = await buildOrg(t.domain);
    const { key } = await t.domain.apiKeys.create(org.actor, { name: 'ops', role: 'admin' });
    const admin = await t.domain.apiKeys.authenticate(key);
    await expect(t.domain.apiKeys.create(admin, { name: 'child', role: 'reader' })).resolves.toMatchObject({ apiKey: { role: 'reader' } });
    const { token } = await t.domain.organizations.enableScim(admin);
    const scim = await t.domain.organizations.authenticateScim(token);
    await expect(t.domain.organizations.enableScim(scim)).rejects.toMatchObject({ kind: 'forbidden' });
    await expect(t.domain.apiKeys.list(scim)).rejects.toMatchObject({ kind: 'forbidden' });
  });
});
