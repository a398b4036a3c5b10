import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

const SECRET = 'x'.repeat(32);

function errorOf(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('defaults: port 3000, PGlite under ./data, PUBLIC_URL from the port; frozen', () => {
    const c = loadConfig({});
    expect(c.http.port).toBe(3000);
    expect(c.http.publicUrl).toBe('http://localhost:3000');
    expect(c.http.secureCookies).toBe(false);
    expect(c.database.url).toBeUndefined();
    expect(c.dataDir).toBe(`${process.cwd()}/data`);
    expect(c.logLevel).toBe('info');
    expect(c.secret).toBeUndefined();
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.http)).toBe(true);
    expect(loadConfig({ PORT: '8080' }).http.publicUrl).toBe('http://localhost:8080');
  });

  it('reads every variable', () => {
    const c = loadConfig({
      PORT: '0',
      PUBLIC_URL: 'https://gate.example.com/',
      DATABASE_URL: 'postgresql://u:p@db:5432/gh',
      DATA_DIR: '/tmp/gh',
      LOG_LEVEL: 'silent',
      GATEHOUSE_SECRET: SECRET,
      DATABASE_POOL_SIZE: '4',
    });
    expect(c).toMatchObject({
      http: { port: 0, publicUrl: 'https://gate.example.com', secureCookies: true },
      database: { url: 'postgresql://u:p@db:5432/gh', poolSize: 4 },
      dataDir: '/tmp/gh',
      logLevel: 'silent',
      secret: SECRET,
    });
  });

  it.each([
    ['PORT', { PORT: 'abc' }],
    ['PORT', { PORT: '70000' }],
    ['PORT', { PORT: '-1' }],
    ['PORT', { PORT: '80.5' }],
    ['PUBLIC_URL', { PUBLIC_URL: 'not a url' }],
    ['PUBLIC_URL', { PUBLIC_URL: 'ftp://example.com' }],
    ['PUBLIC_URL', { PUBLIC_URL: 'https://example.com/?x=1' }],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://localhost/db' }],
    ['DATABASE_URL', { DATABASE_URL: 'localhost:5432' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'verbose' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'INFO' }],
    ['GATEHOUSE_SECRET', { GATEHOUSE_SECRET: 'short' }],
    ['DATABASE_POOL_SIZE', { DATABASE_POOL_SIZE: '0' }],
    ['BODY_LIMIT_BYTES', { BODY_LIMIT_BYTES: 'lots' }],
  ])('a bad %s is a ConfigError naming it (%o)', (variable, env) => {
    const e = errorOf(env as Record<string, string>);
    expect(e.variable).toBe(variable);
    expect(e.message.startsWith(`${variable}: `)).toBe(true);
    expect(e.message).not.toContain('\n');
  });

  it('read replicas: a comma-separated list with a lag bound; a bad URL, or replicas without DATABASE_URL, named', () => {
    const c = loadConfig({ DATABASE_URL: 'postgres://p/db', DATABASE_REPLICA_URLS: 'postgres://r1/db, postgresql://r2/db', DATABASE_REPLICA_MAX_LAG_SECONDS: '2' });
    expect(c.database.replicaUrls).toEqual(['postgres://r1/db', 'postgresql://r2/db']);
    expect(c.database.replicaMaxLagSeconds).toBe(2);
    expect(loadConfig({ DATABASE_URL: 'postgres://p/db' }).database).toMatchObject({ replicaUrls: [], replicaMaxLagSeconds: 5 });
    expect(() => loadConfig({ DATABASE_URL: 'postgres://p/db', DATABASE_REPLICA_URLS: 'mysql://r1/db' })).toThrow(/DATABASE_REPLICA_URLS/);
    expect(() => loadConfig({ DATABASE_REPLICA_URLS: 'postgres://r1/db' })).toThrow(/DATABASE_REPLICA_URLS: needs DATABASE_URL/);
    expect(() => loadConfig({ DATABASE_URL: 'postgres://p/db', DATABASE_REPLICA_MAX_LAG_SECONDS: '0' })).toThrow(/DATABASE_REPLICA_MAX_LAG_SECONDS/);
  });

  it('empty values count as unset', () => {
    const c = loadConfig({ PORT: '', DATABASE_URL: '', GATEHOUSE_SECRET: '', PUBLIC_URL: '' });
    expect(c.http.port).toBe(3000);
    expect(c.database.url).toBeUndefined();
    expect(c.secret).toBeUndefined();
  });

  it('webhooks and mail: defaults, values, and one clear line for a bad value', () => {
    const d = loadConfig({ PUBLIC_URL: 'https://gate.example.com' });
    expect(d.events).toEqual({ deliveryWorker: true, webhookTimeoutSeconds: 10, webhookAllowPrivateNetworks: false });
    expect(loadConfig({ NODE_ENV: 'test' }).events.deliveryWorker).toBe(false);
    expect(d.mail).toEqual({ smtpUrl: undefined, from: 'Gatehouse <gatehouse@gate.example.com>' });
    const c = loadConfig({
      DELIVERY_WORKER: 'off',
      WEBHOOK_TIMEOUT_SECONDS: '3',
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'on',
      SMTP_URL: 'smtp://u:p@smtp.example.com:587',
      MAIL_FROM: 'Doors <doors@example.com>',
    });
    expect(c.events).toEqual({ deliveryWorker: false, webhookTimeoutSeconds: 3, webhookAllowPrivateNetworks: true });
    expect(c.mail).toEqual({ smtpUrl: 'smtp://u:p@smtp.example.com:587', from: 'Doors <doors@example.com>' });
    expect(loadConfig({ SMTP_URL: 'smtps://smtp.example.com' }).mail.smtpUrl).toBe('smtps://smtp.example.com');
    expect(errorOf({ SMTP_URL: 'http://smtp.example.com' }).variable).toBe('SMTP_URL');
    expect(errorOf({ SMTP_URL: 'not a url' }).variable).toBe('SMTP_URL');
    expect(errorOf({ MAIL_FROM: 'not an address' }).variable).toBe('MAIL_FROM');
    expect(errorOf({ MAIL_FROM: 'a@b.c\r\nBcc: x@y.z' }).variable).toBe('MAIL_FROM');
    expect(errorOf({ WEBHOOK_TIMEOUT_SECONDS: '0' }).variable).toBe('WEBHOOK_TIMEOUT_SECONDS');
    expect(errorOf({ WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'maybe' }).variable).toBe('WEBHOOK_ALLOW_PRIVATE_NETWORKS');
    expect(errorOf({ DELIVERY_WORKER: 'sometimes' }).variable).toBe('DELIVERY_WORKER');
  });

  it('OpenTelemetry: off unless an OTLP endpoint is set, off again with OTEL_SDK_DISABLED, a bad endpoint named', () => {
    expect(loadConfig({}).telemetry).toEqual({ tracing: false });
    expect(loadConfig({ OTEL_SERVICE_NAME: 'x', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }).telemetry.tracing).toBe(false);
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:4318' }).telemetry.tracing).toBe(true);
    expect(loadConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://otel.example.com/v1/traces' }).telemetry.tracing).toBe(true);
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:4318', OTEL_SDK_DISABLED: 'TRUE' }).telemetry.tracing).toBe(false);
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: '' }).telemetry.tracing).toBe(false);
    expect(errorOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'localhost:4318' }).variable).toBe('OTEL_EXPORTER_OTLP_ENDPOINT');
  });
});
