// Reads the environment once, validates it and returns a frozen Config.
// Nothing else in the code base reads process.env.
import path from 'node:path';

export type PoolMode = 'direct' | 'session' | 'transaction';
const POOL_MODES: readonly PoolMode[] = ['direct', 'session', 'transaction'];

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  readonly env: 'production' | 'development' | 'test';
  readonly http: {
    readonly port: number;
    /** Base of every URL the server hands out, without a trailing slash. */
    readonly publicUrl: string;
    /** True when PUBLIC_URL is https: cookies get the Secure flag. */
    readonly secureCookies: boolean;
    /** Largest request body accepted, in bytes. */
    readonly bodyLimitBytes: number;
  };
  readonly database: {
    /** Absent: embedded PGlite persisted under dataDir. */
    readonly url: string | undefined;
    readonly poolSize: number;
    /**
     * What DATABASE_URL reaches: the server itself (direct), or a pooler such
     * as PgBouncer in session or transaction mode (DATABASE_POOL_MODE).
     */
    readonly poolMode: PoolMode;
    /** A direct connection for LISTEN (DATABASE_LISTEN_URL); absent: DATABASE_URL. */
    readonly listenUrl: string | undefined;
    /** Read replicas (DATABASE_REPLICA_URLS, comma-separated); empty: every read goes to the primary. */
    readonly replicaUrls: readonly string[];
    /** A replica further behind the primary than this is skipped until it catches up (DATABASE_REPLICA_MAX_LAG_SECONDS). */
    readonly replicaMaxLagSeconds: number;
  };
  readonly dataDir: string;
  readonly logLevel: LogLevel;
  /** Whether error bodies may carry stack traces (ERROR_STACK_TRACES=on; default off whatever NODE_ENV says: details go to the log). */
  readonly errorStackTraces: boolean;
  /** Failed authentications allowed per client (and per organisation) per minute. */
  readonly authFailureLimit: number;
  /** Master key material; absent: generated once into dataDir (see secrets). */
  readonly secret: string | undefined;
  readonly saml: {
    /** Allowed clock difference when checking NotBefore/NotOnOrAfter. */
    readonly clockSkewSeconds: number;
    readonly sessionIdleMinutes: number;
    readonly sessionAbsoluteHours: number;
  };
  readonly events: {
    /** Whether this process runs the delivery worker (webhooks and mail) (DELIVERY_WORKER=on|off). */
    readonly deliveryWorker: boolean;
    /** Deadline of one webhook request (connect, answer, body). */
    readonly webhookTimeoutSeconds: number;
    /** Whether webhook URLs may reach private, loopback and link-local addresses (SSRF guard off). */
    readonly webhookAllowPrivateNetworks: boolean;
  };
  readonly mail: {
    /** smtp:// (STARTTLS) or smtps:// URL of the SMTP server; absent: mail stays in the outbox, "not sent: no SMTP configured". */
    readonly smtpUrl: string | undefined;
    /** From header of notification mail. */
    readonly from: string;
  };
  readonly telemetry: {
    /**
     * Whether OpenTelemetry tracing is on: OTEL_EXPORTER_OTLP_ENDPOINT (or
     * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) set and OTEL_SDK_DISABLED not true.
     * Off, nothing of OpenTelemetry is loaded. The SDK reads the other
     * standard OTEL_* variables itself (service name, protocol, sampler, …).
     */
    readonly tracing: boolean;
  };
  readonly access: {
    /** How often validity windows that passed produce their changes (ACCESS_WINDOWS_INTERVAL_SECONDS). */
    readonly windowsIntervalSeconds: number;
    /** Days the access feeds keep their entries; an older cursor gets cursor_expired (ACCESS_FEED_RETENTION_DAYS). */
    readonly retentionDays: number;
  };
  readonly audit: {
    /** Days the audit trail (the provisioning log, sign-ins, every change) keeps its events (AUDIT_RETENTION_DAYS). */
    readonly retentionDays: number;
  };
  /** Whether this process runs the background-job scheduler (purges, statistics, metadata refresh) (SCHEDULER=on|off). */
  readonly scheduler: boolean;
  readonly import: {
    /** Whether this process runs scheduled imports (IMPORT_SCHEDULER=on|off). */
    readonly scheduler: boolean;
    readonly intervalMinutes: number;
    readonly graphBaseUrl: string;
    readonly loginBaseUrl: string;
    /** Gatehouse's own multi-tenant Entra application, for "Authorize with Microsoft" (ENTRA_APP_CLIENT_ID / ENTRA_APP_CLIENT_SECRET); null: not offered. */
    readonly app: { readonly clientId: string; readonly clientSecret: string } | null;
  };
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

function httpUrl(env: Env, name: string, fallback: string): string {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, `must be an absolute http(s) URL, got "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(name, `must be an http(s) URL, got "${raw}"`);
  }
  if (url.search || url.hash) throw new ConfigError(name, 'must not carry a query or fragment');
  return url.toString().replace(/\/+$/, '');
}

/** ENTRA_APP_CLIENT_ID and ENTRA_APP_CLIENT_SECRET: both or neither. */
function entraApp(env: Env): { clientId: string; clientSecret: string } | null {
  const clientId = env.ENTRA_APP_CLIENT_ID?.trim() ?? '';
  const clientSecret = env.ENTRA_APP_CLIENT_SECRET ?? '';
  if (!clientId && !clientSecret) return null;
  if (!clientId) throw new ConfigError('ENTRA_APP_CLIENT_ID', 'is required with ENTRA_APP_CLIENT_SECRET');
  if (!clientSecret) throw new ConfigError('ENTRA_APP_CLIENT_SECRET', 'is required with ENTRA_APP_CLIENT_ID');
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(clientId)) {
    throw new ConfigError('ENTRA_APP_CLIENT_ID', `must be the application (client) id, a GUID, got "${clientId}"`);
  }
  return { clientId: clientId.toLowerCase(), clientSecret };
}

function onOff(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (/^(on|true|1)$/i.test(raw)) return true;
  if (/^(off|false|0)$/i.test(raw)) return false;
  throw new ConfigError(name, `must be on or off, got "${raw}"`);
}

function mailConfig(env: Env, publicUrl: string): Config['mail'] {
  const raw = env.SMTP_URL === '' ? undefined : env.SMTP_URL;
  if (raw !== undefined) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new ConfigError('SMTP_URL', 'must be a URL such as smtp://user:password@smtp.example.com:587');
    }
    if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') throw new ConfigError('SMTP_URL', `must start with smtp:// or smtps://, got "${url.protocol}//"`);
    if (!url.hostname) throw new ConfigError('SMTP_URL', 'must name the SMTP server');
  }
  const from = env.MAIL_FROM === undefined || env.MAIL_FROM === '' ? `Gatehouse <gatehouse@${new URL(publicUrl).hostname}>` : env.MAIL_FROM;
  // An address, or Name <address>; one line.
  if (!/^([^<>\r\n]*<[^<>@\s]+@[^<>@\s]+>|[^<>@\s]+@[^<>@\s]+)$/.test(from.trim())) {
    throw new ConfigError('MAIL_FROM', `must be an address or "Name <address>", got "${from}"`);
  }
  return { smtpUrl: raw, from: from.trim() };
}

function tracingOn(env: Env): boolean {
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!endpoint) return false;
  for (const name of ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_ENDPOINT']) {
    const raw = env[name];
    if (raw && !/^https?:\/\/[^\s]+$/.test(raw)) throw new ConfigError(name, `must be an http(s) URL such as http://localhost:4318, got "${raw}"`);
  }
  // The SDK's own switch, read the same way (true/false, any case).
  return env.OTEL_SDK_DISABLED?.trim().toLowerCase() !== 'true';
}

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function loadConfig(env: Env = process.env): Config {
  const nodeEnv = env.NODE_ENV === 'production' || env.NODE_ENV === 'test' ? env.NODE_ENV : 'development';
  const port = int(env, 'PORT', 3000, 0, 65535);
  const publicUrl = httpUrl(env, 'PUBLIC_URL', `http://localhost:${port}`);

  const dbUrl = env.DATABASE_URL === '' ? undefined : env.DATABASE_URL;
  if (dbUrl !== undefined && !/^postgres(ql)?:\/\//.test(dbUrl)) {
    throw new ConfigError('DATABASE_URL', 'must start with postgres:// or postgresql://');
  }

  const listenUrl = env.DATABASE_LISTEN_URL === '' ? undefined : env.DATABASE_LISTEN_URL;
  if (listenUrl !== undefined && !/^postgres(ql)?:\/\//.test(listenUrl)) {
    throw new ConfigError('DATABASE_LISTEN_URL', 'must start with postgres:// or postgresql://');
  }
  const replicaUrls = (env.DATABASE_REPLICA_URLS ?? '')
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '');
  for (const u of replicaUrls) {
    if (!/^postgres(ql)?:\/\//.test(u)) throw new ConfigError('DATABASE_REPLICA_URLS', 'must be comma-separated URLs starting with postgres:// or postgresql://');
  }
  if (replicaUrls.length > 0 && dbUrl === undefined) throw new ConfigError('DATABASE_REPLICA_URLS', 'needs DATABASE_URL (the embedded database has no replicas)');
  const poolMode = (env.DATABASE_POOL_MODE || 'direct') as PoolMode;
  if (!POOL_MODES.includes(poolMode)) {
    throw new ConfigError('DATABASE_POOL_MODE', `must be one of ${POOL_MODES.join(', ')}, got "${env.DATABASE_POOL_MODE}"`);
  }

  const logLevel = (env.LOG_LEVEL ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}, got "${env.LOG_LEVEL}"`);
  }

  const secret = env.GATEHOUSE_SECRET === '' ? undefined : env.GATEHOUSE_SECRET;
  if (secret !== undefined && secret.length < 32) {
    throw new ConfigError('GATEHOUSE_SECRET', 'must be at least 32 characters (e.g. `openssl rand -base64 32`)');
  }

  const config: Config = {
    env: nodeEnv,
    http: {
      port,
      publicUrl,
      secureCookies: publicUrl.startsWith('https:'),
      bodyLimitBytes: int(env, 'BODY_LIMIT_BYTES', 1024 * 1024, 1024, 64 * 1024 * 1024),
    },
    database: { url: dbUrl, poolSize: int(env, 'DATABASE_POOL_SIZE', 10, 1, 200), poolMode, listenUrl, replicaUrls, replicaMaxLagSeconds: int(env, 'DATABASE_REPLICA_MAX_LAG_SECONDS', 5, 1, 3600) },
    dataDir: path.resolve(env.DATA_DIR || './data'),
    logLevel,
    errorStackTraces: onOff(env, 'ERROR_STACK_TRACES', false),
    authFailureLimit: int(env, 'AUTH_FAILURE_LIMIT', 20, 1, 100_000),
    secret,
    saml: {
      clockSkewSeconds: int(env, 'SAML_CLOCK_SKEW_SECONDS', 60, 0, 600),
      sessionIdleMinutes: int(env, 'SESSION_IDLE_MINUTES', 60, 1, 7 * 24 * 60),
      sessionAbsoluteHours: int(env, 'SESSION_ABSOLUTE_HOURS', 12, 1, 24 * 30),
    },
    events: {
      deliveryWorker: onOff(env, 'DELIVERY_WORKER', nodeEnv !== 'test'),
      webhookTimeoutSeconds: int(env, 'WEBHOOK_TIMEOUT_SECONDS', 10, 1, 60),
      webhookAllowPrivateNetworks: onOff(env, 'WEBHOOK_ALLOW_PRIVATE_NETWORKS', false),
    },
    mail: mailConfig(env, publicUrl),
    telemetry: { tracing: tracingOn(env) },
    access: {
      windowsIntervalSeconds: int(env, 'ACCESS_WINDOWS_INTERVAL_SECONDS', 15, 1, 3600),
      retentionDays: int(env, 'ACCESS_FEED_RETENTION_DAYS', 30, 1, 3650),
    },
    audit: { retentionDays: int(env, 'AUDIT_RETENTION_DAYS', 400, 1, 36500) },
    scheduler: onOff(env, 'SCHEDULER', nodeEnv !== 'test'),
    import: {
      scheduler: onOff(env, 'IMPORT_SCHEDULER', nodeEnv !== 'test'),
      intervalMinutes: int(env, 'IMPORT_INTERVAL_MINUTES', 15, 1, 24 * 60),
      graphBaseUrl: httpUrl(env, 'GRAPH_BASE_URL', 'https://graph.microsoft.com'),
      loginBaseUrl: httpUrl(env, 'ENTRA_LOGIN_BASE_URL', 'https://login.microsoftonline.com'),
      app: entraApp(env),
    },
  };
  return deepFreeze(config);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
