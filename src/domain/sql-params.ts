// Parameters of a statement composed at run time (a SCIM filter, a list
// query's optional conditions): each value added gets the next `$n`, so the
// text and its parameters cannot drift apart, whatever order fragments are
// built in.
import type { SqlParam } from './db.js';

export class SqlParams {
  readonly values: SqlParam[] = [];

  /** Binds `value` and returns its placeholder. */
  add(value: SqlParam): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}
