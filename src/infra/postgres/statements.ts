// Statement texts as the server takes them, and when each is prepared by name.
//
// On a PostgreSQL server a statement this process runs often becomes a named
// prepared statement on each connection, so the server parses and plans it
// once (connections use generic plans, see ./client.ts): the hot paths
// (Entra's SCIM traffic) are a handful of statements run millions of times,
// and planning a membership batch costs more than running it.
//
// A generic plan is costed once, with the statistics and table sizes of that
// moment. Made while Entra's first cycle is filling a members table that has
// no statistics yet, it may scan the whole table for a primary-key lookup or
// walk the organisation for a `userName eq`. Three things keep plans honest:
// a statement is prepared only from its NAME_AFTER_RUNS-th run in the process
// (until then it is parsed and planned afresh each time); the statistics
// keeper (./statistics.ts) analyses a table as soon as it has grown by a
// fifth, and PostgreSQL replans every prepared statement that reads it; and a
// connection is replaced once it is PLAN_REFRESH_MS old, taking its prepared
// statements with it. PGlite serves every connection from one session, so
// there statements stay unnamed.
import crypto from 'node:crypto';

/** Distinct statement texts remembered (dynamic SQL such as SCIM filters varies; the oldest are forgotten, and a hot one soon comes back). */
const MAX_TEXTS = 2000;
/** Named statements per connection; past it, new texts run unnamed on that connection. */
export const MAX_NAMED_PER_CONNECTION = 200;
/** Runs of a statement in this process before it is prepared by name (one-off texts never take a slot). */
export const NAME_AFTER_RUNS = 100;
/** How long a connection keeps its prepared statements (and their plans) before it is replaced. */
export const PLAN_REFRESH_MS = 30_000;

/** A statement in the form the server takes, and the name it is prepared under. */
export interface Statement {
  readonly text: string;
  readonly placeholders: number;
  readonly name: string;
  /** Executions so far in this process: a statement is prepared from its NAME_AFTER_RUNS-th. */
  uses: number;
  /** Whether it may write (inserts, updates, deletes, sequences, notifications): after one, a caller's reads wait for replicas to replay it (./replicas.ts). */
  readonly writes: boolean;
}

const WRITES = /\b(insert|update|delete|merge)\b|\b(nextval|pg_notify|setval)\s*\(/i;

const texts = new Map<string, Statement>();

/** The highest `$n` of a text (a placeholder may be used more than once). */
function highestPlaceholder(text: string): number {
  let n = 0;
  for (const m of text.matchAll(/\$(\d+)/g)) n = Math.max(n, Number(m[1]));
  return n;
}

export function statement(sql: string): Statement {
  let s = texts.get(sql);
  if (s) return s;
  s = { text: sql, placeholders: highestPlaceholder(sql), name: `gh_${crypto.createHash('sha1').update(sql).digest('base64url').slice(0, 20)}`, uses: 0, writes: WRITES.test(sql) };
  texts.set(sql, s);
  if (texts.size > MAX_TEXTS) texts.delete(texts.keys().next().value!);
  return s;
}

/** The statements prepared on one connection, as this layer asked for them. */
export class PreparedOnConnection {
  private readonly names = new Set<string>();
  readonly since = Date.now();

  /** The name to run `s` under here, or undefined to run it unnamed. */
  nameFor(s: Statement, nameAfterRuns: number): string | undefined {
    // Already prepared here (even if this process forgot the text meanwhile), or hot and room for it.
    if (this.names.has(s.name)) return s.name;
    if (s.uses > nameAfterRuns && this.names.size < MAX_NAMED_PER_CONNECTION) {
      this.names.add(s.name);
      return s.name;
    }
    return undefined;
  }
}
