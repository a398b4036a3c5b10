// The audit export: the trail in commit order with a resumable cursor that
// never skips an event whose transaction commits late, in JSON lines and CEF,
// through the domain, the CLI and GraphQL.
import pg from 'pg';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabaseUrl, createTestDb, type TestDb } from '../../setup/test-db.js';
import { buildMember, buildOrg } from '../../factories/index.js';
import { toCefLine, toExportJson, type ExportStart } from '../../../src/domain/audit/audit-export.js';
import type { StreamEvent } from '../../../src/domain/audit/audit-stream.js';
import { writeAudit } from '../../../src/domain/audit/audit.service.js';
import type { Actor } from '../../../src/domain/index.js';
import { runCliOn } from '../../setup/cli.js';
import { ScimClient, startServer, PATCH_OP, CORE_USER } from '../../scim/scim-client.js';
import { startHarness, codes, type Harness } from '../../graphql/harness.js';
import { waitForFence } from '../../setup/fence.js';

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb({ poolSize: 12 });
});
afterAll(async () => {
  await t.close();
});

/** Every event of the organisation from `start`, paging by `first` until caught up. */
async function exportAll(actor: Actor, start: ExportStart = null, first = 1000): Promise<{ events: StreamEvent[]; cursor: string }> {
  await waitForFence(t.domain.db);
  const events: StreamEvent[] = [];
  let s = start;
  let cursor = '';
  for (;;) {
    const page = await t.domain.audit.exportPage(actor, s, first);
    events.push(...page.events);
    cursor = page.cursor;
    s = { cursor };
    if (!page.hasMore) return { events, cursor };
  }
}

/** A raw connection that writes an audit event in a transaction it keeps open until told. */
async function openWriter(orgId: string, label: string): Promise<{ commit(): Promise<void>; rollback(): Promise<void> }> {
  const c = new pg.Client({ connectionString: t.url });
  await c.connect();
  await c.query('begin');
  await c.query(`insert into audit_events (organization_id, actor_kind, action, outcome, resource_label) values ($1, 'system', 'test.slow', 'success', $2)`, [orgId, label]);
  return {
    async commit() {
      await c.query('commit');
      await c.end();
    },
    async rollback() {
      await c.query('rollback');
      await c.end();
    },
  };
}

describe('audit export order', () => {
  it('never skips an event whose transaction commits after later ones were read', async () => {
    const org = await buildOrg(t.domain);
    const before = await exportAll(org.actor);
    const slow = await openWriter(org.id, 'slow');
    // Written and committed after the slow transaction took its txid.
    const m = await buildMember(t.domain, org.actor);
    const during = await t.domain.audit.exportPage(org.actor, { cursor: before.cursor });
    // The fence holds the later event back while the earlier transaction runs.
    expect(during.events.map((e) => e.resourceLabel)).not.toContain(m.userName);
    await slow.commit();
    const after = await exportAll(org.actor, { cursor: during.cursor });
    expect(after.events.map((e) => e.resourceLabel)).toEqual(['slow', m.userName]);
  });

  it('is not held back by a long transaction of another database on the same server', async () => {
    const org = await buildOrg(t.domain);
    const before = await exportAll(org.actor);
    const other = await createTestDatabaseUrl();
    const c = new pg.Client({ connectionString: other.url });
    await c.connect();
    try {
      await c.query('begin');
      const { rows } = await c.query<{ txid: string }>('select pg_current_xact_id()::text as txid');
      const m = await buildMember(t.domain, org.actor);
      // The other database's transaction holds the server-wide xmin back, below the new event...
      const held = await t.domain.db.sql.one<{ held: boolean }>(`select pg_snapshot_xmin(pg_current_snapshot()) <= $1::xid8 as held`, [rows[0]!.txid]);
      expect(held.held).toBe(true);
      // ...and the export still hands the event out at once.
      const page = await t.domain.audit.exportPage(org.actor, { cursor: before.cursor });
      expect(page.events.map((e) => e.resourceLabel)).toContain(m.userName);
    } finally {
      await c.query('rollback');
      await c.end();
      await other.drop();
    }
  });

  it('pages in (transaction, id) order across a power of ten in the ids', async () => {
    const org = await buildOrg(t.domain);
    // The next ids cross 10^k: ordering as text would put 100 before 99.
    const { max } = await t.domain.db.sql.one<{ max: string }>(`select coalesce(max(id), 0)::text as max from audit_events`);
    const next = 10 ** String(Number(max) + 5).length - 4;
    await t.domain.db.sql.run(`select setval(pg_get_serial_sequence('audit_events', 'id'), $1, false)`, [next]);
    // Several events in one transaction (as an import batch writes them), and some in transactions of their own.
    const names = Array.from({ length: 8 }, (_, i) => `batch-${i}`);
    await t.domain.db.transaction(async (tx) => {
      for (const n of names) await writeAudit(tx, org.actor, { action: 'member.create', resourceLabel: n });
    });
    for (let i = 0; i < 3; i++) names.push((await buildMember(t.domain, org.actor)).userName);
    for (const first of [1, 2, 3, 1000]) {
      const { events } = await exportAll(org.actor, null, first);
      const created = events.filter((e) => e.action === 'member.create');
      expect(created.map((e) => e.resourceLabel)).toEqual(names);
      expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
      expect(created.map((e) => e.id).some((id) => id.length > String(next).length)).toBe(true);
    }
  });

  it('a reader paging while writers commit in any interleaving sees every committed event exactly once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ delay: fc.integer({ min: 0, max: 15 }), commit: fc.boolean() }), { minLength: 2, maxLength: 8 }),
        fc.integer({ min: 1, max: 4 }),
        async (writers, pageSize) => {
          const org = await buildOrg(t.domain);
          const seen: string[] = [];
          let start: ExportStart = null;
          // One reader: its reads queue behind each other, as a SIEM's polls do.
          let queue: Promise<void> = Promise.resolve();
          const read = () =>
            (queue = queue.then(async () => {
              for (;;) {
                const page = await t.domain.audit.exportPage(org.actor, start, pageSize);
                seen.push(...page.events.filter((e) => e.action === 'test.slow').map((e) => e.resourceLabel!));
                start = { cursor: page.cursor };
                if (!page.hasMore) return;
              }
            }));
          const opened = await Promise.all(writers.map((_, i) => openWriter(org.id, `w${i}`)));
          // Commit (or roll back) in a random order with random pauses while the reader pages.
          const done = Promise.all(
            opened.map(async (w, i) => {
              await new Promise((r) => setTimeout(r, writers[i]!.delay));
              await (writers[i]!.commit ? w.commit() : w.rollback());
              await read();
            }),
          );
          await read();
          await done;
          await waitForFence(t.domain.db);
          await read();
          const committed = writers.map((w, i) => (w.commit ? `w${i}` : null)).filter((x) => x !== null);
          expect(seen.length).toBe(new Set(seen).size);
          expect([...seen].sort()).toEqual([...committed].sort());
        },
      ),
      { numRuns: 15 },
    );
  });

  it('starts at a date, and a date after every event resumes without starting over', async () => {
    const org = await buildOrg(t.domain);
    await buildMember(t.domain, org.actor);
    const cut = new Date(Date.now() + 5);
    await new Promise((r) => setTimeout(r, 20));
    const later = await buildMember(t.domain, org.actor);
    const fromDate = await exportAll(org.actor, { date: cut });
    expect(fromDate.events.map((e) => e.resourceLabel)).toEqual([later.userName]);

    await waitForFence(t.domain.db);
    const future = await t.domain.audit.exportPage(org.actor, { date: new Date(Date.now() + 3_600_000) });
    expect(future.events).toEqual([]);
    const next = await buildMember(t.domain, org.actor);
    // The cursor of an empty date-started page is the fence: resuming gives only what came after.
    const resumed = await exportAll(org.actor, { cursor: future.cursor });
    expect(resumed.events.map((e) => e.resourceLabel)).toEqual([next.userName]);
  });

  it('shows one organisation only, and refuses non-admins and forged cursors', async () => {
    const a = await buildOrg(t.domain);
    const b = await buildOrg(t.domain);
    const ma = await buildMember(t.domain, a.actor);
    await buildMember(t.domain, b.actor);
    const { events } = await exportAll(a.actor);
    expect(events.every((e) => e.resourceLabel !== null && e.action !== 'organization.create' ? e.resourceLabel === ma.userName || e.action !== 'member.create' : true)).toBe(true);
    expect(events.filter((e) => e.action === 'member.create').map((e) => e.resourceLabel)).toEqual([ma.userName]);
    await expect(
      t.domain.audit.exportPage({ kind: 'api_key', organizationId: a.id, id: crypto.randomUUID(), label: 'r', role: 'reader' }, null),
    ).rejects.toMatchObject({ code: 'admin_role_required' });
    await expect(t.domain.audit.exportPage(a.actor, { cursor: 'ae1.bm90LWEtY3Vyc29y' })).rejects.toMatchObject({ code: 'invalid_cursor' });
    await expect(t.domain.audit.exportPage(a.actor, null, 0)).rejects.toMatchObject({ code: 'invalid_page_size' });
  });
});

/** Splits a CEF line into its 7 header fields and its extension map, undoing the escapes. */
function parseCef(line: string): { header: string[]; ext: Record<string, string> } {
  const header: string[] = [];
  let cur = '';
  let i = 0;
  for (; i < line.length && header.length < 7; i++) {
    const ch = line[i]!;
    if (ch === '\\') cur += line[++i];
    else if (ch === '|') {
      header.push(cur);
      cur = '';
    } else cur += ch;
  }
  const rest = line.slice(i);
  const ext: Record<string, string> = {};
  // key=value pairs; a value runs until the next unescaped " key=".
  const re = /(?:^| )([A-Za-z0-9]+)=((?:\\.|[^\\=])*?)(?= [A-Za-z0-9]+=|$)/g;
  for (const m of rest.matchAll(re)) {
    ext[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : c));
  }
  return { header, ext };
}

describe('formats', () => {
  it('JSON lines carry who, what, before/after, when, request id and client address; CEF escapes what it must', async () => {
    const server = await startServer(t);
    try {
      const org = await buildOrg(t.domain);
      const { token } = await t.domain.organizations.enableScim(org.actor);
      const scim = new ScimClient(server.url, token);
      const created = await scim.raw('POST', '/Users', JSON.stringify({ schemas: [CORE_USER], userName: 'pipe|eq=back\\slash@example.com', active: true }), {
        'x-request-id': 'req-export-1',
      });
      expect(created.status).toBe(201);
      const patched = await scim.raw(
        'PATCH',
        `/Users/${created.body.id}`,
        JSON.stringify({ schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'displayName', value: 'Line\nBreak' }] }),
        { 'x-request-id': 'req-export-2' },
      );
      expect(patched.status).toBe(200);

      const { events } = await exportAll(org.actor);
      const patch = events.find((e) => e.action === 'scim.user.patch')!;
      const json = toExportJson(patch);
      expect(json).toMatchObject({
        actor: { kind: 'scim' },
        action: 'scim.user.patch',
        outcome: 'success',
        resource: { type: 'member', id: created.body.id, label: 'pipe|eq=back\\slash@example.com' },
        changes: { displayName: { from: null, to: 'Line\nBreak' } },
        requestId: 'req-export-2',
        clientAddress: '127.0.0.1',
      });
      expect(typeof json.cursor).toBe('string');
      expect(new Date(json.time as string).getTime()).toBe(patch.at.getTime());

      const line = toCefLine(patch, '1.2.3');
      expect(line).not.toMatch(/[\r\n]/);
      const cef = parseCef(line);
      expect(cef.header).toEqual(['CEF:0', 'Gatehouse', 'Gatehouse', '1.2.3', 'scim.user.patch', 'scim.user.patch success pipe|eq=back\\slash@example.com', '3']);
      expect(cef.ext).toMatchObject({
        act: 'scim.user.patch',
        outcome: 'success',
        duser: 'pipe|eq=back\\slash@example.com',
        duid: created.body.id,
        cs1Label: 'actorKind',
        cs1: 'scim',
        cs3: 'req-export-2',
        src: '127.0.0.1',
        rt: String(patch.at.getTime()),
      });
      expect(JSON.parse(cef.ext.msg!)).toEqual({ displayName: { from: null, to: 'Line\nBreak' } });
    } finally {
      await server.close();
    }
  });
});

describe('audit export CLI', () => {
  const cli = (...argv: string[]) => runCliOn(t.url, argv);

  it('streams JSON lines or CEF, resumes from the cursor it printed, and answers bad input clearly', async () => {
    const org = await buildOrg(t.domain);
    const m1 = await buildMember(t.domain, org.actor);
    await waitForFence(t.domain.db);
    const first = await cli('audit', 'export', '--org', org.domain);
    expect(first.code).toBe(0);
    const lines = first.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { action: string; resource: { label: string }; cursor: string });
    expect(lines.map((l) => l.action)).toEqual(['organization.create', 'member.create']);
    expect(lines[1]!.resource.label).toBe(m1.userName);
    const resume = /resume with --since (\S+)/.exec(first.stderr)![1]!;
    expect(resume).toBe(lines[1]!.cursor);

    const m2 = await buildMember(t.domain, org.actor);
    await waitForFence(t.domain.db);
    const second = await cli('audit', 'export', '--org', org.domain, '--since', resume, '--format', 'cef');
    expect(second.code).toBe(0);
    const cef = second.stdout.trimEnd().split('\n');
    expect(cef).toHaveLength(1);
    expect(parseCef(cef[0]!).ext.duser).toBe(m2.userName);

    const json = await cli('audit', 'export', '--org', org.domain, '--limit', '1', '--json');
    expect(json.code).toBe(0);
    const obj = JSON.parse(json.stdout) as { events: unknown[]; cursor: string; hasMore: boolean };
    expect(obj.events).toHaveLength(1);
    expect(obj.hasMore).toBe(true);

    const bad = await cli('audit', 'export', '--org', org.domain, '--since', 'yesterday');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/cursor/);
    expect(bad.stdout).toBe('');
    expect((await cli('audit', 'export', '--org', org.domain, '--format', 'xml')).code).toBe(2);
    expect((await cli('audit', 'export', '--org', org.domain, '--limit', '0')).code).toBe(2);
  });
});

describe('auditExport over GraphQL', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('pages with the cursor for admin keys; readers are refused; bad cursors are BAD_USER_INPUT', async () => {
    const org = await h.org();
    await buildMember(h.t.domain, org.actor);
    await waitForFence(h.t.domain.db);
    const q = `query($since: String, $first: Int, $format: AuditExportFormat) { auditExport(since: $since, first: $first, format: $format) {
      cursor hasMore count events { cursor action actorKind resourceLabel requestId line } } }`;
    const one = await h.gql(q, { first: 2 }, { apiKey: org.admin });
    expect(one.status).toBe(200);
    const page = one.body.data!.auditExport as { cursor: string; hasMore: boolean; events: { action: string; cursor: string; line: string }[] };
    expect(page.events.map((e) => e.action)).toEqual(['organization.create', 'apikey.create']);
    expect(page.hasMore).toBe(true);
    expect(JSON.parse(page.events[0]!.line)).toMatchObject({ action: 'organization.create' });
    const rest = await h.gql(q, { since: page.cursor, format: 'CEF' }, { apiKey: org.admin });
    const events = (rest.body.data!.auditExport as { events: { action: string; line: string }[] }).events;
    expect(events.map((e) => e.action)).toEqual(['apikey.create', 'member.create']);
    expect(events[0]!.line).toMatch(/^CEF:0\|Gatehouse\|Gatehouse\|/);

    expect(codes(await h.gql(q, {}, { apiKey: org.reader }))).toEqual(['FORBIDDEN']);
    expect(codes(await h.gql(q, { since: 'garbage' }, { apiKey: org.admin }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await h.gql(q, { first: 0 }, { apiKey: org.admin }))).toEqual(['BAD_USER_INPUT']);
  });
});
