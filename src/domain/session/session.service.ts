// Sessions of signed-in members, as rows (any process can serve any session).
// The cookie carries a random token; only its hash is stored. A session ends
// after an idle timeout or an absolute one, when the member logs out, and at
// once when the member is deactivated or deleted.
import type { Db, Sql } from '../db.js';
import { Unauthenticated } from '../errors.js';
import { hashSecret, issueSecret } from '../secrets.js';
import type { Actor } from '../actor.js';
import * as sessionSql from './session.sql.js';

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
    const expiresAt = await sessionSql.insertSession(sql, organizationId, secret.hash, memberId, this.policy.absoluteHours);
    if (!expiresAt) throw new Error(`Expected one row from the session insert of member ${memberId}`);
    return { token: secret.value, expiresAt };
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
    const session = await sessionSql.selectLiveSession(this.db.sql, hash, this.policy.idleMinutes);
    if (!session) throw new Unauthenticated('no_session', 'Not signed in, or the session has ended');
    if (session.stale) await sessionSql.touchSession(this.db.sql, session.organizationId, hash);
    return { kind: 'member', organizationId: session.organizationId, id: session.memberId, label: session.userName };
  }

  /**
   * Ends the session. Returns whose it was, whether it was live (a sign-out,
   * not the clean-up of an expired one), and what its SAML sign-in recorded:
   * the NameID and the AuthnStatement's SessionIndex, which the LogoutRequest
   * sent at sign-out names (null for a session started otherwise); undefined
   * when there was no such session.
   */
  async end(token: string): Promise<sessionSql.EndedSessionRow | undefined> {
    if (!token.startsWith(SESSION_PREFIX) || token.length > 200) return undefined;
    return sessionSql.deleteSession(this.db.sql, hashSecret(token), this.policy.idleMinutes);
  }

  /** Removes expired rows (housekeeping; expired sessions are refused anyway). */
  async purgeExpired(): Promise<number> {
    return sessionSql.deleteEndedSessions(this.db.sql, this.policy.idleMinutes);
  }
}
