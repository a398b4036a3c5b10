// The CLI's building blocks: a command declares its options and returns one
// result, printed as text or (with --json) as exactly one JSON object.
import type { Config } from '../config.js';
import type { Actor, Domain } from '../domain/index.js';

export interface CliContext {
  readonly config: Config;
  readonly domain: Domain;
  /** The system actor of the organisation named by --org. */
  orgActor(domain: string | undefined): Promise<Actor>;
  /** Whether --json was given. */
  readonly json: boolean;
  /** Writes to stdout now (commands that stream their output). */
  write(text: string): void;
  /** Writes a message for the operator to stderr (never part of the output). */
  note(text: string): void;
}

export interface CommandResult {
  readonly json: Record<string, unknown>;
  readonly text: string;
  /** Process exit code when the result itself reports a failure (default 0). */
  readonly exitCode?: number;
  /** The command wrote its output itself (ctx.write): nothing more is printed, unless --json. */
  readonly streamed?: boolean;
}

export interface Command {
  /** e.g. "scim enable" */
  readonly name: string;
  readonly usage: string;
  readonly options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>;
  run(ctx: CliContext, opts: Record<string, string | boolean | string[] | undefined>): Promise<CommandResult>;
}

export class UsageError extends Error {}

export function required(opts: Record<string, unknown>, name: string): string {
  const v = opts[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} is required`);
  return v;
}

export function optionalDate(opts: Record<string, unknown>, name: string): Date | null {
  const v = opts[name];
  if (v === undefined) return null;
  const d = new Date(String(v));
  if (Number.isNaN(d.getTime())) throw new UsageError(`--${name} must be an ISO 8601 date, got "${String(v)}"`);
  return d;
}

export function table(rows: Record<string, unknown>[], columns: string[]): string {
  if (rows.length === 0) return '(none)';
  const cells = rows.map((r) => columns.map((c) => formatCell(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(columns), ...cells.map(line)].join('\n');
}

function formatCell(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** A duration like `24h`, `30m`, `7d`, `90s` or `0`, in seconds. */
export function parseDuration(value: string, name: string): number {
  const m = /^(\d{1,6})([smhd]?)$/.exec(value.trim());
  if (!m) throw new UsageError(`--${name} must be a duration such as 24h, 30m, 7d or 0, got "${value}"`);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}

/** A comma-separated list option (also given several times). */
export function listOption(v: unknown): string[] {
  const values = Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
  return values.flatMap((x: string) => x.split(',')).map((x) => x.trim()).filter((x) => x !== '');
}
