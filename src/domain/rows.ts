// Reading rows: timestamps arrive as PostgreSQL's text (the infra layer keeps
// them exact, microseconds and all) and become Dates where the domain needs one.

export function toDate(v: string | Date): Date;
export function toDate(v: string | Date | null): Date | null;
export function toDate(v: string | Date | null): Date | null {
  if (v === null) return null;
  return v instanceof Date ? v : new Date(v);
}
