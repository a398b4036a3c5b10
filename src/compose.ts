// The domain as the configuration says: one builder for the server, the CLI
// and the tests, so every process applies the same policies (session
// timeouts, the failed-authentication limit) and the same outbound ports.
import type { Config } from './config.js';
import type { Db } from './domain/db.js';
import { createDomain, type Domain, type DomainPolicies, type DomainPorts } from './domain/index.js';
import { DEFAULT_WEBHOOK_POLICY } from './domain/webhooks/webhook.service.js';
import { createEntraGraphClient } from './integrations/entra-graph/graph-client.js';
import { VERSION } from './version.js';

/** The policies of `config`: SESSION_IDLE_MINUTES, SESSION_ABSOLUTE_HOURS, AUTH_FAILURE_LIMIT. */
export function policiesFromConfig(config: Config): DomainPolicies {
  return {
    sessions: { idleMinutes: config.saml.sessionIdleMinutes, absoluteHours: config.saml.sessionAbsoluteHours },
    authFailures: { maxFailures: config.authFailureLimit, windowSeconds: 60 },
  };
}

/** The ports of `config` (Microsoft Graph, webhook policy, PUBLIC_URL); `overrides` replace some (tests: a Graph stand-in). */
export function portsFromConfig(config: Config, overrides: DomainPorts = {}): DomainPorts {
  return {
    entraDirectory: createEntraGraphClient(config.import),
    // A delivery is held by its sender for twice the request deadline, plus a margin.
    webhookPolicy: { ...DEFAULT_WEBHOOK_POLICY, claimSeconds: 2 * config.events.webhookTimeoutSeconds + 10 },
    userAgent: `Gatehouse-Webhooks/${VERSION}`,
    publicUrl: config.http.publicUrl,
    ...overrides,
  };
}

/** The domain on `db`, built from the configuration. */
export function createDomainFromConfig(db: Db, masterSecret: string, config: Config, overrides: DomainPorts = {}): Domain {
  return createDomain(db, masterSecret, policiesFromConfig(config), portsFromConfig(config, overrides));
}
