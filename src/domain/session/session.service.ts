// Sessions of signed-in members, as rows (any process can serve any session).
// The cookie carries a random token; only its hash is stored. A session ends
// after an idle timeout or an absolute one, when the member logs out, and at
// once when the member is deactivated or deleted.
import type { Db, Sql } from '../db.js';
import { toDate } from '../rows.js';
import { Unauthenticated } from '../errors.js';
import { hashSecret, issueSecret } from '../secrets.js';
import type { Actor } from '../actor.js';

export const SESSION_COOKIE = 'gatehouse_session';
const SESSION_PREFIX = 'gh_sess_';

export interface SessionPolicy {
  readonly idleMinutes: number;
  readonly absoluteHours: number;
}

export interface StartedSession {
  /** The cookie value: shown to the browser only. */
  readonly token: string;
  readonly expiresAt: Date;
}

export class SessionService {
  constructor(
    private readonly db: Db,
    private readonly policy: SessionPolicy,
  ) {}

  /** Starts a session for an (already verified) active member. */
  async start(organizationId: string, memberId: string, sql: Sql = this.db.sql): Promise<StartedSession> {
    const secret = issueSecret(SESSION_PREFIX);
    const row = await sql.one<{ expires_at: string }>(
      `insert into sessions (organization_id, id, member_id, expires_at)
       select ?, ?, id, now() + make_interval(hours => ?) from members where organization_id = ? and id = ? and active
       returning expires_at`,
      [organizationId, secret.hash, this.policy.absoluteHours, organizationId, memberId],
    );
    return { token: secret.value, expiresAt: toDate(row.expires_at) };
  }

  /**
   * A new token for a caller that inserts the `sessions` row inside a statement
   * of its own (the SAML login does, together with its checks, in one round
   * trip): the cookie value, the hash for `sessions.id`, the absolute lifetime.
   */
  issue(): { readonly token: string; readonly hash: Buffer; readonly absoluteHours: number } {
    const secret = issueSecret(SESSION_PREFIX);
    return { token: secret.value, hash: secret.hash, absoluteHours: this.policy.absoluteHours };
  }

  /**
   * Resolves a cookie to the member actor, or throws Unauthenticated. Refreshes
   * the idle timer at most once a minute (no write on every request).
   */
  async authenticate(token: string): Promise<Actor & { kind: 'member' }> {
    if (!token.startsWith(SESSION_PREFIX) || token.length > 200) throw new Unauthenticated('no_session', 'Not signed in');
    const hash = hashSecret(token);
    const row = await this.db.sql.maybeOne<{ organization_id: string; member_id: string; user_name: string; stale: boolean }>(
      `select s.organization_id, s.member_id, m.user_name, s.last_seen_at < now() - interval '1 minute' as stale
       from sessions s join members m on m.organization_id = s.organization_id and m.id = s.member_id
       where s.id = ? and s.expires_at > now() and s.last_seen_at > now() - make_interval(mins => ?) and m.active`,
      [hash, this.policy.idleMinutes],
    );
    if (!row) throw new Unauthenticated('no_session', 'Not signed in, or the session has ended');
    if (row.stale) {
      await this.db.sql.run(`update sessions set last_seen_at = now() where organization_id = ? and id = ?`, [row.organization_id, hash]);
    }
    return { kind: 'member', organizationId: row.organization_id, id: row.member_id, label: row.user_name };
  }

  async end(token: string): Promise<void> {
    if (!token.startsWith(SESSION_PREFIX)) return;
    await this.db.sql.run(`delete from sessions where id = ?`, [hashSecret(token)]);
  }

  /** Removes expired rows (housekeeping; expired sessions are refused anyway). */
  async purgeExpired(): Promise<number> {
    return this.db.sql.run(
      `delete from sessions where expires_at < now() or last_seen_at < now() - make_interval(mins => ?)`,
      [this.policy.idleMinutes],
    );
  }
}
