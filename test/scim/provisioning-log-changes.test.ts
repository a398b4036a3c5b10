// The provisioning log records what a SCIM request changed, and only that:
// Entra's PATCH resends emails and phone numbers it already sent, and the
// state read back from PostgreSQL (jsonb) has its keys in another order.
import { describe, expect, it } from 'vitest';
import type { TestDb } from '../setup/test-db.js';
import { entraUser, patchOp, scimOrg, scimSuite, type ScimServer } from './scim-client.js';

let t: TestDb;
let server: ScimServer;
scimSuite((s) => ({ t, server } = s));

describe('provisioning log changes', () => {
  it('a PATCH resending identical emails and phone numbers records only what changed', async () => {
    const org = await scimOrg(t, server);
    const created = await org.scim.post('/Users', entraUser('ada.lovelace@acme.example', { phoneNumbers: [{ type: 'mobile', value: '+44 20 7946 0000', primary: false }] }));
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const res = await org.scim.patch(
      `/Users/${id}`,
      patchOp(
        { op: 'Replace', path: 'emails[type eq "work"].value', value: 'ada.lovelace@acme.example' },
        { op: 'Replace', path: 'phoneNumbers[type eq "mobile"].value', value: '+44 20 7946 0000' },
        { op: 'Replace', path: 'displayName', value: 'Ada King' },
      ),
    );
    expect(res.status).toBe(200);
    // The same emails and phone numbers as a whole, in another key order.
    const again = await org.scim.patch(
      `/Users/${id}`,
      patchOp({ op: 'Replace', value: { emails: [{ value: 'ada.lovelace@acme.example', primary: true, type: 'work' }], phoneNumbers: [{ primary: false, value: '+44 20 7946 0000', type: 'mobile' }] } }),
    );
    expect(again.status).toBe(200);
    const events = await t.domain.audit.list(org.actor, { resourceId: id });
    const updates = events.filter((e) => e.action.endsWith('update') || e.action.endsWith('patch'));
    expect(updates.length).toBe(1);
    expect(Object.keys(updates[0]!.detail.changes as object)).toEqual(['displayName']);
  });
});
