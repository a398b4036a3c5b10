// Which reads of the current request may go to a read replica, and who is
// asking (for read-your-writes). Edges that serve lag-tolerant reads (GraphQL
// queries, the admin console's lists) open a scope per request; everything
// else (SCIM, sign-in, background jobs, the CLI) runs outside one, and there
// every statement goes to the primary. Carried by AsyncLocalStorage so that no
// use case has to take it (the domain only says which reads tolerate lag:
// `Db.lagTolerant`, src/domain/db.ts).
import { AsyncLocalStorage } from 'node:async_hooks';
import crypto from 'node:crypto';

export interface ReadScope {
  /**
   * Who the request acts for (a hash of its credential), or undefined.
   * After this caller writes, its reads go to a replica only once the replica
   * has replayed that write (./replicas.ts). Set once the caller is
   * authenticated, so that the sign-in's own bookkeeping (a session's
   * last-seen time) does not count as the caller's write.
   */
  caller: string | undefined;
  /** Whether `Db.lagTolerant` reads of this request may go to a replica (set once the edge knows what the request does). */
  lagTolerant: boolean;
}

const store = new AsyncLocalStorage<ReadScope>();

export function runInReadScope<T>(scope: ReadScope, fn: () => T): T {
  return store.run(scope, fn);
}

export function currentReadScope(): ReadScope | undefined {
  return store.getStore();
}

/** A caller's key from its credential (an Authorization header or a session cookie): a hash, never the secret itself. */
export function callerKey(credential: string | undefined): string | undefined {
  if (!credential) return undefined;
  return crypto.createHash('sha256').update(credential).digest('base64url').slice(0, 22);
}
